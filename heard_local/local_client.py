"""The HTTP client's interface, served by an in-process engine.

The CLI (and notebooks when no server runs) use :class:`LocalClient` exactly like
:class:`heard_local.client.HeardClient`; both return the API's JSON shapes, so every caller is written
once and works with or without a running server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from heard_local.domain import TranscriptionFilter, TranscriptionGroup, TranscriptionStatus
from heard_local.domain.voice import VoiceEnrolment
from heard_local.engine import Engine
from heard_local.exports.fields_csv import to_csv
from heard_local.views import (
    ConfigurationCreated,
    ConfigurationView,
    CustomerPage,
    CustomerView,
    GroupView,
    KeyCreated,
    ReprocessView,
    StatusView,
    SubmissionView,
    TranscriptionDeleted,
    TranscriptionPage,
    TranscriptionView,
    completed_transcription_ids,
    poll_job,
)


class LocalClient:
    def __init__(self, engine: Engine):
        self.engine = engine

    def close(self) -> None:
        self.engine.close()

    def ingest_transcript(self, transcript_text: str, *, metadata: dict[str, Any] | None = None,
                          configuration_id: str | None = None) -> dict[str, Any]:
        return SubmissionView.of(self.engine.ingest.transcript({
            "transcript_text": transcript_text, "metadata": metadata or {}, "configuration_id": configuration_id,
        })).dump()

    def ingest_audio(self, path: Path | str, *, metadata: dict[str, Any] | None = None,
                     configuration_id: str | None = None) -> dict[str, Any]:
        path = Path(path)
        return SubmissionView.of(self.engine.ingest.audio_file(
            path, metadata=metadata or {}, configuration=configuration_id, original_name=path.name)).dump()

    def job(self, job_id: str) -> dict[str, Any]:
        return self.engine.jobs.view(job_id).dump()

    def wait_for_job(self, job_id: str, *, timeout: float | None = None, poll: float = 0.2,
                     on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        return poll_job(lambda: self.job(job_id), lambda: self.engine.jobs.wait(job_id, timeout=poll),
                        timeout=timeout, on_progress=on_progress)

    def transcriptions(self, **filters: Any) -> dict[str, Any]:
        limit = int(filters.pop("limit", 50))
        offset = int(filters.pop("offset", 0))
        if filters.get("status"):
            filters["status"] = TranscriptionStatus(filters["status"])
        if filters.get("group"):
            filters["group"] = TranscriptionGroup(filters["group"])
        page = self.engine.transcriptions.list(
            TranscriptionFilter(**{k: v for k, v in filters.items() if v is not None}), limit=limit, offset=offset)
        return TranscriptionPage.of(page).dump()

    def transcription(self, transcription_id: str, *, words: bool = False) -> dict[str, Any]:
        transcription = self.engine.transcriptions.get(transcription_id)
        return transcription.to_api(words=True) if words else TranscriptionView.of(transcription).dump()

    def correct_segment(self, transcription_id: str, index: int, *, text: str | None = None,
                        speaker: str | None = None) -> dict[str, Any]:
        return self.engine.corrections.edit(transcription_id, index, text=text, speaker=speaker).to_api(words=True)

    def merge_segment(self, transcription_id: str, index: int) -> dict[str, Any]:
        return self.engine.corrections.merge(transcription_id, index).to_api(words=True)

    def split_segment(self, transcription_id: str, index: int, word_index: int) -> dict[str, Any]:
        return self.engine.corrections.split(transcription_id, index, word_index).to_api(words=True)

    def undo_correction(self, transcription_id: str, *, all_corrections: bool = False) -> dict[str, Any]:
        return self.engine.corrections.undo(transcription_id, all_edits=all_corrections).to_api(words=True)

    def delete_transcription(self, transcription_id: str) -> dict[str, Any]:
        self.engine.transcriptions.delete(transcription_id)
        return TranscriptionDeleted(transcription_id=transcription_id).dump()

    def set_group(self, transcription_id: str, group: str | None) -> dict[str, Any]:
        return GroupView.of(self.engine.transcriptions.set_group(transcription_id, group)).dump()

    def rename_speaker(self, transcription_id: str, speaker: str, name: str | None) -> dict[str, Any]:
        return TranscriptionView.of(self.engine.transcriptions.rename_speaker(transcription_id, speaker, name)).dump()

    def remember_voice(self, transcription_id: str, speaker: str, name: str,
                       role: str | None = None) -> dict[str, Any]:
        enrolment = VoiceEnrolment(transcription_id=transcription_id, speaker=speaker, name=name, role=role)
        return self.engine.voices.remember(enrolment)[0].model_dump(mode="json")

    def voices(self) -> dict[str, Any]:
        voices = self.engine.voices.profiles()
        return {"voices": [v.model_dump(mode="json") for v in voices], "total": len(voices)}

    def delete_voice(self, voice_id: str) -> dict[str, Any]:
        self.engine.voices.forget(voice_id)
        return {"voice_id": voice_id, "deleted": True}

    def voice_transcriptions(self, voice_id: str) -> dict[str, Any]:
        profile, found = self.engine.voices.get(voice_id), self.engine.voices.appearances(voice_id)
        return {"voice": profile.model_dump(mode="json"),
                "transcriptions": [a.model_dump(mode="json") for a in found], "total": len(found)}

    def completed_transcription_ids(self) -> list[str]:
        return completed_transcription_ids(self.transcriptions)

    def fields_csv(self, configuration: str | None = None, *, layout: str = "wide", excel: bool = False) -> str:
        return to_csv(self.engine.exports.fields(configuration), layout=layout, excel=excel)

    def refresh_parquet(self) -> dict[str, Any]:
        return self.engine.exports.parquet()

    def export_parquet(self, directory: Path | str) -> dict[str, Any]:
        return self.engine.exports.parquet(Path(directory), force=True)

    def reprocess(self, transcription_id: str) -> dict[str, Any]:
        return ReprocessView.of(self.engine.jobs.reprocess(transcription_id)).dump()

    def configurations(self) -> list[dict[str, Any]]:
        return [ConfigurationView.of(c).dump() for c in self.engine.configurations.list()]

    def configuration(self, configuration_id: str) -> dict[str, Any]:
        return ConfigurationView.of(self.engine.configurations.get(configuration_id)).dump()

    def create_configuration(self, **body: Any) -> dict[str, Any]:
        configuration, secret = self.engine.configurations.create(body)
        return ConfigurationCreated.created(configuration, secret).dump()

    def customers(self, **params: Any) -> dict[str, Any]:
        given = {k: v for k, v in params.items() if v is not None}
        customers, total = self.engine.customers.list(**given)
        return CustomerPage(customers=customers, total=total, limit=given.get("limit", 100),
                            offset=given.get("offset", 0)).dump()

    def customer(self, customer_id: str) -> dict[str, Any]:
        customer = self.engine.customers.get(customer_id)
        return CustomerView.of(customer, self.engine.customers.conversations(customer_id)).dump()

    def status(self) -> dict[str, Any]:
        return StatusView.of(self.engine.status(), self.engine.llm_health()).dump()

    def create_key(self, name: str) -> dict[str, Any]:
        api_key, secret = self.engine.keys.create(name)
        return KeyCreated.of(api_key, secret).dump()

    def list_keys(self) -> list[dict[str, Any]]:
        return [k.model_dump(mode="json") for k in self.engine.keys.list()]

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return self.engine.keys.revoke(key_id).model_dump(mode="json")
