"""The web UI's side of voice profiles, on the processed call: "Remember this voice" beside renaming,
the Voices list, and a recognised speaker shown under the profile's name."""

from __future__ import annotations

import pytest

from heard_local.errors import ValidationError
from heard_local.ui.tabs.voices import remember_voice, render_voices, voice_choices
from heard_local.ui.transcript_html import render_conversation, render_speakers
from tests.voices.conftest import Processed


def test_the_transcript_shows_a_recognised_speaker_by_name(call: Processed) -> None:
    transcription = call.engine.transcriptions.get(call.reencoded.transcription_id)
    speaker = next(s for s, i in transcription.details.speakers.items()  # type: ignore[union-attr]
                   if i.voice_id == call.profile.voice_id)
    assert transcription.speaker_label(speaker) == "Jennifer"
    panel = render_speakers(transcription)
    assert "Jennifer" in panel and "recognised voice" in panel
    assert "Jennifer" in render_conversation(transcription, has_media=False)


def test_remember_this_voice_needs_a_speaker_and_a_name(call: Processed) -> None:
    tid = call.original.transcription_id
    with pytest.raises(ValidationError, match="Pick the speaker"):
        remember_voice(call.engine, tid, None, "Someone")
    caller = next(s for s in call.original.details.speakers if s != call.agent)  # type: ignore[union-attr]
    assert call.engine.transcriptions.get(tid).details.speakers[caller].name is None  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="name"):
        remember_voice(call.engine, tid, caller, "  ")
    # The agent already has a name (Jennifer): remembering again without typing one adds to that profile.
    message = remember_voice(call.engine, tid, call.agent, "")
    assert "Jennifer" in message and call.engine.voices.get(call.profile.voice_id).samples >= 2


def test_the_voices_list_shows_names_escaped_and_offers_each_for_deletion(call: Processed) -> None:
    voices = call.engine.voices.profiles()
    listing = render_voices(voices)
    assert "Jennifer" in listing and call.profile.voice_id in listing
    assert (("Jennifer (Agent)", call.profile.voice_id) in voice_choices(voices))
    assert "No voices remembered yet" in render_voices([])
    evil = voices[0].model_copy(update={"name": "<script>x</script>"})
    assert "<script>x" not in render_voices([evil])
