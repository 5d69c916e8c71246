"""The ``Idempotency-Key`` header on the ingest endpoints: a retry returns the first response, the same
key with a different request answers 422, and nothing is stored when the request fails."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse

from heard_local.api.security import Caller
from heard_local.domain import Submission
from heard_local.engine import Engine
from heard_local.views import SubmissionView

MAX_KEY_LENGTH = 255
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH,
    description="Any unique string (a UUID). Retrying with the same key returns the first response instead "
    "of queueing the work again; reusing it for a different request answers 422.",
)]
REPLAYED_HEADER = "Idempotent-Replayed"


def request_hash(operation: str, *parts: Any) -> str:
    """A fingerprint of a request: the operation and its canonical JSON parts."""
    digest = hashlib.sha256(operation.encode())
    for part in parts:
        digest.update(b"\0" + json.dumps(part, sort_keys=True, separators=(",", ":"), default=str).encode())
    return digest.hexdigest()


def accepted(engine: Engine, caller: Caller, key: str | None, fingerprint: Callable[[], str],
             submit: Callable[[], Submission]) -> JSONResponse:
    """202 with the submission, run at most once per (API key, Idempotency-Key). ``fingerprint`` is
    only computed when a key was sent."""
    if key is None:
        return JSONResponse(SubmissionView.of(submit()).dump(), status_code=202)

    def action() -> tuple[int, dict[str, Any]]:
        return 202, SubmissionView.of(submit()).dump()

    stored = engine.ingest.run_idempotent(f"{caller.key_id}:{key}", fingerprint(), action)
    headers = {REPLAYED_HEADER: "true"} if stored.replayed else {}
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)
