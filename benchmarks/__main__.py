"""Run the benchmarks and print one table.

Each ``benchmarks/bench_<name>.py`` exposes ``run(quick: bool) -> list[Result]``. Targets are printed
beside the measured values; nothing here fails a build (timings belong in benchmarks, not in tests).

    python -m benchmarks                 # everything
    python -m benchmarks ingest store    # only bench_ingest.py and bench_store.py
    python -m benchmarks --quick         # smaller sizes, for a smoke run
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.result import Result, format_table


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(here)])
                  if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(available())}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
    results: list[Result] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        print(f"# running {name} …", file=sys.stderr, flush=True)
        try:
            results.extend(module.run(quick=args.quick))
        except Exception:
            traceback.print_exc()
            results.append(Result(name, "error", float("nan"), "", note="raised; see stderr"))
        print(f"# {name} took {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
