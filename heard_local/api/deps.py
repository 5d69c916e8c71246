"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security

from heard_local.api.security import Caller, api_key_header, authenticate
from heard_local.engine import Engine


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_caller(request: Request, key: Annotated[str | None, Security(api_key_header)] = None) -> Caller:
    return authenticate(request, key)


EngineDep = Annotated[Engine, Depends(get_engine)]
CallerDep = Annotated[Caller, Depends(get_caller)]
