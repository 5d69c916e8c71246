"""Turning failures into messages a user can act on: never a stack trace in the browser."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from heard_local.errors import HeardError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

_TITLES = {
    "VALIDATION_ERROR": "Please check the form",
    "NOT_FOUND": "Not found",
    "CONFLICT": "Not possible right now",
    "UNSUPPORTED_FORMAT": "Unsupported file",
    "FILE_TOO_LARGE": "File too large",
}


def user_message(error: BaseException) -> tuple[str, str]:
    """(title, message) for any exception."""
    if isinstance(error, HeardError):
        return _TITLES.get(error.code, "Something went wrong"), error.message
    return "Something went wrong", (f"An unexpected error occurred ({type(error).__name__}). "
                                    "The server log has the details.")


def friendly(fn: F) -> F:
    """Wrap an event handler: an error becomes a readable toast and leaves the page as it was.

    Not ``gr.Error``: that would also stamp "Error" over every output of the event (a form the user
    still has to correct, among them).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not isinstance(exc, HeardError | gr.Error):
                log.exception("web UI action %s failed", getattr(fn, "__name__", fn))
            title, message = (exc.title, exc.message) if isinstance(exc, gr.Error) else user_message(exc)
            gr.Warning(message, title=title, duration=12)
            return gr.skip()

    return wrapper  # type: ignore[return-value]


def quiet(fn: F) -> F:
    """Wrap a background refresh (timers): a failure is logged and the view left as it was."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.warning("web UI refresh %s failed", getattr(fn, "__name__", fn), exc_info=True)
            return gr.skip()

    return wrapper  # type: ignore[return-value]
