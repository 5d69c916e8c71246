"""Ingestion: audio (an audio_url as JSON, or an audio_file uploaded as multipart) and text
transcripts; job status. Both ingest endpoints answer 202 once the job is stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.idempotency import IdempotencyKey, accepted, request_hash
from heard_local.api.openapi import errors
from heard_local.api.security import Caller
from heard_local.api.uploads import FILE_FIELD, receive_upload
from heard_local.domain import AudioUrlIngest, IngestMetadata, Submission, TranscriptIngest
from heard_local.domain.validation import parse
from heard_local.engine import Engine
from heard_local.errors import ValidationError
from heard_local.views import JobView, SubmissionView

router = APIRouter(tags=["ingestion"])

_ONE_OF = "One of audio_url (JSON) or audio_file (multipart/form-data) is required"
_ACCEPTED = {"description": "Accepted: the job is stored and queued", "content": {"application/json": {
    "example": {"job_id": "job_abc123", "status": "processing", "estimated_duration_seconds": 45},
    "schema": {"type": "object", "required": ["job_id", "status", "estimated_duration_seconds"], "properties": {
        "job_id": {"type": "string"},
        "status": {"type": "string", "enum": ["processing", "completed", "failed"]},
        "estimated_duration_seconds": {"type": "integer"},
        "transcription_id": {"type": "string"},
        "duplicate": {"type": "boolean", "description": "The same content was already submitted"},
    }},
}}}
_AUDIO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            # AudioUrlIngest is added to the components by heard_local.api.openapi.install_schema.
            "application/json": {"schema": {"$ref": "#/components/schemas/AudioUrlIngest"}},
            "multipart/form-data": {"schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {
                    FILE_FIELD: {"type": "string", "format": "binary",
                                 "description": "wav, mp3, flac, m4a, webm, ogg, aac, amr, wma, aiff, caf, "
                                                "3gp, au, ac3 or wv (recognised by content)"},
                    "metadata": {"type": "string", "description": "The metadata object as a JSON string"},
                    "configuration_id": {"type": "string"},
                },
            }},
        },
    }
}


@router.post("/ingest/transcript", status_code=202, responses={202: _ACCEPTED, **errors(404, 409, 422)},
             summary="Submit a text transcript (skip transcription)")
async def ingest_transcript(body: TranscriptIngest, request: Request, engine: EngineDep, caller: CallerDep,
                            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    if idempotency_key is None:
        # The common call, on the event loop: it awaits the batched write instead of holding a worker
        # thread, which is what lets 50 concurrent clients share one commit cheaply.
        submission = await engine.ingest.transcript_async(body)
        return JSONResponse(SubmissionView.of(submission).dump(), status_code=202)
    return await _accepted(request, engine, caller, idempotency_key,
                           lambda: request_hash("ingest/transcript", body.model_dump(mode="json")),
                           lambda: engine.ingest.transcript(body))


@router.post("/ingest/audio", status_code=202, responses={202: _ACCEPTED, **errors(404, 409, 415, 422)},
             openapi_extra=_AUDIO_BODY, summary="Submit an audio file (multipart audio_file) or an audio_url (JSON)")
async def ingest_audio(request: Request, engine: EngineDep, caller: CallerDep,
                       idempotency_key: IdempotencyKey = None) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        return await _ingest_upload(request, content_type, engine, caller, idempotency_key)
    if content_type.lower().startswith("application/json") or not content_type:
        return await _ingest_url(request, engine, caller, idempotency_key)
    raise ValidationError("Send JSON with audio_url, or multipart/form-data with audio_file", field="content-type")


async def _ingest_url(request: Request, engine: Engine, caller: Caller, key: str | None) -> JSONResponse:
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("The request body is not valid JSON", field="body") from None
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object", field="body")
    if FILE_FIELD in data:
        raise ValidationError("audio_file must be uploaded as multipart/form-data", field=FILE_FIELD)
    if "audio_url" not in data:
        raise ValidationError(_ONE_OF, field="audio_url")
    body = parse(AudioUrlIngest, data)
    return await _accepted(request, engine, caller, key,
                           lambda: request_hash("ingest/audio_url", body.model_dump(mode="json")),
                           lambda: engine.ingest.audio_url(body))


async def _ingest_upload(request: Request, content_type: str, engine: Engine, caller: Caller,
                         key: str | None) -> JSONResponse:
    upload = await receive_upload(content_type, request.stream(), engine.settings.media_dir,
                                  engine.settings.max_upload_bytes)
    try:
        if upload.path is None:
            raise ValidationError(_ONE_OF, field=FILE_FIELD)
        raw_metadata = upload.fields.get("metadata", "").strip()
        metadata: Any = {}
        if raw_metadata:
            try:
                metadata = json.loads(raw_metadata)
            except json.JSONDecodeError:
                raise ValidationError("metadata must be a JSON object", field="metadata") from None
            if not isinstance(metadata, dict):
                raise ValidationError("metadata must be a JSON object", field="metadata")
        meta = parse(IngestMetadata, metadata, prefix="metadata")
        configuration = upload.fields.get("configuration_id") or None
        path, filename, sha256 = upload.path, upload.filename, upload.sha256

        def fingerprint() -> str:
            return request_hash("ingest/audio_file", sha256, meta.model_dump(mode="json"), configuration)

        def submit() -> Any:
            return engine.ingest.audio_file(path, metadata=meta, configuration=configuration,
                                            original_name=filename, move=True, sha256=sha256)

        return await _accepted(request, engine, caller, key, fingerprint, submit)
    finally:
        upload.discard()  # moved into the media store on success; removed on any failure


async def _accepted(request: Request, engine: Engine, caller: Caller, key: str | None, fingerprint: Callable[[], str],
                    submit: Callable[[], Submission]) -> JSONResponse:
    """``accepted`` on a worker thread. A request with an Idempotency-Key may wait (up to 30 s) for the
    first one with that key to finish: those wait on threads of their own, never the shared pool."""
    if key is None:
        return await run_in_threadpool(accepted, engine, caller, key, fingerprint, submit)
    return await request.app.state.idempotent_threads.run(accepted, engine, caller, key, fingerprint, submit)


@router.get("/ingest/jobs/{job_id}", summary="Status of an ingestion job", responses=errors(404),
            response_model_exclude_unset=True)
def job_status(job_id: str, engine: EngineDep, _caller: CallerDep) -> JobView:
    return engine.jobs.view(job_id)


@router.get("/jobs/{job_id}", summary="Status of an ingestion job (alias)", responses=errors(404),
            response_model_exclude_unset=True)
def job_status_alias(job_id: str, engine: EngineDep, _caller: CallerDep) -> JobView:
    return engine.jobs.view(job_id)
