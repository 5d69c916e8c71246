"""Voice profiles: remember a speaker's voice under a name, recognise it in every new audio conversation.

Each audio conversation's speakers keep their voiceprints (:mod:`heard_local.pipeline.voiceprints`, one
embedding space whichever diarizer ran). A profile is the mean of the voiceprints remembered under its
name; a new conversation's speaker whose voice matches one clearly (:func:`match_speakers`) gets the
profile's name and role, with the profile's id and the similarity beside them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from heard_local.domain import SpeakerInfo
from heard_local.domain.voice import VoiceAppearance, VoiceEnrolment, Voiceprint, VoiceProfile
from heard_local.errors import ValidationError
from heard_local.pipeline.voiceprints import MATCH_THRESHOLD, MIN_SPEECH_SECONDS, match_speakers
from heard_local.store import Store

log = logging.getLogger(__name__)

AGENT, CUSTOMER = "Agent", "Customer"


class VoiceProfiles:
    def __init__(self, store: Store):
        self.store = store

    def recognise(self, prints: Mapping[str, Voiceprint],
                  speakers: dict[str, SpeakerInfo]) -> dict[str, SpeakerInfo]:
        """``speakers`` with every clearly recognised voice named after its profile. A recognised agent on
        a two-person call makes the other person the customer (as the channels do on a stereo call)."""
        if not prints:
            return speakers
        matches = match_speakers({s: p.vector for s, p in prints.items()}, self.store.voices.profile_vectors())
        profiles = self.store.voices.profiles_named(sorted({m.voice_id for m in matches.values()}))
        named = dict(speakers)
        for speaker, match in matches.items():
            profile = profiles.get(match.voice_id)
            if profile is None or speaker not in named:
                continue
            named[speaker] = SpeakerInfo(role=profile.role or named[speaker].role, name=profile.name,
                                         voice_id=profile.voice_id, similarity=match.similarity)
        agents = [s for s, info in named.items() if info.role == AGENT]
        if len(named) == 2 and len(agents) == 1:
            other = next(s for s in named if s != agents[0])
            if named[other].role is None:
                named[other] = named[other].model_copy(update={"role": CUSTOMER})
        if matches:
            log.info("recognised voices: %s", {s: (m.voice_id, m.similarity) for s, m in matches.items()})
        return named

    def remember(self, enrolment: VoiceEnrolment) -> tuple[VoiceProfile, bool]:
        """Remember a speaker's voice (``POST /voices``); returns (profile, created). The speaker is named
        in that transcription too."""
        transcription = self.store.transcriptions.get(enrolment.transcription_id)  # 404 when unknown
        speakers = transcription.details.speakers if transcription.details else {}
        print_ = self.store.voices.voiceprint(enrolment.transcription_id, enrolment.speaker)
        if print_ is None:
            if enrolment.speaker not in speakers:
                raise ValidationError(f"Speaker {enrolment.speaker} does not occur in this transcription",
                                      field="speaker")
            raise ValidationError(
                f"Speaker {enrolment.speaker} has no voiceprint: a voice is kept only for audio conversations, "
                f"from at least {MIN_SPEECH_SECONDS:g} s of that speaker talking alone.", field="speaker")
        name = enrolment.name.strip()
        if not name:
            raise ValidationError("name must not be blank", field="name")
        role = enrolment.role.strip() if enrolment.role and enrolment.role.strip() else None
        profile, created = self.store.voices.remember(name=name, role=role, print_=print_,
                                                      transcription_id=enrolment.transcription_id,
                                                      speaker=enrolment.speaker)
        info = speakers.get(enrolment.speaker, SpeakerInfo())
        self.store.voices.label_speaker(enrolment.transcription_id, enrolment.speaker, SpeakerInfo(
            role=profile.role or info.role, name=profile.name, voice_id=profile.voice_id, similarity=1.0))
        return profile, created

    def profiles(self) -> list[VoiceProfile]:
        return self.store.voices.profiles()

    def get(self, voice_id: str) -> VoiceProfile:
        return self.store.voices.get(voice_id)

    def forget(self, voice_id: str) -> None:
        self.store.voices.delete(voice_id)

    def appearances(self, voice_id: str) -> list[VoiceAppearance]:
        """Every conversation where this voice speaks (also those before it was remembered)."""
        return self.store.voices.appearances(voice_id, MATCH_THRESHOLD)
