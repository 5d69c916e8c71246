"""Write constraints.txt: the exact versions of heard-local's dependency closure (core and every extra)
as installed in the running environment, i.e. the set the test suite ran on.

pyproject.toml holds ranges; this file pins what make, CI and scripts/install.sh install, so a new
release of anything cannot change a tested environment. Regenerate after upgrading something on purpose:

    .venv/bin/python scripts/freeze_constraints.py        # rewrites constraints.txt
    .venv/bin/python scripts/freeze_constraints.py --check   # exit 1 when constraints.txt is stale
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# The exact set heard-local is tested with (make, CI): scripts/freeze_constraints.py writes it from the
# test environment. pyproject.toml keeps ranges; this file keeps every install reproducible.
# Keep the CPU build of torch that scripts/install.sh installs first; pyannote.audio would otherwise pull
# a CUDA-linked torch and torchcodec. torchcodec 0.13 is a CPU build.
torch==2.13.0
torchcodec==0.13.0
"""
# Pinned in the header with their comments.
HEADER_PINS = {"torch", "torchcodec"}


def project_requirements(extras: list[str]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def closure(roots: list[Requirement]) -> dict[str, str]:
    """Every installed distribution reachable from ``roots`` (markers evaluated here), name -> version."""
    found: dict[str, str] = {}
    pending: list[tuple[Requirement, frozenset[str]]] = [(r, frozenset()) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, parent_extras = pending.pop()
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in (parent_extras or {""})
        ):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{requirement.name} is required but not installed here; install the dev environment first")
        found[name] = dist.version
        for line in dist.requires or []:
            pending.append((Requirement(line), frozenset(requirement.extras)))
    return found


def render(pins: dict[str, str]) -> str:
    lines = [f"{name}=={version}" for name, version in sorted(pins.items()) if name not in HEADER_PINS]
    return HEADER + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with constraints.txt")
    args = parser.parse_args()
    extras = list(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    text = render(closure(project_requirements(extras)))
    target = ROOT / "constraints.txt"
    if args.check:
        stale = target.read_text() != text
        if stale:
            print("constraints.txt differs from this environment; run scripts/freeze_constraints.py", file=sys.stderr)
        return int(stale)
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
