"""Imports point one way: domain <- pipeline <- adapters, store <- engine <- front doors.

Each front door has its own allow-list: the engine, the domain, the response views, errors, settings
and the export formats, plus the other front doors it is built on. None may reach the store, an
adapter or the pipeline; the small HTTP client must not pull in DuckDB; and no layer has an import
cycle inside it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import heard_local

PACKAGE = Path(heard_local.__file__).parent

# What each lower layer may import from heard_local (besides itself). Lazy imports inside functions count.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "domain": {"errors"},
    "pipeline": {"domain", "errors"},
    "store": {"domain", "errors"},
    "adapters": {"pipeline", "domain", "errors", "config"},
    "config": set(),
    "data_dir_lock": {"errors"},
    "exports": {"domain", "errors", "store", "pipeline"},
    "engine": {"adapters", "pipeline", "store", "domain", "errors", "config", "exports", "views", "data_dir_lock"},
    "views": {"domain", "errors"},
    "runtime": {"data_dir_lock"},
}
# What a front door may import: the engine's surface, and what each door is built on.
FRONT_DOOR_SURFACE = {"engine", "domain", "views", "errors", "config", "exports", "__version__"}
FRONT_DOORS: dict[str, set[str]] = {
    "api": FRONT_DOOR_SURFACE,
    "ui": FRONT_DOOR_SURFACE | {"runtime"},
    "watcher": FRONT_DOOR_SURFACE,
    "local_client": FRONT_DOOR_SURFACE,
    "client": {"domain", "errors", "views", "runtime", "__version__"},  # no engine: it talks HTTP
    "notebook": FRONT_DOOR_SURFACE | {"client", "local_client", "runtime"},
    "server": FRONT_DOOR_SURFACE | {"api", "ui", "watcher", "runtime"},
    "cli": FRONT_DOOR_SURFACE | {"client", "local_client", "notebook", "runtime", "server"},
    "__main__": {"cli"},
}
BELOW_THE_ENGINE = {"store", "adapters", "pipeline"}
HEAVY = ("torch", "ctranslate2", "faster_whisper", "pyannote", "gradio", "fastapi", "ollama", "duckdb", "av")


def _layer(module_path: Path) -> str:
    relative = module_path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(tree: ast.AST, *, module: str = "", top_level_only: bool = False) -> set[str]:
    """The heard_local modules ``tree`` imports (``from heard_local.x import y`` names ``heard_local.x.y``
    when that is a module, else ``heard_local.x``)."""
    nodes: list[ast.AST] = []
    if top_level_only:
        pending = list(getattr(tree, "body", []))
        while pending:
            node = pending.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue  # never executed
            if isinstance(node, (ast.If, ast.Try)):
                pending += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                            *[stmt for handler in getattr(node, "handlers", []) for stmt in handler.body]]
            nodes.append(node)
    else:
        nodes = list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                names.add(candidate if _exists(candidate) else base)
    return {name for name in names if name == "heard_local" or name.startswith("heard_local.")}


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {name.split(".")[1] for name in _imported_modules(tree, module=_module_name(path)) if "." in name}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if not (p.parent == PACKAGE and p.name == "__init__.py"))


def test_imports_point_one_way() -> None:
    violations = []
    for path in _modules():
        layer = _layer(path)
        imported = _imported_layers(path) - {layer}
        allowed = FRONT_DOORS.get(layer, ALLOWED.get(layer))
        assert allowed is not None, f"{path}: unknown layer {layer!r}; add it to ALLOWED or FRONT_DOORS"
        for other in sorted(imported - allowed):
            violations.append(f"{path.relative_to(PACKAGE.parent)} ({layer}) imports heard_local.{other}")
    assert not violations, "\n".join(violations)


def test_no_front_door_reaches_below_the_engine() -> None:
    """The rule the allow-lists exist for, said on its own (so widening a list cannot quietly undo it)."""
    for door, allowed in FRONT_DOORS.items():
        assert not allowed & BELOW_THE_ENGINE, door


def test_no_lower_layer_imports_a_front_door() -> None:
    for path in _modules():
        if _layer(path) in FRONT_DOORS:
            continue
        assert not (_imported_layers(path) & set(FRONT_DOORS)), path


def test_no_import_cycle_inside_a_layer() -> None:
    """Module-level imports only (a lazy import inside a function runs after both modules loaded)."""
    graph: dict[str, set[str]] = {}
    for path in _modules():
        name = _module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        layer = name.split(".")[1]
        graph[name] = {other for other in _imported_modules(tree, module=name, top_level_only=True)
                       if other != name and other.split(".")[1:2] == [layer]}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def _loaded_by(imports: str, candidates: tuple[str, ...]) -> list[str]:
    code = (
        "import sys\n"
        f"import {imports}\n"
        f"print(','.join(sorted(m for m in {candidates!r} if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in result.stdout.strip().split(",") if name]


def test_domain_and_pipeline_import_nothing_heavy() -> None:
    modules = sorted(
        "heard_local." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for sub in ("domain", "pipeline") for p in (PACKAGE / sub).glob("*.py") if p.name != "__init__.py"
    )
    assert _loaded_by(", ".join(["heard_local.domain", *modules]), HEAVY) == []


def test_the_http_client_does_not_pull_in_the_database() -> None:
    """``pip install heard-local`` users script a server with heard_local.client; it must stay light."""
    assert _loaded_by("heard_local.client", ("duckdb", "heard_local.store", "heard_local.engine")) == []
