"""Transcript ingestion throughput through the engine: accepted/s and completed jobs/s, submitting one
by one, and how fast the workers drain a backlog queued at once (a bulk import)."""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.result import Result
from heard_local.config import Settings
from heard_local.domain import JobStatus
from heard_local.engine import Engine

LINES = [
    "Agent: Thank you for calling, how can I help you today?",
    "Customer: Hi, I was charged twice for my order {i} last week.",
    "Agent: I am sorry to hear that. Can you confirm the email on the account?",
    "Customer: Sure, it is customer{i}@example.com.",
    "Agent: Thanks. I can see the duplicate charge and I have issued a refund.",
    "Customer: Great, how long will it take?",
    "Agent: Three to five business days. Anything else I can help with?",
    "Customer: No, that is all. Thanks!",
]


def run(quick: bool) -> list[Result]:
    n = 200 if quick else 1000
    texts = ["\n".join(line.format(i=i) for line in LINES) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(Settings(data_dir=Path(tmp) / "data", diarization_model=None))
        try:
            engine.ingest.transcript({"transcript_text": "Agent: warm up the language model"})
            started = time.perf_counter()
            submissions = [engine.ingest.transcript({"transcript_text": text,
                                                     "metadata": {"customer_email": f"customer{i}@example.com"}})
                           for i, text in enumerate(texts)]
            accepted_s = time.perf_counter() - started
            for submission in submissions:
                job = engine.jobs.wait(submission.job.job_id, timeout=600)
                assert job.status is JobStatus.COMPLETED, job.last_error
            total_s = time.perf_counter() - started
        finally:
            engine.close()
    backlog_rate = _drain_backlog(texts * 3)
    return [
        Result("ingest", f"backlog of {3 * n} transcripts drained", backlog_rate, "jobs/s",
               note="queued first (50 threads), then the 2 light workers start"),
        Result("ingest", f"transcripts accepted ({n}, 8 turns each)", n / accepted_s, "jobs/s",
               note="submit: validate, dedup, link customer, store job"),
        Result("ingest", "transcripts completed end to end", n / total_s, "jobs/s", "≥ 50 jobs/s", n / total_s >= 50,
               note="parse, detect language, store segments (2 light workers)"),
    ]


def _drain_backlog(texts: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(Settings(data_dir=Path(tmp) / "data", diarization_model=None), workers=False)
        try:
            with ThreadPoolExecutor(50) as pool:
                submissions = list(pool.map(lambda item: engine.ingest.transcript({
                    "transcript_text": f"{item[1]}\nAgent: reference {item[0]}",
                    "metadata": {"customer_email": f"customer{item[0] % 500}@example.com"}}), enumerate(texts)))
            started = time.perf_counter()
            engine.start_workers()
            for submission in submissions:
                job = engine.jobs.wait(submission.job.job_id, timeout=600)
                assert job.status is JobStatus.COMPLETED, job.last_error
            return len(texts) / (time.perf_counter() - started)
        finally:
            engine.close()
