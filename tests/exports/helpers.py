"""Test data for export and notebook tests: conversations ingested through the engine, and a real
``heard-local serve`` subprocess on a data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heard_local.config import Settings
from heard_local.domain import Fields, FieldValue, LlmStatus
from heard_local.engine import Engine
from heard_local.runtime import ServerInfo, running_server
from tests.support.engine_internals import store_of

REPO_ROOT = Path(__file__).resolve().parents[2]

SUPPORT_FIELDS = [
    {"name": "reason", "type": "string", "description": "Why the customer got in touch"},
    {"name": "resolved", "type": "boolean", "description": "Solved during the conversation"},
    {"name": "amount", "type": "number", "description": "Money amount discussed"},
    {"name": "products", "type": "array", "description": "Products mentioned"},
]


@dataclass(frozen=True)
class Conversation:
    text: str
    metadata: dict[str, Any]
    fields: dict[str, Any] | None  # what the LLM stage would have extracted (None: nothing)


CONVERSATIONS = [
    Conversation(
        "[00:00:02] Agent: Thank you for calling, this is Sam.\n"
        "[00:00:06] Customer: My card was declined at the grocery store, twice.\n"
        "[00:00:14] Agent: I see a fraud block; I removed it.\n"
        "[00:00:21] Customer: Thanks!\n",
        {"name": "Declined card", "channel": "voice", "customer_email": "Jordan.Lee@example.com",
         "recorded_at": "2024-03-01T09:15:00Z"},
        {"reason": "card declined", "resolved": True, "amount": 42.5, "products": ["debit card"]},
    ),
    Conversation(
        "[00:00:01] Agent: Hello, how can I help?\n"
        "[00:00:04] Customer: I'd like a higher limit on my credit card, say 5,000 dollars.\n"
        "[00:00:12] Agent: I've sent the request; you'll hear back \"within 2 days\".\n",
        {"name": "Limit increase", "channel": "chat", "customer_phone": "+1 415 555 0142",
         "customer_email": "jordan.lee@example.com", "recorded_at": "2024-03-01T14:00:00Z"},
        {"reason": "limit increase", "resolved": False, "amount": 5000, "products": ["credit card"]},
    ),
    Conversation(
        "[00:00:00] Agent: Good morning, Contoso bank.\n"
        "[00:00:03] Customer: Bonjour, je voudrais fermer mon compte épargne.\n"
        "[00:00:11] Agent: Of course, I can help with closing the savings account.\n"
        "[00:00:25] Customer: Merci beaucoup.\n",
        {"name": "Close savings — Zoë", "channel": "voice", "customer_phone": "(415) 555-0142",
         "recorded_at": "2024-03-02T10:30:00Z"},
        {"reason": "close account, \"savings\"", "resolved": True, "amount": None,
         "products": ["savings", "checking"]},
    ),
    Conversation(
        "[00:00:00] Agent: Hi, you're through to support.\n"
        "[00:00:02] Customer: The app crashes when I open statements.\n"
        "[00:00:09] Agent: Please update the app to the latest version.\n"
        "[00:00:15] Customer: Okay, I'll try that.\n"
        "[00:01:05] Agent: Anything else I can do?\n",
        {"name": "App crash", "channel": "voice", "customer_email": "ana@example.org",
         "recorded_at": "2024-03-03T16:45:00Z"},
        {"reason": "=HYPERLINK(\"http://x\")", "resolved": False, "amount": None, "products": []},
    ),
    Conversation(
        "Customer: Where is my new card?\nAgent: It was posted yesterday.\n",
        {"name": "Card delivery", "channel": "email", "customer_email": "ana@example.org",
         "recorded_at": "2024-03-03T18:00:00Z"},
        None,
    ),
]


def ingest_conversations(engine: Engine, conversations: list[Conversation] = CONVERSATIONS) -> list[str]:
    """Ingest through the engine, wait, then store the extracted fields a local LLM would have produced
    (no LLM runs in tests). Returns the transcription ids in order."""
    configuration = next((c for c in engine.configurations.list() if c.tag == "Support"), None)
    if configuration is None:
        configuration, _secret = engine.configurations.create({"tag": "Support",
                                                              "extraction_fields": SUPPORT_FIELDS})
    ids = []
    for conversation in conversations:
        submission = engine.ingest.transcript({"transcript_text": conversation.text,
                                               "metadata": conversation.metadata,
                                               "configuration_id": configuration.configuration_id})
        job = engine.jobs.wait(submission.job.job_id, timeout=120)
        assert job.status.value == "COMPLETED", job
        ids.append(submission.job.transcription_id)
        if conversation.fields is not None:
            store_fields(engine, submission.job.transcription_id, conversation.fields)
    return ids


def store_fields(engine: Engine, transcription_id: str, values: dict[str, Any]) -> None:
    types = {f["name"]: f["type"] for f in SUPPORT_FIELDS}
    with store_of(engine).db.write() as cur:
        store_of(engine).transcriptions.save_llm_results(
            cur, transcription_id,
            fields=Fields(fields=[FieldValue(name=name, value=value) for name, value in values.items()]),
            field_types=types, summary=None, status=LlmStatus.COMPLETED, pending_reason=None)


def quiet_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a data directory with no models and no Ollama behind them."""
    return Settings(data_dir=data_dir, watch_dir=data_dir.parent / "watch", ollama_host="http://127.0.0.1:9",
                    ollama_timeout_seconds=2.0, diarization_model=None, diarizer="off", retry_base_seconds=0.05,
                    retry_max_seconds=0.2, job_max_attempts=1, **overrides)


def server_env(**extra: str) -> dict[str, str]:
    """Environment for a server or notebook subprocess: nothing slow or external behind it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEARD_")}
    env.update({
        "HEARD_OLLAMA_HOST": "http://127.0.0.1:9",
        "HEARD_OLLAMA_TIMEOUT_SECONDS": "2",
        "HEARD_DIARIZATION_MODEL": "", "HEARD_DIARIZER": "off",
        "HEARD_JOB_MAX_ATTEMPTS": "1",
        "HEARD_RETRY_BASE_SECONDS": "0.05",
        "HEARD_RETRY_MAX_SECONDS": "0.2",
        "PYANNOTE_METRICS_ENABLED": "0",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    })
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_server(data_dir: Path, log_path: Path, **env: str) -> Iterator[ServerInfo]:
    """``heard-local serve`` (no UI, no watcher) on a free port, stopped at the end."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "heard_local", "serve", "--no-ui", "--no-watch", "--port", str(free_port()),
             "--data-dir", str(data_dir)],
            stdout=log, stderr=subprocess.STDOUT, env=server_env(**env), cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 120
        while (info := running_server(data_dir)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"heard-local serve did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield info
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

