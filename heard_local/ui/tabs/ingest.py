"""Add conversations: upload recordings (many at once), record from the microphone or paste a
transcript; pick a configuration and fill the metadata; watch each job's stages progress live."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from heard_local.domain import Configuration, Job, JobStatus
from heard_local.domain.job import TranscriptPayload
from heard_local.engine import Engine
from heard_local.engine.intake import HEAD_BYTES, is_transcript, transcript_text
from heard_local.errors import HeardError, ValidationError
from heard_local.ui import scripts
from heard_local.ui.context import UiContext, open_transcript
from heard_local.ui.errors import friendly, quiet
from heard_local.ui.format import esc, language_choices
from heard_local.ui.jobs_html import JobCard, job_card, render_jobs, stages_for
from heard_local.ui.widgets import html

log = logging.getLogger(__name__)

AUDIO_FILE_TYPES = ["audio", ".wav", ".mp3", ".flac", ".m4a", ".mp4", ".webm", ".ogg", ".opus", ".oga", ".aac", ".amr",
                    ".awb", ".wma", ".aif", ".aiff", ".caf", ".3gp", ".3g2", ".au", ".ac3", ".wv", ".txt"]
CHANNEL_CHOICES = [("Not set", ""), ("Voice call", "voice"), ("Meeting", "meeting"), ("Chat", "chat"),
                   ("Email", "email")]
LANGUAGE_CHOICES = language_choices(("Detect automatically", ""))
JOBS_SHOWN = 12
TRANSCRIPT_PLACEHOLDER = (
    "Agent: Thank you for calling Acme support, this is Sarah.\n"
    "Customer: Hi Sarah, my card was declined this morning…"
)


# --- building the request -------------------------------------------------------------------------------


def build_metadata(*, name: str, channel: str, source: str, customer_name: str, phone: str, email: str,
                   agent_name: str, recorded_at: Any, language: str, num_speakers: Any) -> dict[str, Any]:
    """The ingestion metadata from the form; empty fields are left out."""
    metadata: dict[str, Any] = {
        "name": name.strip() or None,
        "channel": channel or None,
        "source": source.strip() or "web-ui",
        "customer_name": customer_name.strip() or None,
        "customer_phone": phone.strip() or None,
        "customer_email": email.strip() or None,
        "agent_name": agent_name.strip() or None,
        "language": language or None,
    }
    moment = recorded_time(recorded_at)
    if moment is not None:
        metadata["recorded_at"] = moment.isoformat()
    if num_speakers not in (None, "", 0):
        try:
            metadata["num_speakers"] = int(num_speakers)
        except (TypeError, ValueError):
            raise ValidationError("Number of speakers must be a whole number", field="num_speakers") from None
    return {k: v for k, v in metadata.items() if v is not None}


def recorded_time(value: Any) -> datetime | None:
    """gr.DateTime gives a timestamp, a datetime or a string; a naive time is the user's local time."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value)).astimezone()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone()
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError("Recorded at must be a date and time like 2024-05-01 14:30",
                              field="recorded_at") from None
    return moment if moment.tzinfo else moment.astimezone()


def submit_all(engine: Engine, *, files: list[str] | None, recording: str | None, transcript: str,
               configuration_id: str, metadata: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Queue every recording, text file and pasted transcript; (successes, problems) as messages.

    One bad file does not stop the others: each gets its own line.
    """
    done: list[str] = []
    problems: list[str] = []

    def note(label: str, submission: Any) -> None:
        done.append(f"{label}: already processed (same content, same configuration)" if submission.duplicate
                    else f"{label}: queued")

    for path_text in files or []:
        path = Path(path_text)
        label = path.name
        try:
            raw = path.read_bytes()
            if is_transcript(path.name, raw[:HEAD_BYTES]):
                text = transcript_text(raw, path.name)  # strict: bad bytes are refused, never replaced
                meta = {**metadata, "name": metadata.get("name") or path.stem}
                note(label, engine.ingest.transcript({"transcript_text": text, "metadata": meta,
                                                      "configuration_id": configuration_id or None}))
            else:
                note(label, engine.ingest.audio_file(path, metadata=metadata, configuration=configuration_id or None,
                                                     original_name=path.name, move=True))
        except HeardError as exc:
            problems.append(f"{label}: {exc.message}")
        except OSError as exc:
            problems.append(f"{label}: could not read the file ({exc.strerror or exc})")
    if recording:
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
        name = metadata.get("name") or f"Microphone recording {stamp}"
        try:
            note("Microphone recording", engine.ingest.audio_file(
                Path(recording), metadata={**metadata, "name": name}, configuration=configuration_id or None,
                original_name=f"{name}.wav", move=True))
        except HeardError as exc:
            problems.append(f"Microphone recording: {exc.message}")
    if transcript and transcript.strip():
        name = metadata.get("name") or f"Pasted transcript {datetime.now().strftime('%Y-%m-%d %H:%M')}"
        try:
            note("Pasted transcript", engine.ingest.transcript({
                "transcript_text": transcript, "metadata": {**metadata, "name": name},
                "configuration_id": configuration_id or None}))
        except HeardError as exc:
            problems.append(f"Pasted transcript: {exc.message}")
    return done, problems


def result_html(done: list[str], problems: list[str]) -> str:
    parts = []
    if done:
        items = "".join(f"<li>{esc(line)}</li>" for line in done)
        parts.append(f'<div class="hl-alert hl-alert-success"><strong>Added {len(done)} '
                     f'conversation{"s" if len(done) != 1 else ""}.</strong><ul>{items}</ul>'
                     "Progress is shown on the right.</div>")
    if problems:
        items = "".join(f"<li>{esc(line)}</li>" for line in problems)
        parts.append(f'<div class="hl-alert hl-alert-danger"><strong>Not added:</strong><ul>{items}</ul></div>')
    return "".join(parts)


# --- the queue panel ------------------------------------------------------------------------------------


def job_title(engine: Engine, job: Job) -> str:
    """The conversation's name (the submission's metadata is stored once, on the transcription), else
    a transcript's first line."""
    try:
        name = engine.transcriptions.get(job.transcription_id).name
    except HeardError:
        name = None
    if name:
        return name
    if isinstance(job.payload, TranscriptPayload):
        first_line = next((line for line in job.payload.transcript_text.splitlines() if line.strip()), "")
        return "Transcript · " + (first_line[:60] + ("…" if len(first_line) > 60 else ""))
    return "Recording"


def job_cards(engine: Engine, limit: int = JOBS_SHOWN) -> list[JobCard]:
    """Active jobs first (all of them), then the most recent finished ones, up to ``limit`` in all."""
    jobs = engine.jobs.list(limit=200)
    active = [j for j in jobs if j.status in (JobStatus.PENDING, JobStatus.IN_PROGRESS)]
    finished = [j for j in jobs if j not in active]
    chosen = active + finished[: max(0, limit - len(active))]
    configurations: dict[str, Configuration] = {c.configuration_id: c for c in engine.configurations.list()}
    cards = []
    for job in chosen:
        try:
            view = engine.jobs.view(job.job_id).dump()
        except HeardError:
            continue  # deleted meanwhile
        configuration = configurations.get(job.configuration_id)
        stages = stages_for(job.kind.value, extract=bool(configuration and configuration.extraction_fields),
                            summarize=bool(configuration and configuration.summary))
        cards.append(job_card(view, job_title(engine, job), stages))
    return cards


# --- the tab --------------------------------------------------------------------------------------------


def build(ctx: UiContext) -> None:
    engine = ctx.engine
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=360):
            html('<div class="hl-section-title">Add conversations</div>'
                    '<div class="hl-section-sub">Recordings and transcripts are processed on this machine.</div>')
            with gr.Tabs(elem_id="hl-ingest-sources"):
                with gr.Tab("Upload recordings", id="upload"):
                    files = gr.File(file_count="multiple", file_types=AUDIO_FILE_TYPES, label="Recordings",
                                    elem_id="hl-upload", height=180)
                    html('<div class="hl-hint">wav, mp3, flac, m4a, ogg, aac, amr, wma, aiff, 3gp and more — drop '
                         "many at once. Plain-text transcripts (.txt) work too.</div>")
                with gr.Tab("Record", id="record"):
                    recording = gr.Audio(sources=["microphone"], type="filepath", label="Microphone",
                                         elem_id="hl-mic")
                with gr.Tab("Paste transcript", id="paste"):
                    transcript = gr.Textbox(label="Transcript", lines=9, max_lines=30, elem_id="hl-transcript-input",
                                            placeholder=TRANSCRIPT_PLACEHOLDER,
                                            info="One turn per line, “Speaker: text”. Timestamps like "
                                                 "[00:12] are read too.")
            configuration = gr.Dropdown(label="Configuration", choices=[], elem_id="hl-ingest-config",
                                        info="Vocabulary, fields to extract and summary settings")
            with gr.Accordion("Conversation details (optional)", open=False, elem_id="hl-ingest-details"):
                name = gr.Textbox(label="Name", placeholder="e.g. Card replacement — J. Smith (default: the file name)",
                                  elem_id="hl-ingest-name", max_length=255)
                with gr.Row():
                    customer_name = gr.Textbox(label="Customer name", elem_id="hl-ingest-customer")
                    agent_name = gr.Textbox(label="Agent name", elem_id="hl-ingest-agent")
                with gr.Row():
                    phone = gr.Textbox(label="Customer phone", placeholder="+1 555 010 0123", elem_id="hl-ingest-phone")
                    email = gr.Textbox(label="Customer email", placeholder="jane@example.com",
                                       elem_id="hl-ingest-email")
                with gr.Row():
                    channel = gr.Dropdown(label="Channel", choices=CHANNEL_CHOICES, value="")
                    language = gr.Dropdown(label="Language", choices=LANGUAGE_CHOICES, value="", filterable=True)
                with gr.Row():
                    recorded_at = gr.DateTime(label="Recorded at", include_time=True, type="string")
                    num_speakers = gr.Number(label="Number of speakers (0 = unknown)", precision=0, minimum=0,
                                             maximum=20)
                source = gr.Textbox(label="Source", placeholder="web-ui",
                                    info="Where the conversation comes from, e.g. the phone system's name")
            submit = gr.Button("Start processing", variant="primary", elem_id="hl-submit", size="lg")
            result = html(elem_id="hl-ingest-result")
        with gr.Column(scale=6, min_width=360):
            html('<div class="hl-section-title">Processing queue</div>'
                    '<div class="hl-section-sub">Live progress of each stage. Click a finished job to open '
                    "its transcript.</div>")
            jobs_html = html(elem_id="hl-jobs", js_on_load=scripts.OPEN_LINKS)
            last_jobs = gr.State("")

    @friendly
    def on_submit(files_value: list[str] | None, recording_value: str | None, transcript_value: str,
                  configuration_id: str | None, name_v: str, channel_v: str, source_v: str, customer_v: str,
                  phone_v: str, email_v: str, agent_v: str, recorded_v: Any, language_v: str,
                  speakers_v: Any) -> tuple[Any, ...]:
        if not files_value and not recording_value and not (transcript_value or "").strip():
            raise ValidationError("Add a recording, record from the microphone or paste a transcript first.")
        metadata = build_metadata(name=name_v or "", channel=channel_v or "", source=source_v or "",
                                  customer_name=customer_v or "", phone=phone_v or "", email=email_v or "",
                                  agent_name=agent_v or "", recorded_at=recorded_v, language=language_v or "",
                                  num_speakers=speakers_v)
        done, problems = submit_all(engine, files=files_value, recording=recording_value,
                                    transcript=transcript_value, configuration_id=configuration_id or "",
                                    metadata=metadata)
        html = render_jobs(job_cards(engine))
        # Clear what was submitted so it cannot be sent twice; keep the form on failure to fix and retry.
        cleared = not problems
        return (result_html(done, problems), None, None, "" if cleared else transcript_value, html, html)

    submit.click(on_submit,
                 inputs=[files, recording, transcript, configuration, name, channel, source, customer_name, phone,
                         email, agent_name, recorded_at, language, num_speakers],
                 outputs=[result, files, recording, transcript, jobs_html, last_jobs],
                 concurrency_limit=1, api_visibility="private")

    @quiet
    def refresh(previous: str) -> tuple[Any, Any]:
        html = render_jobs(job_cards(engine))
        if html == previous:
            return gr.skip(), gr.skip()
        return html, html

    ctx.timer.tick(refresh, inputs=[last_jobs], outputs=[jobs_html, last_jobs], show_progress="hidden",
               queue=False, api_visibility="private")

    @friendly
    def on_open(evt: gr.EventData) -> tuple[str, gr.Tabs]:
        transcription_id = str(getattr(evt, "_data", {}).get("transcription_id") or "")
        if not transcription_id:
            return gr.skip(), gr.skip()  # a click elsewhere on the panel
        return open_transcript(transcription_id)

    ctx.open_events.append(jobs_html.click(on_open, outputs=[ctx.current_id, ctx.tabs], api_visibility="private"))

    def initial() -> tuple[Any, ...]:
        default = next((c.configuration_id for c in ctx.configurations() if c.is_default), None)
        html = render_jobs(job_cards(engine))
        return gr.Dropdown(choices=ctx.configuration_choices(), value=default), html, html

    ctx.loaders.append((initial, [configuration, jobs_html, last_jobs]))
    ctx.configuration_dropdowns.append((configuration, False))
