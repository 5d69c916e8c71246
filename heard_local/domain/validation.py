"""Turning pydantic's validation errors into heard-local's VALIDATION_ERROR with ``details.field``."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic

from heard_local.errors import ValidationError

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) if loc else ""


def validation_error_from_pydantic(exc: pydantic.ValidationError, *, prefix: str = "") -> ValidationError:
    first = exc.errors()[0]
    path = field_path(tuple(first.get("loc", ())))
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    message = first.get("msg", "Invalid input")
    # pydantic prefixes custom errors with "Value error, "; the user does not need that.
    message = message.removeprefix("Value error, ")
    return ValidationError(
        f"{path}: {message}" if path else message,
        field=path or None,
        details={"errors": [
            {"field": field_path(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in exc.errors()
        ]},
    )


def parse(model: type[ModelT], data: Any, *, prefix: str = "") -> ModelT:
    """Validate ``data`` as ``model``; raise heard-local's ValidationError naming the faulty field."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_from_pydantic(exc, prefix=prefix) from None
