"""HTML for one transcription: header, audio player, speaker-coloured segments with highlighted
evidence, speakers, summary and extracted fields. Pure functions of domain objects (tested without a
browser); the JavaScript that makes segments seek the audio lives in :mod:`heard_local.ui.scripts`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from heard_local.domain import Customer, Segment, Transcription, TranscriptionStatus
from heard_local.ui.format import (
    alert,
    badge,
    clock,
    date_text,
    duration_text,
    esc,
    group_badge,
    language_text,
    status_badge,
    value_text,
)
from heard_local.ui.segment_tools import segment_tools, undo_bar

PALETTE_SIZE = 8
EXPORT_FORMATS = (("txt", "Text"), ("srt", "SRT"), ("vtt", "WebVTT"), ("json", "JSON"))


def speaker_order(transcription: Transcription) -> list[str]:
    """Speaker ids in order of first appearance (then any known only from ``details.speakers``)."""
    details = transcription.details
    if details is None:
        return []
    order = list(dict.fromkeys(s.speaker for s in details.conversation.segments))
    order += [s for s in details.speakers if s not in order]
    return order


def speaker_colors(transcription: Transcription) -> dict[str, int]:
    """Palette index per speaker: stable for a transcription, distinct for its first 8 speakers."""
    return {speaker: i % PALETTE_SIZE for i, speaker in enumerate(speaker_order(transcription))}


@dataclass(frozen=True)
class Highlight:
    start: int
    end: int
    field: str


def find_highlights(text: str, quotes: list[tuple[str, str]]) -> list[Highlight]:
    """Where each (quote, field) occurs in ``text`` (first occurrence, case-insensitive), without
    overlaps: an earlier, longer match wins."""
    lowered = text.lower()
    found: list[Highlight] = []
    for quote_text, field in quotes:
        needle = " ".join(quote_text.split()).lower()
        if not needle:
            continue
        position = lowered.find(needle)
        if position >= 0:
            found.append(Highlight(position, position + len(needle), field))
    found.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Highlight] = []
    for item in found:
        if kept and item.start < kept[-1].end:
            continue
        kept.append(item)
    return kept


def highlighted_text(text: str, quotes: list[tuple[str, str]]) -> str:
    """``text`` escaped, with each evidence quote wrapped in ``<mark>`` naming its field."""
    parts: list[str] = []
    cursor = 0
    for item in find_highlights(text, quotes):
        parts.append(esc(text[cursor:item.start]))
        parts.append(f'<mark class="hl-evidence" title="Evidence for {esc(item.field)}">'
                     f"{esc(text[item.start:item.end])}</mark>")
        cursor = item.end
    parts.append(esc(text[cursor:]))
    return "".join(parts)


def evidence_by_segment(transcription: Transcription) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    details = transcription.details
    if details is None or details.fields is None:
        return found
    for field in details.fields.fields:
        for evidence in field.evidence:
            found.setdefault(evidence.segment_index, []).append((evidence.quote, field.name))
    return found


def display_name(transcription: Transcription) -> str:
    fallback = f"Conversation {transcription.transcription_id[:8]}"
    return transcription.name or transcription.metadata.get("name") or fallback


# --- header ---------------------------------------------------------------------------------------------


def _fact(label: str, value: str) -> str:
    return f'<div class="hl-fact"><span class="hl-fact-label">{esc(label)}</span>' \
           f'<span class="hl-fact-value">{value}</span></div>'


def render_header(transcription: Transcription, customer: Customer | None = None) -> str:
    details = transcription.details
    meta = transcription.metadata
    facts = [
        _fact("Status", status_badge(transcription.status.value)),
        _fact("Configuration", esc(transcription.configuration_tag or transcription.configuration_id)),
        _fact("Review", group_badge(transcription.group.value if transcription.group else None)),
        _fact("Duration", esc(duration_text(transcription.duration)) if transcription.duration else "—"),
        _fact("Language", esc(language_text(details.language if details else None))),
        _fact("Speakers", esc(details.num_speakers) if details else "—"),
        _fact("Received", esc(date_text(transcription.created_at))),
    ]
    if meta.get("recorded_at"):
        facts.append(_fact("Recorded", esc(date_text(meta["recorded_at"]))))
    if meta.get("channel"):
        facts.append(_fact("Channel", esc(str(meta["channel"]).capitalize())))
    if meta.get("agent_name"):
        facts.append(_fact("Agent", esc(meta["agent_name"])))
    if customer is not None:
        who = customer.name or (customer.phones[0] if customer.phones else None) or (
            customer.emails[0] if customer.emails else "Customer")
        calls = f" · {customer.conversation_count} conversations" if customer.conversation_count > 1 else ""
        facts.append(_fact("Customer", f'<a href="#" class="hl-link" data-customer="{esc(customer.customer_id)}">'
                                       f"{esc(who)}</a>{esc(calls)}"))
    if meta.get("source"):
        facts.append(_fact("Source", esc(meta["source"])))
    downloads = ""
    if transcription.status is TranscriptionStatus.COMPLETED:
        tid = quote(transcription.transcription_id, safe="")
        links = "".join(f'<a class="hl-download" href="ui/export/{tid}.{fmt}" download>{label}</a>'
                        for fmt, label in EXPORT_FORMATS)
        downloads = f'<div class="hl-downloads"><span class="hl-fact-label">Download</span>{links}</div>'
    return (
        '<div class="hl-card hl-header">'
        f'<div class="hl-title-row"><h2 class="hl-title">{esc(display_name(transcription))}</h2>{downloads}</div>'
        f'<div class="hl-facts">{"".join(facts)}</div>'
        f'<div class="hl-id">ID {esc(transcription.transcription_id)}</div>'
        "</div>"
    )


# --- conversation ---------------------------------------------------------------------------------------


def render_player(transcription_id: str, has_media: bool) -> str:
    if not has_media:
        return ""
    src = "ui/media/" + quote(transcription_id, safe="")
    return (f'<div class="hl-player"><audio id="hl-audio" controls preload="metadata" src="{esc(src)}">'
            "Your browser cannot play this recording.</audio></div>")


def word_offsets(segment: Segment) -> str:
    """``start,end,first,last;...`` per timed word: its seconds and its characters in ``segment.text``
    (what the page shows), for the script that highlights the word being played. Empty without timings."""
    cells: list[str] = []
    cursor = 0
    for word in segment.words or []:
        token = word.word.strip()
        at = segment.text.find(token, cursor) if token else -1
        if at < 0:
            continue
        cursor = at + len(token)
        cells.append(f"{word.start:.2f},{word.end:.2f},{at},{cursor}")
    return ";".join(cells)


def _segment_row(index: int, segment: Segment, label: str, color: int, marks: list[tuple[str, str]],
                 tools: str = "") -> str:
    timed = segment.start is not None
    start_attr = f' data-start="{segment.start:.3f}"' if timed else ""
    words = word_offsets(segment)
    if words:
        start_attr += f' data-words="{words}"'
    stamp = f'<span class="hl-time">{esc(clock(segment.start))}</span>' if timed else ""
    tip = ' title="Play from here"' if timed else ""
    return (
        f'<div class="hl-seg hl-spk-{color}{" hl-seekable" if timed else ""}" id="hl-seg-{index}"'
        f' data-index="{index}"{start_attr}{tip}>'
        f'<div class="hl-seg-meta"><span class="hl-speaker">{esc(label)}</span>{stamp}{tools}</div>'
        f'<div class="hl-seg-text">{highlighted_text(segment.text, marks)}</div>'
        "</div>"
    )


def render_conversation(transcription: Transcription, *, has_media: bool = False,
                        corrections: int | None = None) -> str:
    """``corrections``: how many corrections were made (None: no correction controls)."""
    details = transcription.details
    if details is None or not details.conversation.segments:
        return render_player(transcription.transcription_id, has_media) + alert(
            "This conversation has no speech to show.", "info")
    colors = speaker_colors(transcription)
    marks = evidence_by_segment(transcription)
    segments = details.conversation.segments
    speakers = [(sid, transcription.speaker_label(sid)) for sid in speaker_order(transcription)]
    rows = [
        _segment_row(i, segment, transcription.speaker_label(segment.speaker), colors.get(segment.speaker, 0),
                     marks.get(i, []), "" if corrections is None
                     else segment_tools(i, segment, speakers, last=i == len(segments) - 1))
        for i, segment in enumerate(segments)
    ]
    warnings = "".join(alert(w, "warning") for w in details.warnings)
    return (render_player(transcription.transcription_id, has_media) + warnings + undo_bar(corrections or 0)
            + f'<div class="hl-transcript" id="hl-transcript">{"".join(rows)}</div>')


# --- side panels ----------------------------------------------------------------------------------------


def speaker_stats(transcription: Transcription) -> dict[str, tuple[int, float]]:
    """(segments, seconds spoken) per speaker."""
    stats: dict[str, tuple[int, float]] = {}
    details = transcription.details
    for segment in details.conversation.segments if details else []:
        count, seconds = stats.get(segment.speaker, (0, 0.0))
        spoken = (segment.end - segment.start) if segment.start is not None and segment.end is not None else 0.0
        stats[segment.speaker] = (count + 1, seconds + max(0.0, spoken))
    return stats


def render_speakers(transcription: Transcription) -> str:
    details = transcription.details
    if details is None:
        return ""
    colors = speaker_colors(transcription)
    stats = speaker_stats(transcription)
    total = sum(seconds for _, seconds in stats.values())
    rows = []
    for speaker in speaker_order(transcription):
        info = details.speakers.get(speaker)
        label = transcription.speaker_label(speaker)
        role = info.role if info and info.role and info.role != label else None
        count, seconds = stats.get(speaker, (0, 0.0))
        share = f" · {seconds / total:.0%} of talk time" if total else ""
        segments = f"{count} segment{'s' if count != 1 else ''}"
        recognised = None
        if info and info.voice_id:  # similarity 1: the conversation the voice was remembered from
            recognised = (f"recognised voice {info.similarity:.0%}" if info.similarity and info.similarity < 1
                          else "voice remembered")
        sub = " · ".join(x for x in (speaker if label != speaker else None, role, recognised) if x)
        rows.append(
            f'<div class="hl-speaker-row hl-spk-{colors[speaker]}">'
            f'<span class="hl-swatch"></span><div><div class="hl-speaker-name">{esc(label)}</div>'
            f'<div class="hl-speaker-sub">{esc(sub)}{" · " if sub else ""}{segments}{esc(share)}</div>'
            "</div></div>"
        )
    return f'<div class="hl-card"><h3>Speakers</h3>{"".join(rows)}</div>'


def render_summary(transcription: Transcription) -> str:
    details = transcription.details
    if details is None:
        return ""
    body: str
    if details.summary is not None and details.summary.summary.strip():
        paragraphs = "".join(f"<p>{esc(p)}</p>" for p in details.summary.summary.split("\n") if p.strip())
        body = paragraphs
    elif details.llm_status.value == "pending":
        body = alert(details.llm_pending_reason or "The summary could not be written yet.", "warning",
                     title="Waiting for the LLM.") + '<p class="hl-muted">Use “Re-run extraction &amp; summary” ' \
                                                      "once Ollama is running.</p>"
    else:
        return ""
    return f'<div class="hl-card"><h3>Summary</h3>{body}</div>'


def render_fields(transcription: Transcription, field_types: dict[str, str] | None = None) -> str:
    details = transcription.details
    if details is None or details.fields is None or not details.fields.fields:
        if details is not None and details.llm_status.value == "pending" and details.summary is None:
            return ""  # the summary card already says why
        return ""
    segments = details.conversation.segments
    rows = []
    for field in details.fields.fields:
        evidence_html = []
        for item in field.evidence:
            segment = segments[item.segment_index] if 0 <= item.segment_index < len(segments) else None
            stamp = f" · {clock(segment.start)}" if segment is not None and segment.start is not None else ""
            evidence_html.append(
                f'<a href="#" class="hl-quote" data-seg="{item.segment_index}" title="Show in the transcript">'
                f"“{esc(item.quote)}”<span class=\"hl-muted\">{esc(stamp)}</span></a>"
            )
        kind = (field_types or {}).get(field.name)
        missing = field.value is None or field.value == []
        value_html = '<span class="hl-muted">Not mentioned</span>' if missing else esc(value_text(field.value))
        rows.append(
            '<div class="hl-field">'
            f'<div class="hl-field-head"><span class="hl-field-name">{esc(field.name)}</span>'
            f'{badge(kind, "neutral") if kind else ""}</div>'
            f'<div class="hl-field-value">{value_html}</div>{"".join(evidence_html)}</div>'
        )
    return f'<div class="hl-card"><h3>Extracted fields</h3>{"".join(rows)}</div>'


def render_failure(transcription: Transcription) -> str:
    error = transcription.error
    message = error.message if error else "Processing failed."
    kind = f" ({error.type})" if error and error.type else ""
    return alert(message + kind, "danger", title="Processing failed.")


def speaker_choices(transcription: Transcription) -> list[tuple[str, str]]:
    """Dropdown choices (label, speaker id) for renaming."""
    choices = []
    for speaker in speaker_order(transcription):
        label = transcription.speaker_label(speaker)
        choices.append((f"{label} ({speaker})" if label != speaker else speaker, speaker))
    return choices

