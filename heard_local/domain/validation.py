"""Turning pydantic's validation errors into heard-local's VALIDATION_ERROR with ``details.field``."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

import pydantic

from heard_local.errors import ValidationError

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def field_path(loc: Sequence[Any], *, skip: Collection[str] = ()) -> str:
    """``("metadata", "channel")`` -> ``"metadata.channel"``, leaving out the parts in ``skip``."""
    return ".".join(str(part) for part in loc if part not in skip)


def validation_error(errors: Sequence[Mapping[str, Any]], *, prefix: str = "", skip: Collection[str] = (),
                     fallback: str = "Invalid input") -> ValidationError:
    """heard-local's VALIDATION_ERROR for pydantic's error list: the first error in the message and
    ``details.field``, every error in ``details.errors``. ``skip`` drops location parts that are no
    field (FastAPI's ``body``, ``query``…)."""
    first: Mapping[str, Any] = errors[0] if errors else {"loc": (), "msg": fallback}
    path = field_path(tuple(first.get("loc", ())), skip=skip)
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    # pydantic prefixes custom errors with "Value error, "; the user does not need that.
    message = str(first.get("msg", fallback)).removeprefix("Value error, ")
    return ValidationError(
        f"{path}: {message}" if path else message,
        field=path or None,
        details={"errors": [
            {"field": field_path(tuple(e.get("loc", ())), skip=skip), "message": str(e.get("msg", ""))}
            for e in errors
        ]},
    )


def validation_error_from_pydantic(exc: pydantic.ValidationError, *, prefix: str = "") -> ValidationError:
    return validation_error(exc.errors(), prefix=prefix)


def parse(model: type[ModelT], data: Any, *, prefix: str = "") -> ModelT:
    """Validate ``data`` as ``model``; raise heard-local's ValidationError naming the faulty field."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_from_pydantic(exc, prefix=prefix) from None
