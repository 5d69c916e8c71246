"""The HTTP client's interface, served by an in-process engine.

The CLI (and notebooks when no server runs) use :class:`LocalClient` exactly like
:class:`heard_local.client.HeardClient`; both return the API's JSON shapes, so every caller is written
once and works with or without a running server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from heard_local.domain import TranscriptionGroup, TranscriptionStatus
from heard_local.domain.voice import VoiceEnrolment
from heard_local.engine import Engine
from heard_local.exports.fields_csv import to_csv
from heard_local.store import TranscriptionFilter


class LocalClient:
    def __init__(self, engine: Engine):
        self.engine = engine

    def close(self) -> None:
        self.engine.close()

    def ingest_transcript(self, transcript_text: str, *, metadata: dict[str, Any] | None = None,
                          configuration_id: str | None = None) -> dict[str, Any]:
        return self.engine.submit_transcript({"transcript_text": transcript_text, "metadata": metadata or {},
                                              "configuration_id": configuration_id}).to_api()

    def ingest_audio(self, path: Path | str, *, metadata: dict[str, Any] | None = None,
                     configuration_id: str | None = None) -> dict[str, Any]:
        path = Path(path)
        return self.engine.submit_audio_file(path, metadata=metadata or {}, configuration=configuration_id,
                                             original_name=path.name).to_api()

    def job(self, job_id: str) -> dict[str, Any]:
        return self.engine.job_view(job_id)

    def wait_for_job(self, job_id: str, *, timeout: float | None = None, poll: float = 0.2,
                     on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_progress is not None:
                on_progress(job)
            if job["status"] != "processing" or (deadline is not None and time.monotonic() >= deadline):
                return job
            self.engine.wait_for_job(job_id, timeout=poll)

    def transcriptions(self, **filters: Any) -> dict[str, Any]:
        limit = int(filters.pop("limit", 50))
        offset = int(filters.pop("offset", 0))
        if filters.get("status"):
            filters["status"] = TranscriptionStatus(filters["status"])
        if filters.get("group"):
            filters["group"] = TranscriptionGroup(filters["group"])
        page = self.engine.list_transcriptions(
            TranscriptionFilter(**{k: v for k, v in filters.items() if v is not None}), limit=limit, offset=offset)
        return {"transcriptions": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}

    def transcription(self, transcription_id: str, *, words: bool = False) -> dict[str, Any]:
        return self.engine.get_transcription(transcription_id).to_api(words=words)

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
        self.engine.delete_transcription(transcription_id)
        return {"transcription_id": transcription_id, "deleted": True}

    def set_group(self, transcription_id: str, group: str | None) -> dict[str, Any]:
        transcription = self.engine.set_group(transcription_id, group)
        return {"transcription_id": transcription_id,
                "group": transcription.group.value if transcription.group else None}

    def rename_speaker(self, transcription_id: str, speaker: str, name: str | None) -> dict[str, Any]:
        return self.engine.rename_speaker(transcription_id, speaker, name).to_api()

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
        ids: list[str] = []
        while True:
            page = self.transcriptions(status="COMPLETED", limit=1000, offset=len(ids))
            ids += [item["transcription_id"] for item in page["transcriptions"]]
            if not page["transcriptions"] or len(ids) >= page["total"]:
                return ids

    def fields_csv(self, configuration: str | None = None, *, layout: str = "wide", excel: bool = False) -> str:
        return to_csv(self.engine.export_fields(configuration), layout=layout, excel=excel)

    def refresh_parquet(self) -> dict[str, Any]:
        return self.engine.export_parquet()

    def export_parquet(self, directory: Path | str) -> dict[str, Any]:
        return self.engine.export_parquet(Path(directory), force=True)

    def reprocess(self, transcription_id: str) -> dict[str, Any]:
        job = self.engine.reprocess(transcription_id)
        return {"job_id": job.job_id, "status": job.status.api_status, "transcription_id": transcription_id}

    def configurations(self) -> list[dict[str, Any]]:
        return [c.to_api() for c in self.engine.list_configurations()]

    def configuration(self, configuration_id: str) -> dict[str, Any]:
        return self.engine.get_configuration(configuration_id).to_api()

    def create_configuration(self, **body: Any) -> dict[str, Any]:
        configuration, secret = self.engine.create_configuration(body)
        return {**configuration.to_api(), "webhook_secret": secret}

    def customers(self, **params: Any) -> dict[str, Any]:
        customers, total = self.engine.list_customers(**{k: v for k, v in params.items() if v is not None})
        return {"customers": [c.model_dump(mode="json") for c in customers], "total": total}

    def customer(self, customer_id: str) -> dict[str, Any]:
        customer = self.engine.get_customer(customer_id)
        return {**customer.model_dump(mode="json"),
                "conversations": self.engine.customer_conversations(customer_id).items}

    def status(self) -> dict[str, Any]:
        return {**self.engine.status(), "llm": self.engine.llm_health()}

    def create_key(self, name: str) -> dict[str, Any]:
        api_key, secret = self.engine.create_api_key(name)
        return {**api_key.model_dump(mode="json"), "key": secret}

    def list_keys(self) -> list[dict[str, Any]]:
        return [k.model_dump(mode="json") for k in self.engine.list_api_keys()]

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return self.engine.revoke_api_key(key_id).model_dump(mode="json")
