"""Small, pure formatting helpers shared by the tabs: escaping, durations, dates, badges.

Everything user-controlled (transcript text, names, metadata) reaches the page through :func:`esc`.
Gradio's HTML component treats its value as a template, so ``$``, ``{`` and ``}`` are escaped as well
as the usual ``<>&"'``: a transcript saying ``${...}`` or ``{{...}}`` stays text.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from heard_local.domain.languages import LANGUAGE_NAMES

_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})


def esc(value: Any) -> str:
    """HTML-escape anything for text or a quoted attribute."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True).translate(_TEMPLATE_CHARS)


def clock(seconds: float | None) -> str:
    """``75.4`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration_text(seconds: float | None) -> str:
    """A human duration: ``42 s``, ``3 min 5 s``, ``1 h 2 min``."""
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def date_text(value: Any) -> str:
    """``2024-05-01 14:03`` in the server's local time zone (the user's machine)."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def relative_time(value: Any, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, else the date."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60) or 1} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return date_text(moment)


def language_choices(first: tuple[str, str]) -> list[tuple[str, str]]:
    """Dropdown choices (name, code) sorted by name, after ``first`` (e.g. "Detect automatically")."""
    return [first, *sorted(((name, code) for code, name in LANGUAGE_NAMES.items()), key=lambda pair: pair[0])]


def language_text(code: str | None) -> str:
    if not code:
        return "—"
    return LANGUAGE_NAMES.get(code, code)


STATUS_LABELS = {
    "PENDING": ("Queued", "neutral"),
    "IN_PROGRESS": ("Processing", "info"),
    "COMPLETED": ("Completed", "success"),
    "FAILED": ("Failed", "danger"),
}

GROUP_LABELS = {
    "PENDING_REVIEW": "Pending review",
    "UNDER_REVIEW": "Under review",
    "ARCHIVED": "Archived",
}


def badge(text: str, tone: str = "neutral", *, title: str | None = None) -> str:
    attr = f' title="{esc(title)}"' if title else ""
    return f'<span class="hl-badge hl-{esc(tone)}"{attr}>{esc(text)}</span>'


def status_badge(status: str | None) -> str:
    label, tone = STATUS_LABELS.get(str(status or ""), (str(status or "—"), "neutral"))
    return badge(label, tone)


def group_badge(group: str | None) -> str:
    if not group:
        return '<span class="hl-muted">—</span>'
    return badge(GROUP_LABELS.get(group, group), "group")


def table(head: list[str], rows: list[str], *, elem_id: str = "", numeric: set[int] | None = None) -> str:
    """A styled table; ``head`` holds header HTML, ``rows`` whole ``<tr>`` elements, ``numeric`` the
    indexes of right-aligned columns. It scrolls sideways when too wide."""
    numeric = numeric or set()
    cells = "".join(f'<th class="hl-num">{h}</th>' if i in numeric else f"<th>{h}</th>" for i, h in enumerate(head))
    ident = f' id="{esc(elem_id)}"' if elem_id else ""
    return (f'<div class="hl-table-wrap"><table class="hl-table"{ident}><thead><tr>{cells}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def alert(message: str, tone: str = "info", *, title: str | None = None) -> str:
    """A message box; ``tone`` is info, success, warning or danger."""
    head = f"<strong>{esc(title)}</strong> " if title else ""
    return f'<div class="hl-alert hl-alert-{esc(tone)}" role="status">{head}{esc(message)}</div>'


def empty_state(title: str, hint: str = "") -> str:
    hint_html = f'<div class="hl-empty-hint">{esc(hint)}</div>' if hint else ""
    return f'<div class="hl-empty"><div class="hl-empty-title">{esc(title)}</div>{hint_html}</div>'


def value_text(value: Any) -> str:
    """An extracted value as a reader sees it: lists joined, booleans as Yes/No, nulls as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    return str(value)
