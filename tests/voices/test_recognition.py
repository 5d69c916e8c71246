"""Voices recognised across conversations, on the real weights: the agent of a harper-valley call,
remembered once, is named in an mp3 copy of the call, and the caller is not taken for her."""

from __future__ import annotations

import numpy as np

from heard_local.domain.voice import Voiceprint
from heard_local.engine.voices import VoiceProfiles
from heard_local.pipeline.voiceprints import MATCH_THRESHOLD, match_speakers
from tests.support.engine_internals import store_of
from tests.voices.conftest import Processed


def test_every_speaker_of_an_audio_call_keeps_a_voiceprint(call: Processed) -> None:
    voices = store_of(call.engine).voices
    for transcription in (call.original, call.reencoded):
        assert transcription.details is not None
        assert voices.speakers_with_voiceprints(transcription.transcription_id) == sorted(
            transcription.details.speakers)
        assert len(transcription.details.speakers) == 2
    print_ = voices.voiceprint(call.original.transcription_id, call.agent)
    assert print_ is not None and print_.vector.shape == (256,)
    assert abs(float(np.linalg.norm(print_.vector)) - 1.0) < 1e-4
    assert print_.speech_seconds >= 10


def test_remembering_names_the_speaker_in_its_own_conversation(call: Processed) -> None:
    speakers = call.engine.transcriptions.get(call.original.transcription_id).details.speakers  # type: ignore[union-attr]
    assert speakers[call.agent].name == "Jennifer"
    assert speakers[call.agent].voice_id == call.profile.voice_id
    assert call.profile.role == "Agent" and call.profile.source_speaker == call.agent


def test_the_remembered_agent_is_recognised_in_the_mp3_copy_and_the_caller_is_not(call: Processed) -> None:
    assert call.reencoded.details is not None
    speakers = call.reencoded.details.speakers
    recognised = {s: info for s, info in speakers.items() if info.voice_id}
    assert list(recognised) and len(recognised) == 1, speakers
    (speaker, info), = recognised.items()
    assert info.voice_id == call.profile.voice_id and info.name == "Jennifer"
    assert info.role == "Agent"  # no agent_name given: the role comes from the profile
    assert info.similarity is not None and info.similarity >= MATCH_THRESHOLD + 0.05
    # It is the agent's own voice: the same speaker as in the original by what she says.
    other = next(s for s in speakers if s != speaker)
    assert speakers[other].name is None and speakers[other].voice_id is None
    assert speakers[other].role == "Customer"  # a recognised agent on a two-person call
    agent_words = " ".join(s.text for s in call.original.details.conversation.segments  # type: ignore[union-attr]
                           if s.speaker == call.agent).lower()
    copy_words = " ".join(s.text for s in call.reencoded.details.conversation.segments if s.speaker == speaker)
    shared = set(agent_words.split()) & set(copy_words.lower().split())
    assert len(shared) >= 5


def test_the_caller_scores_well_below_the_agents_profile(call: Processed) -> None:
    voices = store_of(call.engine).voices
    profile = voices.profile_vectors()[call.profile.voice_id]
    caller = next(s for s in voices.speakers_with_voiceprints(call.original.transcription_id) if s != call.agent)
    caller_print = voices.voiceprint(call.original.transcription_id, caller)
    assert caller_print is not None
    assert float(np.dot(profile, caller_print.vector)) < MATCH_THRESHOLD


def test_the_profile_lists_both_conversations_with_their_similarity(call: Processed) -> None:
    found = {a.transcription_id: a for a in call.engine.voices.appearances(call.profile.voice_id)}
    assert set(found) >= {call.original.transcription_id, call.reencoded.transcription_id}
    assert found[call.original.transcription_id].speaker == call.agent
    assert found[call.original.transcription_id].similarity > 0.99  # the profile is this very voiceprint
    assert found[call.reencoded.transcription_id].similarity >= MATCH_THRESHOLD


def test_a_profile_two_speakers_match_equally_names_neither() -> None:
    voice = np.ones(4, np.float32) / 2
    near = voice + np.array([0.01, -0.01, 0, 0], np.float32)
    near /= np.linalg.norm(near)
    assert match_speakers({"SPEAKER_00": voice, "SPEAKER_01": near}, {"v1": voice}) == {}
    assert set(match_speakers({"SPEAKER_00": voice}, {"v1": voice})) == {"SPEAKER_00"}


def test_a_speaker_between_two_close_profiles_is_left_unnamed() -> None:
    a = np.array([1, 0, 0, 0], np.float32)
    b = np.array([0.995, 0.0999, 0, 0], np.float32)
    assert match_speakers({"SPEAKER_00": a}, {"va": a, "vb": b / np.linalg.norm(b)}) == {}


def test_recognising_without_profiles_keeps_the_speakers(call: Processed) -> None:
    from heard_local.domain import SpeakerInfo

    speakers = {"SPEAKER_00": SpeakerInfo(role="Agent")}
    prints = {"SPEAKER_00": Voiceprint(vector=np.ones(256, np.float32) / 16, speech_seconds=5.0)}
    assert VoiceProfiles(store_of(call.engine)).recognise({}, speakers) == speakers
    assert VoiceProfiles(store_of(call.engine)).recognise(prints, speakers)["SPEAKER_00"].voice_id is None
