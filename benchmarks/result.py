"""One measured number, and the table they are printed in."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Result:
    benchmark: str
    metric: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def format_table(results: list[Result]) -> str:
    header = ("benchmark", "metric", "value", "unit", "target", "met", "note")
    rows = [header] + [
        (r.benchmark, r.metric, _fmt(r.value), r.unit, r.target,
         "" if r.met is None else ("yes" if r.met else "NO"), r.note)
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
