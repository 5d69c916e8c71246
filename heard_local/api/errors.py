"""One place that turns every failure into the contract's error envelope.

``{"error": {"code", "message", "details"}}`` with ``details.field`` where a field is at fault; never
a stack trace.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from heard_local.errors import HTTP_STATUS_BY_CODE, HeardError, RateLimitedError

log = logging.getLogger(__name__)

# Framework HTTP errors -> the contract's code (whose own status is then used: 403 -> 401, 422 -> 400).
_HTTP_CODES = {400: "VALIDATION_ERROR", 401: "AUTH_ERROR", 403: "AUTH_ERROR", 404: "NOT_FOUND", 409: "CONFLICT",
               413: "FILE_TOO_LARGE", 415: "UNSUPPORTED_FORMAT", 422: "VALIDATION_ERROR", 429: "RATE_LIMITED"}


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: HeardError) -> JSONResponse:
    headers = {}
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return JSONResponse(error.to_envelope(), status_code=error.http_status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    # ("body", "metadata", "channel") -> "metadata.channel"; ("query", "limit") -> "limit"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HeardError)
    async def heard_error(_request: Request, exc: HeardError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "Invalid request"}
        field = _field_of(tuple(first.get("loc", ())))
        message = str(first.get("msg", "Invalid request")).removeprefix("Value error, ")
        details: dict[str, Any] = {"errors": [{"field": _field_of(tuple(e.get("loc", ()))),
                                                "message": str(e.get("msg", ""))} for e in errors]}
        if field:
            details["field"] = field
        return JSONResponse(envelope("VALIDATION_ERROR", f"{field}: {message}" if field else message, details),
                            status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 405:
            # Only the contract's codes and statuses: a method a path does not have is no endpoint.
            allowed = headers.get("Allow") or headers.get("allow") or ""
            return JSONResponse(envelope("NOT_FOUND", f"No endpoint {request.method} {request.url.path}; "
                                         f"allowed: {allowed}", {"allowed": allowed}), status_code=404,
                                headers=headers)
        code = _HTTP_CODES.get(exc.status_code, "INTERNAL_ERROR" if exc.status_code >= 500 else "VALIDATION_ERROR")
        if exc.status_code == 404 and message == "Not Found":
            message = "No such endpoint"
        status = 500 if code == "INTERNAL_ERROR" else HTTP_STATUS_BY_CODE[code]
        return JSONResponse(envelope(code, message), status_code=status, headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(envelope("INTERNAL_ERROR", "Internal error; see the heard-local log for details."),
                            status_code=500)
