"""The API's response shapes, in one place: the FastAPI routes declare them as ``response_model``, and
:class:`heard_local.local_client.LocalClient` and the UI build the same dictionaries from them, so the
HTTP client (:mod:`heard_local.client`) and the in-process one answer alike.

Every view is built from domain objects with ``of(...)``; ``dump()`` is its JSON (what the API sends).
Keys that a shape has only sometimes (a job's ``queue_position`` and ``error``, a transcription's
``details`` and ``error``) are left unset when absent, and the routes send unset keys not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from heard_local.domain import ApiKey, Configuration, Customer, Job, Page, Submission, Transcription


class _Dumps:
    def dump(self: Any) -> dict[str, Any]:
        """The JSON the API sends (keys left unset are not sent)."""
        return dict(self.model_dump(mode="json", exclude_unset=True))


class View(_Dumps, BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- jobs and submissions -------------------------------------------------------------------------


class SubmissionView(View):
    job_id: str
    status: str
    estimated_duration_seconds: int
    transcription_id: str
    duplicate: bool

    @classmethod
    def of(cls, submission: Submission) -> SubmissionView:
        return cls(job_id=submission.job.job_id, status=submission.job.status.api_status,
                   estimated_duration_seconds=round(submission.estimated_duration_seconds),
                   transcription_id=submission.job.transcription_id, duplicate=submission.duplicate)


class ProgressView(View):
    step: str
    completed: float | None
    total: float | None
    fraction: float | None


class JobErrorView(View):
    code: str
    message: str | None


class JobView(View):
    job_id: str
    status: str  # processing / completed / failed
    state: str  # the queue's own state (PENDING, IN_PROGRESS, …)
    kind: str
    transcription_id: str
    configuration_id: str
    progress: ProgressView
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    estimated_duration_seconds: float | None
    queue_position: int | None = None  # only while the job waits in the queue
    error: JobErrorView | None = None  # only when the job FAILED

    @classmethod
    def of(cls, job: Job, *, queue_position: int | None = None) -> JobView:
        return cls.model_validate(job.to_api(queue_position=queue_position))


class ReprocessView(View):
    job_id: str
    status: str
    transcription_id: str

    @classmethod
    def of(cls, job: Job) -> ReprocessView:
        return cls(job_id=job.job_id, status=job.status.api_status, transcription_id=job.transcription_id)


# --- transcriptions -------------------------------------------------------------------------------


class TranscriptionView(_Dumps, Transcription):
    """The stored conversation: ``details`` only when COMPLETED, ``error`` only when FAILED."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def of(cls, transcription: Transcription) -> TranscriptionView:
        return cls.model_validate(transcription.to_api())


class TranscriptionListItem(View):
    transcription_id: str
    status: str
    configuration_id: str
    configuration_tag: str | None
    name: str | None
    group: str | None
    duration: float | None
    language: str | None
    num_speakers: int | None
    channel: str | None
    source: str | None
    customer_id: str | None
    created_at: str | None
    completed_at: str | None
    kind: str | None
    llm_status: str | None
    error_message: str | None


class TranscriptionPage(View):
    transcriptions: list[TranscriptionListItem]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page) -> TranscriptionPage:
        return cls.model_validate({"transcriptions": page.items, "total": page.total, "limit": page.limit,
                                   "offset": page.offset})


class TranscriptionDeleted(View):
    transcription_id: str
    deleted: Literal[True] = True


class GroupView(View):
    transcription_id: str
    group: str | None

    @classmethod
    def of(cls, transcription: Transcription) -> GroupView:
        return cls(transcription_id=transcription.transcription_id,
                   group=transcription.group.value if transcription.group else None)


# --- configurations -------------------------------------------------------------------------------


class ConfigurationView(View):
    model_config = ConfigDict(extra="allow")  # every field of the configuration, as stored

    configuration_id: str
    tag: str

    @classmethod
    def of(cls, configuration: Configuration) -> ConfigurationView:
        return cls.model_validate(configuration.to_api())


class ConfigurationCreated(ConfigurationView):
    webhook_secret: str  # shown once: the key this configuration's webhooks are signed with

    @classmethod
    def created(cls, configuration: Configuration, secret: str) -> ConfigurationCreated:
        return cls.model_validate({**configuration.to_api(), "webhook_secret": secret})


class ConfigurationList(View):
    configurations: list[ConfigurationView]
    total: int

    @classmethod
    def of(cls, configurations: list[Configuration]) -> ConfigurationList:
        return cls(configurations=[ConfigurationView.of(c) for c in configurations], total=len(configurations))


class ConfigurationDeleted(View):
    configuration_id: str
    deleted: Literal[True] = True


class ConfigurationReprocessed(View):
    configuration_id: str
    job_ids: list[str]


# --- customers ------------------------------------------------------------------------------------


class CustomerPage(View):
    customers: list[Customer]
    total: int
    limit: int
    offset: int


class CustomerView(_Dumps, Customer):
    model_config = ConfigDict(extra="forbid")

    conversations: list[TranscriptionListItem]

    @classmethod
    def of(cls, customer: Customer, conversations: Page) -> CustomerView:
        return cls.model_validate({**customer.model_dump(), "conversations": conversations.items})


# --- keys and status ------------------------------------------------------------------------------


class KeyCreated(_Dumps, ApiKey):
    model_config = ConfigDict(extra="forbid")

    key: str  # shown once; only its hash is stored

    @classmethod
    def of(cls, api_key: ApiKey, secret: str) -> KeyCreated:
        return cls(**api_key.model_dump(), key=secret)


class KeyList(View):
    keys: list[ApiKey]


class WorkersView(View):
    heavy: int
    light: int
    busy: list[str]


class StatusView(View):
    data_dir: str
    jobs: dict[str, int]
    workers: WorkersView
    models: dict[str, Any]
    webhooks_pending: int
    services: dict[str, Any]
    llm: dict[str, Any]

    @classmethod
    def of(cls, status: dict[str, Any], llm: dict[str, Any]) -> StatusView:
        return cls.model_validate({**status, "llm": llm})


class HealthView(View):
    status: Literal["ok"]
    version: str
    database: Literal["ok"]


def completed_transcription_ids(list_page: Callable[..., dict[str, Any]]) -> list[str]:
    """Every COMPLETED transcription's id, read page by page through ``list_page`` (a client's
    ``transcriptions``: the HTTP one or the in-process one)."""
    ids: list[str] = []
    while True:
        page = list_page(status="COMPLETED", limit=1000, offset=len(ids))
        ids += [item["transcription_id"] for item in page["transcriptions"]]
        if not page["transcriptions"] or len(ids) >= page["total"]:
            return ids


def poll_job(read: Callable[[], dict[str, Any]], pause: Callable[[], object], *, timeout: float | None,
             on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Read a job's view (``read``) until it is no longer processing or ``timeout`` seconds pass, calling
    ``pause`` between reads (the HTTP client sleeps, the in-process one waits on the engine)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = read()
        if on_progress is not None:
            on_progress(job)
        if job["status"] != "processing" or (deadline is not None and time.monotonic() >= deadline):
            return job
        pause()
