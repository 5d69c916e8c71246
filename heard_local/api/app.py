"""The FastAPI application: every endpoint under /api/v1 and, for the ingestion document's curl
examples, /v1 as well."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from heard_local import __version__
from heard_local.api.errors import install_error_handlers
from heard_local.api.routes import configurations, customers, ingest, system, transcriptions
from heard_local.engine import Engine

PREFIXES = ("/api/v1", "/v1")


def build_router() -> APIRouter:
    router = APIRouter()
    for module in (ingest, configurations, transcriptions, customers, system):
        router.include_router(module.router)
    return router


def create_app(engine: Engine, *, admin_token: str | None = None) -> FastAPI:
    app = FastAPI(
        title="heard-local",
        version=__version__,
        description="Local conversation intelligence. Authenticate with the X-API-Key header "
        "(create a key with `heard-local keys create --name NAME`).",
    )
    app.state.engine = engine
    app.state.admin_token = admin_token
    install_error_handlers(app)
    router = build_router()
    app.include_router(router, prefix=PREFIXES[0])
    # The same routes under /v1, hidden from the schema so each operation is documented once.
    app.include_router(router, prefix=PREFIXES[1], include_in_schema=False)
    return app
