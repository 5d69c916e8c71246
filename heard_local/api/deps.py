"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool

from heard_local.api.auth_gate import caller_from_scope
from heard_local.api.security import Caller, api_key_header, authenticate, known_caller
from heard_local.engine import Engine


async def get_engine(request: Request) -> Engine:
    # async: FastAPI runs plain-def dependencies in a worker thread, a hop this does not need.
    return request.app.state.engine


async def get_caller(request: Request, key: Annotated[str | None, Security(api_key_header)] = None) -> Caller:
    caller = caller_from_scope(request)  # verified before the body was read (auth_gate.py)
    if caller is not None:
        return caller
    # Most calls come from a key verified moments ago: answered on the event loop, no thread hop.
    caller = known_caller(request, key)
    if caller is not None:
        return caller
    return await run_in_threadpool(authenticate, request, key)


EngineDep = Annotated[Engine, Depends(get_engine)]
CallerDep = Annotated[Caller, Depends(get_caller)]
