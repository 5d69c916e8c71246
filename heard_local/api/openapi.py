"""What the OpenAPI schema says about errors: every operation lists the statuses it can answer with
the contract's envelope, so generated clients (and schemathesis) know them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="VALIDATION_ERROR, AUTH_ERROR, FILE_TOO_LARGE, UNSUPPORTED_FORMAT, "
                      "RATE_LIMITED, NOT_FOUND, CONFLICT or INTERNAL_ERROR")
    message: str
    details: dict[str, Any] = Field(default_factory=dict, description="details.field names the faulty field")


class ErrorBody(BaseModel):
    error: ErrorDetail


_MEANINGS = {
    400: "VALIDATION_ERROR: invalid input (bad format, missing field)",
    401: "AUTH_ERROR: missing, invalid or revoked API key",
    404: "NOT_FOUND",
    409: "CONFLICT (e.g. a 21st configuration, or an Idempotency-Key whose first request still runs)",
    413: "FILE_TOO_LARGE: the audio (or request body) exceeds the maximum size",
    415: "UNSUPPORTED_FORMAT: audio format not recognized",
    422: "VALIDATION_ERROR: the Idempotency-Key was used with a different request",
    429: "RATE_LIMITED: too many requests; see Retry-After",
    500: "INTERNAL_ERROR",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}

# Pagination offsets stop here (DuckDB takes 64-bit signed offsets; nobody pages this far).
MAX_OFFSET = 1_000_000_000

# Statuses any authenticated operation can answer.
COMMON = (400, 401, 413, 429, 500)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the common statuses plus ``statuses``."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*COMMON, *statuses}):
        entry: dict[str, Any] = {"model": ErrorBody, "description": _MEANINGS[status]}
        if status == 429:
            entry["headers"] = _RETRY_AFTER
        out[status] = entry
    return out


def install_schema(app: FastAPI, extra_models: tuple[type[BaseModel], ...]) -> None:
    """Publish the schema with ``extra_models`` among its components (bodies that a route parses by
    hand, such as the audio_url JSON of the dual-content /ingest/audio) and the X-API-Key scheme."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in extra_models:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in model_schema.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault(model.__name__, model_schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
