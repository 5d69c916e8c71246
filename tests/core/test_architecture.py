"""Imports point one way: domain <- pipeline <- adapters, store <- engine <- front doors."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import heard_local

PACKAGE = Path(heard_local.__file__).parent

# What each layer may import from heard_local (besides itself). Lazy imports inside functions count.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "domain": {"errors"},
    "pipeline": {"domain", "errors"},
    "store": {"domain", "errors"},
    "adapters": {"pipeline", "domain", "errors", "config"},
    "config": set(),
    "exports": {"domain", "errors", "store", "pipeline"},
    "engine": {"adapters", "pipeline", "store", "domain", "errors", "config", "exports"},
    "runtime": {"store"},
}
FRONT_DOORS = {"api", "ui", "watcher", "cli", "server", "client", "local_client", "notebook", "__main__"}
HEAVY = ("torch", "ctranslate2", "faster_whisper", "pyannote", "gradio", "fastapi", "ollama", "duckdb", "av")


def _layer(module_path: Path) -> str:
    relative = module_path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    layers = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "heard_local":
                names = [f"heard_local.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "heard_local" and len(parts) > 1:
                layers.add(parts[1])
    return layers


def test_imports_point_one_way() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = _layer(path)
        if layer in ("__init__", "__main__") and path.parent == PACKAGE:
            continue
        imported = _imported_layers(path) - {layer, "__version__"}
        if layer in FRONT_DOORS:
            continue  # front doors may use any lower layer (and the CLI starts the server)
        allowed = ALLOWED.get(layer)
        assert allowed is not None, f"{path}: unknown layer {layer!r}; add it to ALLOWED"
        for other in sorted(imported - allowed):
            violations.append(f"{path.relative_to(PACKAGE.parent)} ({layer}) imports heard_local.{other}")
    assert not violations, "\n".join(violations)


def test_no_lower_layer_imports_a_front_door() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if _layer(path) in FRONT_DOORS:
            continue
        assert not (_imported_layers(path) & FRONT_DOORS), path


def test_domain_and_pipeline_import_nothing_heavy() -> None:
    modules = sorted(
        "heard_local." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for sub in ("domain", "pipeline") for p in (PACKAGE / sub).glob("*.py") if p.name != "__init__.py"
    )
    code = (
        "import sys\n"
        f"import heard_local.domain, {', '.join(modules)}\n"
        f"loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"heavy modules imported: {result.stdout.strip()}"
