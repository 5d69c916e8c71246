"""Health, status and API-key management (the latter for the local admin only)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from heard_local import __version__
from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.errors import envelope
from heard_local.api.openapi import errors
from heard_local.api.security import require_admin
from heard_local.domain import ApiKey
from heard_local.views import KeyCreated, KeyList, StatusView

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"], responses=errors(404))


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


@router.get("/health", summary="Liveness and a read of the database (no key needed); 503 when it fails",
            responses={503: {"description": "The database cannot be read"}})
async def health(engine: EngineDep) -> Any:
    try:
        # on a worker thread: a read can wait for a checkpoint, and the event loop must not
        await run_in_threadpool(engine.check_store)
    except Exception as exc:
        log.error("health check: the database cannot be read", exc_info=exc)
        return JSONResponse(envelope("INTERNAL_ERROR", f"The database cannot be read ({type(exc).__name__}: {exc}). "
                                     "Restart heard-local; if it persists, see its log."), status_code=503)
    return {"status": "ok", "version": __version__, "database": "ok"}


@router.get("/status", summary="Queue, workers, models and the LLM (Ollama)")
def status(engine: EngineDep, _caller: CallerDep) -> StatusView:
    return StatusView.of(engine.status(), engine.llm_health())


@router.post("/keys", status_code=201, summary="Create an API key (admin; the key is shown once)")
def create_key(body: KeyCreate, engine: EngineDep, caller: CallerDep) -> KeyCreated:
    require_admin(caller)
    api_key, secret = engine.keys.create(body.name)
    return KeyCreated.of(api_key, secret)


@router.get("/keys", summary="List API keys (admin)")
def list_keys(engine: EngineDep, caller: CallerDep) -> KeyList:
    require_admin(caller)
    return KeyList(keys=engine.keys.list())


@router.delete("/keys/{key_id}", summary="Revoke an API key (admin)")
def revoke_key(key_id: str, request: Request, engine: EngineDep, caller: CallerDep) -> ApiKey:
    require_admin(caller)
    revoked = engine.keys.revoke(key_id)
    request.app.state.key_cache.forget(revoked.key_id)
    return revoked
