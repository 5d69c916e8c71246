"""The UI's own HTTP routes: a transcription's recording (for the audio player, with range requests so
seeking works) and its downloads. Looked up by transcription id; a path never comes from the request."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response

from heard_local.engine import Engine
from heard_local.errors import HeardError
from heard_local.exports.transcript_formats import FORMATS, MEDIA_TYPES, render
from heard_local.ui.transcript_html import display_name

MEDIA_PREFIX = "/ui/media"
EXPORT_PREFIX = "/ui/export"
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "m4a": "audio/mp4",
                "webm": "audio/webm", "ogg": "audio/ogg", "aac": "audio/aac", "amr": "audio/amr",
                "wma": "audio/x-ms-wma", "aiff": "audio/aiff", "caf": "audio/x-caf", "3gp": "audio/3gpp",
                "au": "audio/basic", "ac3": "audio/ac3", "wv": "audio/x-wavpack"}


def _not_found(message: str = "Not found") -> JSONResponse:
    return JSONResponse({"error": {"code": "NOT_FOUND", "message": message, "details": {}}}, status_code=404)


def safe_filename(name: str) -> str:
    cleaned = re.sub(r"[^\w\-. ]+", "_", name, flags=re.UNICODE).strip(" ._")
    return (cleaned or "transcript")[:120]


def content_disposition(name: str, fmt: str) -> str:
    """An attachment header with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    filename = f"{safe_filename(name)}.{fmt}"
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def media_file(engine: Engine, transcription_id: str) -> Path | None:
    """The transcription's stored recording, only when it lies in the data directory's media store."""
    try:
        media = engine.transcriptions.media_path(transcription_id)
    except HeardError:
        return None
    if media is None:
        return None
    store = engine.settings.media_dir.resolve()
    resolved = media.resolve()
    if not resolved.is_relative_to(store) or not resolved.is_file():
        return None
    return resolved


def install_routes(app: FastAPI, engine: Engine) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get(MEDIA_PREFIX + "/{transcription_id}")
    def media(transcription_id: str) -> Response:
        path = media_file(engine, transcription_id)
        if path is None:
            return _not_found("This conversation has no recording.")
        media_type = _AUDIO_TYPES.get(path.suffix.lstrip(".").lower()) or mimetypes.guess_type(path.name)[0]
        return FileResponse(path, media_type=media_type or "application/octet-stream",
                            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
                            content_disposition_type="inline")

    @router.get(EXPORT_PREFIX + "/{transcription_id}.{fmt}")
    def export(transcription_id: str, fmt: str) -> Response:
        if fmt not in FORMATS:
            return _not_found(f"Unknown format; use one of {', '.join(FORMATS)}")
        try:
            transcription = engine.transcriptions.get(transcription_id)
        except HeardError as exc:
            return _not_found(exc.message)
        body = render(transcription, fmt)
        return Response(body, media_type=MEDIA_TYPES[fmt],
                        headers={"Content-Disposition": content_disposition(display_name(transcription), fmt),
                                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    app.include_router(router)
