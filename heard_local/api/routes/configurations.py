"""Configurations CRUD and the analytics report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.openapi import errors
from heard_local.domain import ConfigurationInput, ConfigurationUpdate
from heard_local.views import (
    ConfigurationCreated,
    ConfigurationDeleted,
    ConfigurationList,
    ConfigurationReprocessed,
    ConfigurationView,
)

router = APIRouter(tags=["configurations"], responses=errors(404, 409))


@router.get("/configurations", summary="List configurations")
def list_configurations(engine: EngineDep, _caller: CallerDep) -> ConfigurationList:
    return ConfigurationList.of(engine.configurations.list())


@router.post("/configurations", status_code=201, summary="Create a configuration (max 20)")
def create_configuration(body: ConfigurationInput, engine: EngineDep, _caller: CallerDep) -> ConfigurationCreated:
    configuration, secret = engine.configurations.create(body)
    # The signing secret for this configuration's webhooks is shown once, here.
    return ConfigurationCreated.created(configuration, secret)


@router.get("/configurations/{configuration_id}", summary="Get a configuration")
def get_configuration(configuration_id: str, engine: EngineDep, _caller: CallerDep) -> ConfigurationView:
    return ConfigurationView.of(engine.configurations.get(configuration_id))


@router.put("/configurations/{configuration_id}", summary="Update a configuration")
def put_configuration(configuration_id: str, body: ConfigurationUpdate, engine: EngineDep,
                      _caller: CallerDep) -> ConfigurationView:
    return ConfigurationView.of(engine.configurations.update(configuration_id, body))


@router.patch("/configurations/{configuration_id}", summary="Update some fields of a configuration")
def patch_configuration(configuration_id: str, body: ConfigurationUpdate, engine: EngineDep,
                        _caller: CallerDep) -> ConfigurationView:
    return ConfigurationView.of(engine.configurations.update(configuration_id, body))


@router.delete("/configurations/{configuration_id}", summary="Delete a configuration")
def delete_configuration(configuration_id: str, engine: EngineDep, _caller: CallerDep) -> ConfigurationDeleted:
    engine.configurations.delete(configuration_id)
    return ConfigurationDeleted(configuration_id=configuration_id)


@router.post("/configurations/{configuration_id}/reprocess",
             summary="Re-run extraction and summary for every completed transcription of a configuration")
def reprocess_configuration(configuration_id: str, engine: EngineDep, _caller: CallerDep) -> ConfigurationReprocessed:
    jobs = engine.jobs.reprocess_configuration(configuration_id)
    return ConfigurationReprocessed(configuration_id=configuration_id, job_ids=[j.job_id for j in jobs])


@router.get("/configurations/{configuration_id}/analytics",
            summary="Executive and Qualitative Analysis Report for a configuration")
async def analytics(configuration_id: str, request: Request, engine: EngineDep, _caller: CallerDep,
                    narrative: bool = Query(True, description="Ask the LLM for the executive narrative (may take "
                                            "as long as the Ollama timeout); false returns only the computed numbers")
                    ) -> dict[str, Any]:
    if not narrative:
        return await run_in_threadpool(engine.analytics.report, configuration_id, include_narrative=False)
    # Waiting for Ollama happens on threads of its own, never the pool the other routes share.
    return await request.app.state.narrative_threads.run(engine.analytics.report, configuration_id,
                                                         include_narrative=True)
