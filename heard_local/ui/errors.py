"""Turning failures into messages a user can act on: never a stack trace in the browser."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from heard_local.errors import HeardError, ValidationError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

_TITLES = {
    "VALIDATION_ERROR": "Please check the form",
    "NOT_FOUND": "Not found",
    "CONFLICT": "Not possible right now",
    "UNSUPPORTED_FORMAT": "Unsupported file",
    "FILE_TOO_LARGE": "File too large",
}


_INDEXED_FIELD = re.compile(r"^([a-z_]+)\.(\d+)\.([a-z_]+): ")
_FIELD = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): ")


def readable_field_path(message: str) -> str:
    """``extraction_fields.0.name: …`` -> ``Extraction field 1, name: …``; ``webhooks.success_url: …`` ->
    ``Webhooks success url: …`` (the API's field paths, said the way the form labels them)."""
    indexed = _INDEXED_FIELD.match(message)
    if indexed:
        group, index, field = indexed.groups()
        label = group.replace("_", " ").rstrip("s").capitalize()
        return f"{label} {int(index) + 1}, {field.replace('_', ' ')}: {message[indexed.end():]}"
    plain = _FIELD.match(message)
    if plain:
        return f"{plain.group(1).replace('.', ' ').replace('_', ' ').capitalize()}: {message[plain.end():]}"
    return message


def user_message(error: BaseException) -> tuple[str, str]:
    """(title, message) for any exception."""
    if isinstance(error, ValidationError):
        return _TITLES[error.code], readable_field_path(error.message)
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
