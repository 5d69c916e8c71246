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

from heard_local.domain.validation import validation_error
from heard_local.errors import HTTP_STATUS_BY_CODE, HeardError, RateLimitedError, code_for_http_status

log = logging.getLogger(__name__)

# Where FastAPI says a request's error is, which is no part of the field's name.
_REQUEST_PARTS = ("body", "query", "path", "header", "form")


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: HeardError) -> JSONResponse:
    headers = {}
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return JSONResponse(error.to_envelope(), status_code=error.http_status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HeardError)
    async def heard_error(_request: Request, exc: HeardError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # ("body", "metadata", "channel") -> "metadata.channel"; ("query", "limit") -> "limit"
        return error_response(validation_error(exc.errors(), skip=_REQUEST_PARTS, fallback="Invalid request"))

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
        code = code_for_http_status(exc.status_code)
        if exc.status_code == 404 and message == "Not Found":
            message = "No such endpoint"
        status = 500 if code == "INTERNAL_ERROR" else HTTP_STATUS_BY_CODE[code]
        return JSONResponse(envelope(code, message), status_code=status, headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(envelope("INTERNAL_ERROR", "Internal error; see the heard-local log for details."),
                            status_code=500)
