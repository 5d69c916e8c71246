"""Every error heard-local reports, each carrying the API's code and HTTP status.

The API, the UI, the CLI and the watcher all render these the same way: the contract's envelope
``{"error": {"code", "message", "details"}}``. Nothing here imports a web framework.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HeardError(Exception):
    """Base class. ``code`` and ``http_status`` follow the contract; ``retryable`` tells the job queue
    whether trying again could help (a bad file never gets better, a refused connection might)."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        if field is not None:
            self.details["field"] = field

    def to_envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def __str__(self) -> str:
        return self.message


class ValidationError(HeardError):
    code = "VALIDATION_ERROR"
    http_status = 400


class AuthError(HeardError):
    code = "AUTH_ERROR"
    http_status = 401


class FileTooLargeError(HeardError):
    code = "FILE_TOO_LARGE"
    http_status = 413


class UnsupportedFormatError(HeardError):
    code = "UNSUPPORTED_FORMAT"
    http_status = 415


class RateLimitedError(HeardError):
    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float, details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class NotFoundError(HeardError):
    code = "NOT_FOUND"
    http_status = 404


class ConflictError(HeardError):
    code = "CONFLICT"
    http_status = 409


class InternalError(HeardError):
    code = "INTERNAL_ERROR"
    http_status = 500


class TransientError(InternalError):
    """A failure that may pass (a model server restarting, a network hiccup): the queue retries it."""

    retryable = True


class DataDirLockedError(HeardError):
    """Another heard-local process owns the data directory (DuckDB allows one writer process)."""

    code = "CONFLICT"
    http_status = 409

    def __init__(self, data_dir: str, pid: int | None):
        who = f"process {pid}" if pid else "another process"
        super().__init__(
            f"The data directory {data_dir} is in use by heard-local ({who}). Stop that process first, "
            "or talk to it through its HTTP API (the CLI does this by itself when it can).",
            details={"data_dir": data_dir, "pid": pid},
        )
        self.data_dir = data_dir
        self.pid = pid


ERROR_TYPES: tuple[type[HeardError], ...] = (
    ValidationError,
    AuthError,
    FileTooLargeError,
    UnsupportedFormatError,
    RateLimitedError,
    NotFoundError,
    ConflictError,
    InternalError,
)

HTTP_STATUS_BY_CODE: dict[str, int] = {cls.code: cls.http_status for cls in ERROR_TYPES}
# The other way, for the framework's own HTTP errors; statuses the contract does not use get the code whose
# status is then sent instead (403 -> AUTH_ERROR and 401, 422 -> VALIDATION_ERROR and 400).
_CODE_BY_HTTP_STATUS: dict[int, str] = {cls.http_status: cls.code for cls in ERROR_TYPES} | {
    403: AuthError.code, 422: ValidationError.code}


def code_for_http_status(status: int) -> str:
    """The contract's code for an HTTP status (any other 5xx: INTERNAL_ERROR, any other 4xx: VALIDATION_ERROR)."""
    return _CODE_BY_HTTP_STATUS.get(status, InternalError.code if status >= 500 else ValidationError.code)


def error_from_code(code: str, message: str, details: dict[str, Any] | None = None) -> HeardError:
    """Rebuild an error received as an envelope (the CLI talking to a running server)."""
    for cls in ERROR_TYPES:
        if cls.code == code:
            if cls is RateLimitedError:
                return RateLimitedError(message, retry_after=float((details or {}).get("retry_after", 1)))
            return cls(message, details=details)
    return InternalError(message, details=details)


class LlmUnavailableError(TransientError):
    """The local LLM could not answer (Ollama not running, model not pulled, timed out). The
    transcription still completes; extraction and summary wait to be re-run."""


class ModelUnavailableError(TransientError):
    """A speech model could not be loaded (missing weights, no internet for a first download)."""


class LlmInvalidOutputError(LlmUnavailableError):
    """The local LLM answered, but not in the shape asked for, even after one retry (a model too small
    for the task, or one that ignores structured outputs). Like an outage, the work waits to be re-run."""
