"""Turning an analytics report (``engine.analytics.report``) into plot data and HTML. Pure functions.

The report's deterministic part (computed in DuckDB; shape documented in heard_local/engine/analytics.py)
sits under ``deterministic``; the LLM's narrative (executive summary, key themes, insights) under
``narrative``, which may be missing when Ollama is not available.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from heard_local.ui.format import alert, duration_text, esc, table, value_text


def numbers_of(report: dict[str, Any]) -> dict[str, Any]:
    numbers = report.get("deterministic")
    return numbers if isinstance(numbers, dict) else report


def narrative_of(report: dict[str, Any]) -> dict[str, Any] | None:
    narrative = report.get("narrative")
    return narrative if isinstance(narrative, dict) else None


def per_day_frame(numbers: dict[str, Any]) -> pd.DataFrame:
    rows = [{"date": str(day.get("date")), "conversations": int(day.get("count") or 0)}
            for day in numbers.get("per_day") or []]
    return pd.DataFrame(rows, columns=["date", "conversations"])


def histogram_frame(numbers: dict[str, Any]) -> pd.DataFrame:
    buckets = (numbers.get("duration_seconds") or {}).get("histogram") or []
    rows = [{"duration": str(b.get("label")), "conversations": int(b.get("count") or 0)} for b in buckets]
    return pd.DataFrame(rows, columns=["duration", "conversations"])


def histogram_order(numbers: dict[str, Any]) -> list[str]:
    return [str(b.get("label")) for b in (numbers.get("duration_seconds") or {}).get("histogram") or []]


def languages_frame(numbers: dict[str, Any]) -> pd.DataFrame:
    rows = [{"language": str(item.get("name") or item.get("language") or "Unknown"),
             "conversations": int(item.get("count") or 0)} for item in numbers.get("languages") or []]
    return pd.DataFrame(rows, columns=["language", "conversations"])


def talk_time_frame(numbers: dict[str, Any]) -> pd.DataFrame:
    rows = [{"speaker": str(item.get("role") or "Unlabelled"),
             "minutes": round(float(item.get("seconds") or 0) / 60, 2)}
            for item in numbers.get("talk_time") or []]
    return pd.DataFrame(rows, columns=["speaker", "minutes"])


def field_names(numbers: dict[str, Any]) -> list[str]:
    return [str(f.get("name")) for f in numbers.get("fields") or []]


def field_frame(numbers: dict[str, Any], name: str | None) -> pd.DataFrame:
    for field in numbers.get("fields") or []:
        if field.get("name") == name:
            rows = [{"value": value_text(v.get("value")), "conversations": int(v.get("count") or 0)}
                    for v in field.get("values") or []]
            if field.get("other_values"):
                rows.append({"value": f"{field['other_values']} other values", "conversations": 0})
            return pd.DataFrame(rows, columns=["value", "conversations"])
    return pd.DataFrame([], columns=["value", "conversations"])


def field_order(numbers: dict[str, Any], name: str | None) -> list[str]:
    return list(field_frame(numbers, name)["value"])


def empty_plot_note(title: str) -> str:
    """Shown in place of a plot with nothing to draw (an empty chart would show a meaningless 0 axis)."""
    return (f'<div class="hl-card hl-plot-empty"><div class="hl-plot-empty-title">{esc(title)}</div>'
            '<p class="hl-muted">No data yet</p></div>')


def _kpi(label: str, value: str, sub: str = "") -> str:
    sub_html = f'<div class="hl-kpi-sub">{esc(sub)}</div>' if sub else ""
    return (f'<div class="hl-kpi"><div class="hl-kpi-label">{esc(label)}</div>'
            f'<div class="hl-kpi-value">{esc(value)}</div>{sub_html}</div>')


def render_kpis(numbers: dict[str, Any]) -> str:
    conversations = numbers.get("conversations") or {}
    duration = numbers.get("duration_seconds") or {}
    speakers = numbers.get("speakers") or {}
    llm = conversations.get("llm_status") or {}
    by_status = conversations.get("by_status") or {}
    waiting = int(by_status.get("PENDING") or 0) + int(by_status.get("IN_PROGRESS") or 0)
    failed = int(by_status.get("FAILED") or 0)
    status_bits = [f"{waiting} processing" if waiting else "", f"{failed} failed" if failed else ""]
    average_speakers = speakers.get("average")
    cards = [
        _kpi("Conversations", str(conversations.get("total", 0)), " · ".join(b for b in status_bits if b)),
        _kpi("Total duration", duration_text(duration.get("total")) if duration.get("total") else "—",
             f"{duration.get('known', 0)} with audio" if duration.get("known") else ""),
        _kpi("Average duration", duration_text(duration.get("average")) if duration.get("average") else "—",
             f"median {duration_text(duration.get('median'))}" if duration.get("median") else ""),
        _kpi("Speakers per conversation", f"{average_speakers:.1f}" if isinstance(average_speakers, int | float)
             else "—", f"{speakers.get('min')}–{speakers.get('max')}" if speakers.get("max") else ""),
        _kpi("LLM results", f"{llm.get('completed', 0)} done",
             f"{llm.get('pending', 0)} waiting for Ollama" if llm.get("pending") else ""),
    ]
    return f'<div class="hl-kpis">{"".join(cards)}</div>'


def render_field_table(numbers: dict[str, Any]) -> str:
    fields = numbers.get("fields") or []
    if not fields:
        return ""
    rows = []
    for field in fields:
        top = ", ".join(f"{value_text(v.get('value'))} ({v.get('count')})" for v in (field.get("values") or [])[:3]
                        if v.get("count"))
        numeric = field.get("numeric") or {}
        if numeric:
            top = f"avg {numeric.get('average')} · min {numeric.get('min')} · max {numeric.get('max')}"
        rows.append(f"<tr><td>{esc(field.get('name'))}</td><td>{esc(field.get('type'))}</td>"
                    f'<td class="hl-num">{esc(field.get("valid", 0))}</td>'
                    f'<td class="hl-num">{esc(field.get("missing", 0))}</td>'
                    f'<td class="hl-num">{esc(field.get("pending", 0))}</td><td>{esc(top) or "—"}</td></tr>')
    return table(["Field", "Type", "Answered", "Not said", "Pending", "Most frequent"], rows, numeric={2, 3, 4})


NARRATIVE_PENDING = ('<div class="hl-card hl-narrative"><h3>Written analysis</h3><p class="hl-muted">'
                     "Your local LLM is writing the analysis…</p></div>")


def render_narrative(report: dict[str, Any]) -> str:
    narrative = narrative_of(report)
    status = (narrative or {}).get("status")
    if narrative is None or status == "not_requested":
        return NARRATIVE_PENDING
    if status != "completed":
        reason = narrative.get("reason") or "The local LLM could not write the analysis."
        if status == "no_data":
            return alert(str(reason), "info", title="No written analysis yet.")
        return alert(f"{reason} The numbers above are computed locally and complete.", "warning",
                     title="No written analysis.")
    parts = []
    summary = narrative.get("executive_summary")
    if summary:
        parts.append("<h3>Executive summary</h3>" + "".join(f"<p>{esc(p)}</p>" for p in str(summary).split("\n")
                                                           if p.strip()))
    themes = [t for t in narrative.get("key_themes") or [] if isinstance(t, str)]
    if themes:
        parts.append("<h3>Key themes</h3><div class=\"hl-chips\">"
                     + "".join(f'<span class="hl-chip">{esc(t)}</span>' for t in themes) + "</div>")
    insights = [i for i in narrative.get("insights") or [] if isinstance(i, dict)]
    if insights:
        items = "".join(f'<li><strong>{esc(i.get("finding"))}</strong>'
                        + (f'<div class="hl-row-sub">→ {esc(i.get("recommendation"))}</div>' if i.get("recommendation")
                           else "") + "</li>" for i in insights)
        parts.append(f"<h3>Actionable insights</h3><ul class=\"hl-insights\">{items}</ul>")
    based = narrative.get("based_on") or {}
    footer = (f'<div class="hl-row-sub">Written by {esc(narrative.get("model"))} from {based.get("conversations", 0)} '
              f'conversations and {based.get("summaries", 0)} summaries.</div>')
    return f'<div class="hl-card hl-narrative">{"".join(parts)}{footer}</div>'
