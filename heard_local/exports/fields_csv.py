"""Extracted fields as CSV (RFC 4180: comma separated, CRLF line ends, quotes doubled).

Two layouts: ``wide`` (one row per conversation, one column per field: what a spreadsheet wants) and
``long`` (one row per conversation and field, with the evidence quotes: what a database load wants).
Values are written as text: strings as they are, numbers and booleans as JSON writes them
(``12.5``, ``true``), arrays and objects as JSON; a missing value is an empty cell.

``excel=True`` prepares the file for spreadsheet programs: a UTF-8 byte-order mark (so accents and
other non-ASCII text open correctly) and text cells that would start a formula (``= + - @``) are
prefixed with ``'`` -- a transcript is what a caller said, and must never run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from heard_local.errors import ValidationError
from heard_local.store.export import FieldExport, FieldRecord

Layout = Literal["wide", "long"]
LAYOUTS = ("wide", "long")
MEDIA_TYPE = "text/csv; charset=utf-8"

_RECORD_COLUMNS = ["transcription_id", "name", "configuration_tag", "conversation_at", "customer_id",
                   "language", "duration", "llm_status"]
_LONG_COLUMNS = ["transcription_id", "name", "configuration_tag", "conversation_at", "field", "type", "value",
                 "evidence"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A field value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def _record_cells(record: FieldRecord) -> list[Any]:
    return [record.transcription_id, record.name, record.configuration_tag,
            record.conversation_at.isoformat().replace("+00:00", "Z") if record.conversation_at else None,
            record.customer_id, record.language, record.duration, record.llm_status]


def _safe(value: Any, excel: bool) -> str:
    text = cell(value)
    if excel and isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def to_csv(export: FieldExport, *, layout: str = "wide", excel: bool = False) -> str:
    if layout not in LAYOUTS:
        raise ValidationError(f"layout must be one of {', '.join(LAYOUTS)}", field="layout")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if layout == "wide":
        writer.writerow(_RECORD_COLUMNS + export.columns)
        for record in export.records:
            row = _record_cells(record) + [record.values.get(name) for name in export.columns]
            writer.writerow([_safe(value, excel) for value in row])
    else:
        writer.writerow(_LONG_COLUMNS)
        for record in export.records:
            for name in export.columns:
                if name not in record.values:
                    continue
                quotes = " | ".join(str(e.get("quote", "")) for e in record.evidence.get(name, []))
                row = [*_record_cells(record)[:4], name, record.types.get(name), record.values[name], quotes]
                writer.writerow([_safe(value, excel) for value in row])
    text = buffer.getvalue()
    return ("\ufeff" + text) if excel else text
