"""Live job cards: one progress bar per stage (decode, transcribe, diarize, extract, summarise), the
queue position and the time left. Built from ``engine.jobs.view(...).dump()``
(:class:`heard_local.views.JobView`); pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from heard_local.ui.format import duration_text, empty_state, esc, parse_time, relative_time, status_badge

STAGE_LABELS = {
    "decode": "Decode",
    "transcribe": "Transcribe",
    "diarize": "Diarize",
    "parse": "Read transcript",
    "extract": "Extract fields",
    "summarize": "Summarise",
}
# Steps a stage reports under other names (sub-steps arrive as "diarize/embeddings" and are cut at "/").
STEP_TO_STAGE = {
    "decode": "decode", "load": "decode", "resample": "decode", "channels": "decode",
    "load_models": "transcribe", "vad": "transcribe", "language": "transcribe", "transcribe": "transcribe",
    "asr": "transcribe", "download": "decode",
    "diarize": "diarize", "align": "diarize", "voiceprints": "diarize",
    "parse": "parse",
    "extract": "extract", "chunk": "extract",
    "summarize": "summarize", "summary": "summarize", "map": "summarize", "reduce": "summarize",
}
KIND_LABELS = {"audio": "Audio", "transcript": "Transcript", "reprocess": "Re-run extraction & summary"}


@dataclass
class JobCard:
    """One job as the UI shows it."""

    view: dict[str, Any]  # engine.jobs.view(...).dump()
    title: str
    stages: list[str]
    seen: dict[str, float | None] = field(default_factory=dict)  # see ProgressMemory


def stages_for(kind: str, *, extract: bool, summarize: bool) -> list[str]:
    base = {"audio": ["decode", "transcribe", "diarize"], "transcript": ["parse"]}.get(kind, [])
    return base + (["extract"] if extract else []) + (["summarize"] if summarize else [])


def stage_of(step: str | None) -> str | None:
    if not step:
        return None
    head = step.split("/", 1)[0].strip().lower()
    return STEP_TO_STAGE.get(head)


def stage_states(card: JobCard) -> list[tuple[str, str, float | None]]:
    """(stage, state, fraction) per stage; state is done, active, failed or waiting.

    Transcription and diarization run at the same time and report in turns, so a stage seen earlier
    and not finished (``card.seen``) stays active while the other one reports.
    """
    view = card.view
    state = view.get("state")
    progress = view.get("progress") or {}
    if state == "COMPLETED":
        return [(s, "done", 1.0) for s in card.stages]
    current = stage_of(progress.get("step"))
    if state == "PENDING" or current not in card.stages:
        if state == "FAILED" and card.stages:
            return [(card.stages[0], "failed", None)] + [(s, "waiting", 0.0) for s in card.stages[1:]]
        return [(s, "waiting", 0.0) for s in card.stages]
    here = card.stages.index(current)
    result: list[tuple[str, str, float | None]] = []
    for i, stage in enumerate(card.stages):
        seen = card.seen.get(stage, -1.0)
        if i == here:
            fraction = progress.get("fraction") if stage_of(progress.get("step")) == stage else None
            result.append((stage, "failed" if state == "FAILED" else "active", fraction))
        elif stage in card.seen and (seen is None or seen < 1.0) and state != "FAILED":
            result.append((stage, "active", seen))  # still running beside the current one
        elif i < here or (seen is not None and seen >= 1.0):
            result.append((stage, "done", 1.0))
        else:
            result.append((stage, "waiting", 0.0))
    return result


class ProgressMemory:
    """The latest fraction seen per stage of each job, across refreshes (bounded)."""

    def __init__(self, size: int = 200):
        self._size = size
        self._jobs: dict[str, dict[str, float | None]] = {}

    def update(self, view: dict[str, Any]) -> dict[str, float | None]:
        job_id = str(view.get("job_id"))
        seen = self._jobs.pop(job_id, {})
        self._jobs[job_id] = seen  # most recent last
        progress = view.get("progress") or {}
        step = str(progress.get("step") or "")
        stage = stage_of(step)
        if stage is not None and step.split("/", 1)[0] == stage and view.get("state") == "IN_PROGRESS":
            seen[stage] = progress.get("fraction")
        while len(self._jobs) > self._size:
            self._jobs.pop(next(iter(self._jobs)))
        return dict(seen)


# Shared by every page: the same job looks the same to everyone watching it.
MEMORY = ProgressMemory()


def job_card(view: dict[str, Any], title: str, stages: list[str]) -> JobCard:
    return JobCard(view=view, title=title, stages=stages, seen=MEMORY.update(view))


def time_left(view: dict[str, Any], now: datetime | None = None) -> str:
    state = view.get("state")
    estimate = view.get("estimated_duration_seconds")
    if state == "PENDING":
        ahead = view.get("queue_position")
        waiting = "Next in line" if not ahead else f"{ahead} job{'s' if ahead != 1 else ''} ahead"
        return waiting + (f" · takes about {duration_text(estimate)}" if estimate else "")
    if state != "IN_PROGRESS":
        return ""
    started = parse_time(view.get("started_at"))
    if not estimate or started is None:
        return "Working…"
    elapsed = ((now or datetime.now(UTC)) - started).total_seconds()
    remaining = estimate - elapsed
    return f"About {duration_text(remaining)} left" if remaining > 1 else ""


def _stage_html(stage: str, state: str, fraction: float | None) -> str:
    width = 100 if state == "done" else round((fraction or 0.0) * 100)
    indeterminate = state == "active" and fraction is None
    bar_class = "hl-bar-fill hl-indeterminate" if indeterminate else "hl-bar-fill"
    icon = {"done": "✓", "failed": "✕", "active": "●", "waiting": "○"}[state]
    return (
        f'<div class="hl-stage hl-stage-{state}" data-stage="{esc(stage)}" data-state="{state}">'
        f'<div class="hl-stage-label"><span class="hl-stage-icon">{icon}</span>'
        f"{esc(STAGE_LABELS.get(stage, stage))}</div>"
        f'<div class="hl-bar"><div class="{bar_class}" style="width:{width if not indeterminate else 40}%"></div></div>'
        "</div>"
    )


def render_job(card: JobCard, now: datetime | None = None) -> str:
    view = card.view
    state = view.get("state", "PENDING")
    tid = str(view.get("transcription_id", ""))
    stages = "".join(_stage_html(*s) for s in stage_states(card))
    detail_bits = [KIND_LABELS.get(str(view.get("kind")), str(view.get("kind", ""))),
                   relative_time(view.get("created_at"), now)]
    active = [(s, f) for s, state_, f in stage_states(card) if state_ == "active"]
    for stage, fraction in active:
        label = STAGE_LABELS.get(stage, stage)
        detail_bits.append(f"{label} {round(fraction * 100)}%" if fraction is not None else f"{label}…")
    eta = time_left(view, now)
    if eta:
        detail_bits.append(eta)
    attempts = int(view.get("attempts") or 0)
    if state in ("PENDING", "IN_PROGRESS") and attempts > 1:
        detail_bits.append(f"attempt {attempts}")
    step = str((view.get("progress") or {}).get("step") or "")
    if state == "IN_PROGRESS" and step and stage_of(step) is None:
        detail_bits.append(step.replace("_", " "))
    elif state == "IN_PROGRESS" and step.startswith("diarize/"):
        detail_bits.append(step.split("/", 1)[1].replace("_", " "))  # segmentation, embeddings, clustering…
    error = ""
    if state == "FAILED":
        message = (view.get("error") or {}).get("message") or "Processing failed."
        error = f'<div class="hl-job-error">{esc(message)}</div>'
    open_link = ""
    if state == "COMPLETED" or tid:
        label = "Open" if state == "COMPLETED" else "View"
        open_link = (f'<a class="hl-open" href="?t={esc(quote(tid, safe=""))}" data-open="{esc(tid)}">'
                     f"{label} →</a>")
    return (
        f'<div class="hl-job hl-job-{esc(state.lower())}" data-job="{esc(view.get("job_id"))}"'
        f' data-state="{esc(state)}" data-transcription="{esc(tid)}">'
        f'<div class="hl-job-head"><div class="hl-job-title">{esc(card.title)}</div>'
        f"{status_badge(state)}{open_link}</div>"
        f'<div class="hl-stages">{stages}</div>'
        f'<div class="hl-job-detail">{esc(" · ".join(b for b in detail_bits if b))}</div>{error}'
        "</div>"
    )


def render_jobs(cards: list[JobCard], now: datetime | None = None) -> str:
    if not cards:
        return empty_state("Nothing in the queue", "Upload recordings or paste a transcript to get started.")
    return '<div class="hl-jobs">' + "".join(render_job(c, now) for c in cards) + "</div>"
