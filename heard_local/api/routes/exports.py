"""Exports: a transcription as JSON/TXT/SRT/WebVTT, fields as CSV, every table as Parquet."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.openapi import errors
from heard_local.engine.snapshots import TABLE_NAMES, read_manifest
from heard_local.errors import NotFoundError
from heard_local.exports.fields_csv import MEDIA_TYPE as CSV_MEDIA_TYPE
from heard_local.exports.fields_csv import to_csv
from heard_local.exports.transcript_formats import MEDIA_TYPES, export_filename, render, require_transcript

router = APIRouter(tags=["exports"], responses=errors(404))
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"


def _file_response(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a 200 that answers a file of one of ``media_types``."""
    return {200: {"description": "The file", "content": {t.split(";")[0]: {} for t in media_types}}}


def _disposition(filename: str, download: bool) -> dict[str, str]:
    """Content-Disposition with an ASCII fallback and the exact (RFC 5987) UTF-8 name."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    kind = "attachment" if download else "inline"
    return {"Content-Disposition": f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"}


@router.get("/exports/transcriptions/{transcription_id}", responses=_file_response(*MEDIA_TYPES.values()),
            summary="A transcription as a file: json (the API shape), txt, srt or vtt, with speaker names")
def export_transcription(
    transcription_id: str,
    engine: EngineDep,
    _caller: CallerDep,
    format: Literal["json", "txt", "srt", "vtt"] = "txt",
    download: Annotated[bool, Query(description="Content-Disposition: attachment instead of inline")] = True,
) -> Response:
    transcription = engine.transcriptions.get(transcription_id)
    require_transcript(transcription, format)
    body = render(transcription, format)
    return Response(body, media_type=MEDIA_TYPES[format],
                    headers=_disposition(export_filename(transcription, format), download))


@router.get("/exports/fields", responses=_file_response(CSV_MEDIA_TYPE),
            summary="Extracted fields of completed conversations as CSV")
def export_fields(
    engine: EngineDep,
    _caller: CallerDep,
    configuration: Annotated[str | None, Query(description="Configuration id or tag (default: all)")] = None,
    layout: Annotated[Literal["wide", "long"], Query(
        description="wide: one row per conversation; long: one row per conversation and field")] = "wide",
    excel: Annotated[bool, Query(description="Byte-order mark and formula-safe cells for spreadsheets")] = False,
) -> Response:
    text = to_csv(engine.exports.fields(configuration), layout=layout, excel=excel)
    return Response(text.encode("utf-8"), media_type=CSV_MEDIA_TYPE, headers=_disposition("fields.csv", True))


@router.get("/exports/parquet", summary="The Parquet snapshot's manifest (when, where, rows per table)")
def parquet_manifest(engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    manifest = read_manifest(engine.settings.export_dir)
    return manifest if manifest is not None else engine.exports.parquet()


@router.post("/exports/parquet", summary="Bring the Parquet snapshot up to date now (one file per table)")
def refresh_parquet(engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    return engine.exports.parquet()


@router.get("/exports/parquet/{table}", responses=_file_response(PARQUET_MEDIA_TYPE),
            summary="One table of the Parquet snapshot, as a file")
def parquet_table(table: str, engine: EngineDep, _caller: CallerDep) -> StreamingResponse:
    name = table.removesuffix(".parquet")
    if name not in TABLE_NAMES:
        raise NotFoundError(f"No exported table {table!r}; tables: {', '.join(TABLE_NAMES)}", field="table")
    path = engine.settings.export_dir / f"{name}.parquet"
    if not path.is_file():
        engine.exports.parquet()
    # Open before answering: the snapshot service may replace the file meanwhile, and this open
    # handle keeps serving the complete old one.
    handle = open(path, "rb")  # noqa: SIM115 - closed by _chunks when the response ends
    size = os.fstat(handle.fileno()).st_size
    headers = {**_disposition(f"{name}.parquet", True), "Content-Length": str(size)}
    return StreamingResponse(_chunks(handle), media_type=PARQUET_MEDIA_TYPE, headers=headers)


def _chunks(handle: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(size):
            yield chunk
