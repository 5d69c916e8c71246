"""The FastAPI application: every endpoint under /api/v1 and, for the ingestion document's curl
examples, /v1 as well."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from heard_local import __version__
from heard_local.api.auth_gate import AuthBeforeBodyMiddleware
from heard_local.api.body_limit import BodyLimitMiddleware
from heard_local.api.dedicated_threads import DedicatedThreads
from heard_local.api.errors import install_error_handlers
from heard_local.api.openapi import install_schema
from heard_local.api.rate_limit import RateLimiter
from heard_local.api.routes import configurations, corrections, customers, ingest, system, transcriptions, voices
from heard_local.api.routes import exports as export_routes
from heard_local.api.security import KeyCache
from heard_local.api.uploads import remove_stale_partials
from heard_local.domain import AudioUrlIngest
from heard_local.engine import Engine

PREFIXES = ("/api/v1", "/v1")

log = logging.getLogger(__name__)


def routers() -> list[APIRouter]:
    return [ingest.router, configurations.router, transcriptions.router, corrections.router, customers.router,
            system.router, export_routes.router, voices.router]


def create_app(engine: Engine, *, admin_token: str | None = None,
               clock: Callable[[], float] = time.monotonic) -> FastAPI:
    """The API over ``engine``. ``clock`` (seconds) times the verified-key cache."""
    settings = engine.settings
    app = FastAPI(
        title="heard-local",
        version=__version__,
        description="Local conversation intelligence. Authenticate with the X-API-Key header "
        "(create a key with `heard-local keys create --name NAME`). Every endpoint is also served under "
        "/v1 (without /api). Errors answer {\"error\": {\"code\", \"message\", \"details\"}}.",
    )
    app.state.engine = engine
    app.state.admin_token = admin_token
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.state.key_cache = KeyCache(settings.auth_cache_seconds, clock=clock)
    # Calls that may wait long get threads of their own (dedicated_threads.py).
    app.state.narrative_threads = DedicatedThreads("analytics narratives", threads=2, max_waiting=8)
    app.state.idempotent_threads = DedicatedThreads("requests with an Idempotency-Key", threads=8, max_waiting=32)
    engine.keys.on_revoked(app.state.key_cache.forget)  # a revoked key stops working at once, from any door
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, json_limit=settings.max_request_body_bytes,
                       upload_limit=settings.max_upload_bytes, transcript_limit=settings.max_transcript_request_bytes,
                       idle_seconds=settings.upload_idle_timeout_seconds,
                       api_prefixes=tuple(prefix + "/" for prefix in PREFIXES))
    app.add_middleware(AuthBeforeBodyMiddleware, prefixes=PREFIXES)  # added last: runs first
    # Each router straight on the app (nesting costs a lookup per level on every request), under
    # /api/v1 and again under /v1, hidden from the schema so each operation is documented once.
    for prefix in PREFIXES:
        for router in routers():
            app.include_router(router, prefix=prefix, include_in_schema=prefix == PREFIXES[0])
    install_schema(app, extra_models=(AudioUrlIngest,))
    removed = remove_stale_partials(settings.media_dir)
    if removed:
        log.info("removed %d partial upload(s) left by an earlier run", removed)
    return app
