"""Voices: the voice profiles remembered from conversations ("Remember this voice" in the transcript
view), with how often each was recognised, and forgetting one (its voiceprint is deleted)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from heard_local.domain.voice import VoiceEnrolment, VoiceProfile
from heard_local.engine import Engine
from heard_local.errors import ValidationError
from heard_local.ui import scripts
from heard_local.ui.context import UiContext
from heard_local.ui.errors import friendly
from heard_local.ui.format import empty_state, esc, relative_time, table
from heard_local.ui.widgets import html

INTRO = ('<div class="hl-section-title">Voices</div><div class="hl-section-sub">Voices you asked heard-local '
         "to remember. Every new recording is compared with them, and a speaker whose voice clearly matches one "
         "is named after it. Voiceprints are biometric data: they stay in this computer's data directory, are "
         "never exported, and are deleted with their conversation or when you forget the voice.</div>")


def remember_voice(engine: Engine, transcription_id: str, speaker_id: str | None, typed_name: str | None) -> str:
    """Remember the picked speaker's voice under the typed name (else the name the speaker already has);
    returns what to tell the user."""
    if not speaker_id:
        raise ValidationError("Pick the speaker whose voice to remember first.")
    transcription = engine.transcriptions.get(transcription_id)
    info = transcription.details.speakers.get(speaker_id) if transcription.details else None
    name = (typed_name or "").strip() or (info.name if info and info.name else "")
    if not name:
        raise ValidationError("Type the speaker's name in “New name” first, then remember the voice.")
    if len(name) > 100:
        raise ValidationError("A speaker name can be at most 100 characters.")
    profile, created = engine.voices.remember(VoiceEnrolment(
        transcription_id=transcription_id, speaker=speaker_id, name=name, role=info.role if info else None))
    if created:
        return f"Voice remembered as {profile.name}: new recordings where this voice speaks will be named."
    return f"This voice was added to {profile.name} ({profile.samples} conversations)."


def render_voices(voices: list[VoiceProfile]) -> str:
    if not voices:
        return empty_state("No voices remembered yet", "Open a conversation, pick a speaker and press "
                                                       "“Remember this voice”.")
    rows = [f'<tr data-id="{esc(v.voice_id)}"><td><div class="hl-row-title">{esc(v.name)}</div>'
            f'<div class="hl-row-sub">{esc(v.role or "")}</div></td>'
            f'<td class="hl-num">{v.samples}</td><td class="hl-num">{v.speech_seconds:.0f} s</td>'
            f"<td>{esc(relative_time(v.updated_at or v.created_at))}</td></tr>" for v in voices]
    return table(["Voice", "Conversations remembered", "Speech", "Updated"], rows, elem_id="hl-voices-table",
                 numeric={1, 2})


def voice_choices(voices: list[VoiceProfile]) -> list[tuple[str, str]]:
    return [(f"{v.name} ({v.role})" if v.role else v.name, v.voice_id) for v in voices]


def build(ctx: UiContext, tab: gr.Tab) -> None:
    engine = ctx.engine
    html(INTRO)
    listing = html(elem_id="hl-voices")
    with gr.Row(equal_height=True, elem_classes="hl-toolbar"):
        pick = gr.Dropdown(label="Voice", choices=[], scale=4, elem_id="hl-voice-pick")
        forget = gr.Button("Forget this voice", variant="stop", scale=0, min_width=180, elem_id="hl-voice-forget")
        confirmed = gr.Textbox(visible=False)

    @friendly
    def refresh() -> tuple[Any, Any]:
        voices = engine.voices.profiles()
        choices = voice_choices(voices)
        return render_voices(voices), gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)

    @friendly
    def remove(voice_id: str | None, answer: str) -> tuple[Any, Any]:
        if answer != "yes":
            return gr.skip(), gr.skip()
        if not voice_id:
            raise ValidationError("Pick the voice to forget first.")
        engine.voices.forget(voice_id)
        gr.Info("Voice forgotten: its voiceprint is deleted.", duration=4)
        return refresh()

    tab.select(refresh, outputs=[listing, pick], show_progress="hidden", api_visibility="private")
    forget.click(remove, inputs=[pick, confirmed], outputs=[listing, pick], api_visibility="private",
                 js=scripts.confirm("Forget this voice? Its voiceprint is deleted, and the speakers it named lose "
                                    "that name."))
