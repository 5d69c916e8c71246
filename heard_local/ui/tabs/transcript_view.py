"""One conversation: audio player, speaker-coloured segments that seek the audio, speaker renaming,
summary, extracted fields with their evidence highlighted, review group, re-run, downloads, delete."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from heard_local.domain import Customer, Job, JobStatus, Transcription, TranscriptionStatus
from heard_local.engine import Engine
from heard_local.errors import HeardError, ValidationError
from heard_local.ui import scripts
from heard_local.ui.context import TAB_TRANSCRIPTIONS, UiContext
from heard_local.ui.errors import friendly, quiet
from heard_local.ui.format import GROUP_LABELS, alert, empty_state
from heard_local.ui.jobs_html import job_card, render_job, stages_for
from heard_local.ui.tabs.ingest import job_title
from heard_local.ui.tabs.voices import remember_voice
from heard_local.ui.transcript_html import (
    display_name,
    render_conversation,
    render_failure,
    render_fields,
    render_header,
    render_speakers,
    render_summary,
    speaker_choices,
)
from heard_local.ui.widgets import html

GROUP_CHOICES = [("No review group", "")] + [(label, value) for value, label in GROUP_LABELS.items()]
FINAL = (TranscriptionStatus.COMPLETED, TranscriptionStatus.FAILED)
EMPTY = empty_state("No conversation open", "Pick one in the Conversations tab, or open a finished job from "
                                            "the processing queue.")


def latest_job(engine: Engine, transcription_id: str) -> Job | None:
    """The most recent job of a transcription (its processing, or a re-run)."""
    return engine.jobs.latest_for_transcription(transcription_id)


def job_card_html(engine: Engine, job: Job) -> str:
    try:
        configuration = engine.configurations.get(job.configuration_id)
        extract, summarize = bool(configuration.extraction_fields), configuration.summary
    except HeardError:
        extract = summarize = False
    card = job_card(engine.jobs.view(job.job_id).dump(), job_title(engine, job),
                    stages_for(job.kind.value, extract=extract, summarize=summarize))
    return f'<div class="hl-jobs">{render_job(card)}</div>'


@dataclass
class ViewParts:
    """Everything the tab shows, in the order of its output components."""

    empty: Any
    detail: Any
    header: Any
    status: Any
    name: Any
    group: Any
    speaker: Any
    conversation: Any
    speakers: Any
    summary: Any
    fields: Any
    rerun: Any
    watch: Any
    address: Any  # the id again, in a component the browser can read (for the address bar)

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(self.__dict__.values())


def render_view(engine: Engine, transcription_id: str) -> ViewParts:
    if not transcription_id:
        return nothing_open()
    try:
        transcription = engine.transcriptions.get(transcription_id)
    except HeardError:
        return nothing_open(alert("This conversation no longer exists (it was deleted).", "warning"))
    customer = _customer(engine, transcription)
    watch = ""
    status_html = ""
    if transcription.status not in FINAL:
        job = latest_job(engine, transcription_id)
        status_html = job_card_html(engine, job) if job else alert("Waiting to be processed…", "info")
        watch = transcription_id
    elif transcription.status is TranscriptionStatus.FAILED:
        status_html = render_failure(transcription)
    else:
        job = latest_job(engine, transcription_id)
        if job is not None and job.status in (JobStatus.PENDING, JobStatus.IN_PROGRESS):
            status_html = job_card_html(engine, job)  # a re-run in progress
            watch = transcription_id
    completed = transcription.status is TranscriptionStatus.COMPLETED
    media = engine.transcriptions.media_path(transcription_id) if completed else None
    choices = speaker_choices(transcription)
    return ViewParts(
        empty=gr.HTML(visible=False),
        detail=gr.Column(visible=True),
        header=render_header(transcription, customer),
        status=gr.HTML(value=status_html, visible=bool(status_html)),
        name=gr.Textbox(value=transcription.name or display_name(transcription)),
        group=gr.Dropdown(value=transcription.group.value if transcription.group else ""),
        speaker=gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, interactive=bool(choices)),
        conversation=render_conversation(transcription, has_media=bool(media and media.exists()),
                                         corrections=engine.corrections.count(transcription_id)) if completed
        else "",
        speakers=render_speakers(transcription),
        summary=render_summary(transcription),
        fields=render_fields(transcription, _field_types(engine, transcription)),
        rerun=gr.Button(interactive=completed),
        watch=watch,
        address=transcription_id,
    )


def apply_correction(engine: Engine, transcription_id: str, data: dict[str, Any]) -> None:
    """``data`` from the page: {edit: text|split|merge|speaker|undo|undo-all, index, text?, at?, speaker?}."""
    action, index = str(data.get("edit")), int(data.get("index", -1))
    corrections = engine.corrections
    if action == "text":
        corrections.edit(transcription_id, index, text=str(data.get("text", "")))
    elif action == "speaker":
        corrections.edit(transcription_id, index, speaker=str(data.get("speaker", "")))
    elif action == "merge":
        corrections.merge(transcription_id, index)
    elif action == "split":
        details = engine.transcriptions.get(transcription_id).details
        segments = details.conversation.segments if details else []
        text = segments[index].text if 0 <= index < len(segments) else ""
        at = int(data.get("at", 0))  # the cursor's offset in the line: split before the word it is in
        corrections.split(transcription_id, index, sum(1 for w in re.finditer(r"\S+", text) if w.end() <= at))
    elif action in ("undo", "undo-all"):
        corrections.undo(transcription_id, all_edits=action == "undo-all")
    else:
        raise ValidationError(f"Unknown correction {action!r}")


def nothing_open(message: str = "") -> ViewParts:
    return ViewParts(
        empty=gr.HTML(value=message + EMPTY, visible=True), detail=gr.Column(visible=False), header="",
        status=gr.HTML(value="", visible=False),
        name=gr.Textbox(value=""), group=gr.Dropdown(value=""), speaker=gr.Dropdown(choices=[], value=None),
        conversation="", speakers="", summary="", fields="", rerun=gr.Button(interactive=False), watch="",
        address="",
    )


def _customer(engine: Engine, transcription: Transcription) -> Customer | None:
    if not transcription.customer_id:
        return None
    try:
        return engine.customers.get(transcription.customer_id)
    except HeardError:
        return None


def _field_types(engine: Engine, transcription: Transcription) -> dict[str, str]:
    try:
        configuration = engine.configurations.get(transcription.configuration_id)
    except HeardError:
        return {}
    return {f.name: f.type.value for f in configuration.extraction_fields}


def build(ctx: UiContext) -> Callable[[Any], Any]:
    """Build the tab; returns ``show(event)`` chaining the view's refresh after an event that wrote
    ``ctx.current_id``."""
    engine = ctx.engine
    empty = html(EMPTY, elem_id="hl-transcript-empty")
    with gr.Column(visible=False, elem_id="hl-transcript-detail") as detail:
        header = html(elem_id="hl-transcript-header", js_on_load=scripts.OPEN_LINKS)
        status = html(elem_id="hl-transcript-status")
        with gr.Row(equal_height=True, elem_classes="hl-toolbar"):
            name = gr.Textbox(label="Name", scale=4, elem_id="hl-name", submit_btn="Save", max_length=255)
            group = gr.Dropdown(label="Review group", choices=GROUP_CHOICES, value="", scale=2, elem_id="hl-group")
            rerun = gr.Button("Re-run extraction & summary", size="md", scale=0, min_width=250, elem_id="hl-rerun")
            delete = gr.Button("Delete", size="md", variant="stop", scale=0, min_width=100, elem_id="hl-delete")
            confirmed = gr.Textbox(visible=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=7, min_width=420):
                conversation = html(elem_id="hl-conversation", js_on_load=scripts.TRANSCRIPT)
            with gr.Column(scale=4, min_width=300):
                speakers = html(elem_id="hl-speakers")
                with gr.Group(elem_classes="hl-rename"):
                    speaker = gr.Dropdown(label="Rename a speaker", choices=[], elem_id="hl-speaker-pick")
                    speaker_name = gr.Textbox(label="New name", placeholder="e.g. Sarah (agent)",
                                              elem_id="hl-speaker-name", submit_btn="Save")
                    remember = gr.Button("Remember this voice", size="sm", elem_id="hl-remember-voice")
                summary = html(elem_id="hl-summary")
                fields = html(elem_id="hl-fields", js_on_load=scripts.EVIDENCE_LINKS)
    watch = gr.State("")
    address = gr.Textbox(visible=False)

    outputs = [empty, detail, header, status, name, group, speaker, conversation, speakers, summary, fields, rerun,
               watch, address]

    @friendly
    def show(transcription_id: str) -> tuple[Any, ...]:
        return render_view(engine, transcription_id).as_tuple()

    def chain(event: Any) -> Any:
        return event.then(show, inputs=[ctx.current_id], outputs=outputs, api_visibility="private").then(
            None, inputs=[address], js=scripts.REMEMBER_TRANSCRIPT)

    @friendly
    def rename_speaker(transcription_id: str, speaker_id: str | None, new_name: str) -> tuple[Any, ...]:
        if not speaker_id:
            raise ValidationError("Pick the speaker to rename first.")
        if len(new_name or "") > 100:
            raise ValidationError("A speaker name can be at most 100 characters.")
        engine.transcriptions.rename_speaker(transcription_id, speaker_id, (new_name or "").strip() or None)
        parts = render_view(engine, transcription_id)
        gr.Info("Speaker renamed." if (new_name or "").strip() else "Speaker name reset.", duration=3)
        parts.speaker = gr.Dropdown(choices=speaker_choices(engine.transcriptions.get(transcription_id)),
                                    value=speaker_id)
        return (*parts.as_tuple(), "")

    speaker_name.submit(rename_speaker, inputs=[ctx.current_id, speaker, speaker_name],
                        outputs=[*outputs, speaker_name], api_visibility="private")

    @friendly
    def remember_speaker_voice(transcription_id: str, speaker_id: str | None, new_name: str) -> tuple[Any, ...]:
        gr.Info(remember_voice(engine, transcription_id, speaker_id, new_name), duration=5)
        parts = render_view(engine, transcription_id)
        parts.speaker = gr.Dropdown(choices=speaker_choices(engine.transcriptions.get(transcription_id)),
                                    value=speaker_id)
        return (*parts.as_tuple(), "")

    remember.click(remember_speaker_voice, inputs=[ctx.current_id, speaker, speaker_name],
                   outputs=[*outputs, speaker_name], api_visibility="private")

    def correct(transcription_id: str, evt: gr.EventData) -> tuple[Any, ...]:
        """An inline correction sent by the conversation's script (see segment_tools)."""
        data = getattr(evt, "_data", None) or {}
        if not transcription_id or not data.get("edit"):
            return tuple(gr.skip() for _ in outputs)
        apply_correction(engine, transcription_id, data)
        return render_view(engine, transcription_id).as_tuple()

    conversation.click(correct, inputs=[ctx.current_id], outputs=outputs, api_visibility="private")

    @friendly
    def rename(transcription_id: str, new_name: str) -> tuple[Any, ...]:
        engine.transcriptions.rename(transcription_id, (new_name or "").strip() or None)
        gr.Info("Name saved.", duration=3)
        return render_view(engine, transcription_id).as_tuple()

    name.submit(rename, inputs=[ctx.current_id, name], outputs=outputs, api_visibility="private")

    @friendly
    def change_group(transcription_id: str, group_value: str) -> str:
        transcription = engine.transcriptions.set_group(transcription_id, group_value or None)
        return render_header(transcription, _customer(engine, transcription))

    group.input(change_group, inputs=[ctx.current_id, group], outputs=[header], api_visibility="private")

    @friendly
    def rerun_llm(transcription_id: str) -> tuple[Any, ...]:
        engine.jobs.reprocess(transcription_id)
        gr.Info("Extraction and summary will be re-run; progress is shown above.", duration=4)
        return render_view(engine, transcription_id).as_tuple()

    rerun.click(rerun_llm, inputs=[ctx.current_id], outputs=outputs, api_visibility="private")

    @friendly
    def remove(transcription_id: str, answer: str) -> tuple[Any, ...]:
        if answer != "yes" or not transcription_id:
            return tuple(gr.skip() for _ in range(len(outputs) + 2))
        engine.transcriptions.delete(transcription_id)
        gr.Info("Conversation deleted.", duration=4)
        return (*nothing_open().as_tuple(), "", gr.Tabs(selected=TAB_TRANSCRIPTIONS))

    delete_event = delete.click(remove, inputs=[ctx.current_id, confirmed],
                                outputs=[*outputs, ctx.current_id, ctx.tabs],
                                js=scripts.confirm("Delete this conversation and its recording permanently?"),
                                api_visibility="private")
    delete_event.then(None, inputs=[address], js=scripts.REMEMBER_TRANSCRIPT)

    @quiet
    def poll(transcription_id: str, watching: str) -> tuple[Any, ...]:
        """While the open conversation is being processed, follow its job; re-render when it ends."""
        if not watching or watching != transcription_id:
            return gr.skip()
        job = latest_job(engine, transcription_id)
        if job is not None and job.status in (JobStatus.PENDING, JobStatus.IN_PROGRESS):
            skipped = [gr.skip()] * len(outputs)
            skipped[outputs.index(status)] = gr.HTML(value=job_card_html(engine, job), visible=True)
            return tuple(skipped)
        return render_view(engine, transcription_id).as_tuple()

    ctx.timer.tick(poll, inputs=[ctx.current_id, watch], outputs=outputs, show_progress="hidden", queue=False,
                   api_visibility="private")
    ctx.customer_links.append(header)
    return chain
