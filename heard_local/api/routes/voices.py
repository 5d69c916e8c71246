"""Voice profiles: remember a speaker's voice under a name, list, forget, and where a voice speaks.

Answers never carry a voiceprint (biometric data stays in the data directory)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.openapi import errors
from heard_local.domain.voice import VoiceEnrolment

router = APIRouter(tags=["voices"], responses=errors(404))


@router.post("/voices", summary="Remember a speaker's voice under a name", status_code=201,
             responses={200: {"description": "The voice was added to the existing profile of that name"}})
def remember_voice(body: VoiceEnrolment, engine: EngineDep, _caller: CallerDep, response: Response) -> dict[str, Any]:
    profile, created = engine.voices.remember(body)
    if not created:
        response.status_code = 200  # the voice was added to the profile of that name
    return profile.model_dump(mode="json")


@router.get("/voices", summary="List voice profiles")
def list_voices(engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    voices = engine.voices.profiles()
    return {"voices": [v.model_dump(mode="json") for v in voices], "total": len(voices)}


@router.delete("/voices/{voice_id}", summary="Forget a voice profile (its voiceprint is deleted)")
def forget_voice(voice_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    engine.voices.forget(voice_id)
    return {"voice_id": voice_id, "deleted": True}


@router.get("/voices/{voice_id}/transcriptions", summary="Conversations where this voice speaks, with similarity")
def voice_transcriptions(voice_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    profile = engine.voices.get(voice_id)
    found = engine.voices.appearances(voice_id)
    return {"voice": profile.model_dump(mode="json"),
            "transcriptions": [a.model_dump(mode="json") for a in found], "total": len(found)}
