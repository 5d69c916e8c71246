"""A real ``heard-local serve`` for browser tests: a subprocess on a free port, a temporary data
directory, a tiny Whisper model built offline and the scripted Ollama double answering extraction,
summary and analytics prompts as a small local model would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.ollama_server import OllamaTestServer

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90.0

# The conversation the tests paste: an agent and a customer, with the facts the fields ask for.
SUPPORT_TRANSCRIPT = """\
Agent: Thank you for calling Northwind Bank, this is Sarah speaking. How can I help you today?
Customer: Hi Sarah. My debit card was declined at the grocery store this morning and I don't know why.
Agent: I'm sorry about that. Can you confirm the last four digits of the card?
Customer: Sure, it's 4821.
Agent: Thank you. I can see the card was blocked after a suspicious online purchase last night.
Customer: That wasn't me. I never buy anything online at night.
Agent: Understood. I have cancelled the card and ordered a replacement. It will arrive within five business days.
Customer: Great, thank you for sorting that out so quickly.
Agent: You're welcome. Your reference number is TCK-4821. Is there anything else I can help with?
Customer: No, that's all. Have a nice day.
"""



def support_transcript(caller: str) -> str:
    """The support call, closed with a line naming ``caller``: the same content twice would be one
    conversation (duplicates are recognised), so each test gets its own."""
    return SUPPORT_TRANSCRIPT + f"Agent: Goodbye {caller}, and thank you for banking with Northwind.\n"


SUPPORT_FIELDS = [
    {"name": "sentiment", "type": "string",
     "description": "The customer's overall sentiment. Must be one of: POSITIVE, NEGATIVE, NEUTRAL"},
    {"name": "issue_resolved", "type": "boolean", "description": "Whether the issue was resolved in the call"},
    {"name": "ticket_id", "type": "string", "description": "The reference number given to the customer"},
]

# What the scripted "LLM" answers per field: (value, a quote from SUPPORT_TRANSCRIPT).
FIELD_ANSWERS: dict[str, tuple[Any, str]] = {
    "sentiment": ("NEUTRAL", "My debit card was declined at the grocery store this morning"),
    "issue_resolved": (True, "I have cancelled the card and ordered a replacement"),
    "ticket_id": ("TCK-4821", "Your reference number is TCK-4821"),
}
SUMMARY = ("The customer's debit card was declined after the bank blocked it for a suspicious online purchase. "
           "The agent cancelled the card, ordered a replacement arriving within five business days and gave "
           "reference TCK-4821.")
NARRATIVE = {
    "executive_summary": "Card declines caused by fraud blocks drive the calls; agents resolve them in one call.",
    "key_themes": ["Declined cards", "Fraud blocks", "Card replacement"],
    "insights": [{"finding": "Customers learn about fraud blocks only when a payment fails.",
                  "recommendation": "Notify customers by SMS when a card is blocked."}],
}


def respond(request: dict[str, Any]) -> Any:
    """Answers shaped by the JSON schema heard-local sends in ``format``."""
    schema = request.get("format") if isinstance(request.get("format"), dict) else {}
    properties = schema.get("properties", {})
    if "summary" in properties:
        return {"summary": SUMMARY}
    if "executive_summary" in properties:
        return NARRATIVE
    answer = {}
    for name in properties:
        value, quote = FIELD_ANSWERS.get(name, (None, ""))
        answer[name] = {"evidence": [{"segment": 0, "quote": quote}] if quote else [], "value": value}
    return answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class UiServer:
    """``python -m heard_local serve`` in a subprocess."""

    root: Path
    whisper_model: Path
    port: int = field(default_factory=free_port)
    ollama: OllamaTestServer | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HEARD_", "GRADIO_"))}
        env.update({
            "HEARD_WHISPER_MODEL": str(self.whisper_model),
            "HEARD_DIARIZATION_MODEL": "", "HEARD_DIARIZER": "off",
            "HEARD_OLLAMA_HOST": self.ollama.url if self.ollama else "http://127.0.0.1:9",
            "HEARD_OLLAMA_TIMEOUT_SECONDS": "20",
            "HEARD_RETRY_BASE_SECONDS": "0.1",
            "HEARD_RETRY_MAX_SECONDS": "0.5",
            "HEARD_EXPORT_INTERVAL_SECONDS": "3600",
            "PYANNOTE_METRICS_ENABLED": "0",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        })
        return env

    def start(self) -> UiServer:
        self.ollama = OllamaTestServer(responder=respond).start()
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        # The server's cwd is the data directory's parent, so relative paths in file routes point there.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "heard_local", "serve", "--data-dir", str(self.data_dir), "--watch-dir",
             str(self.root / "watch"), "--port", str(self.port)],
            cwd=self.root, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"heard-local serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                # server.json is ours (written once our socket listens), and the sign-in link works.
                if self.ui_token and httpx.get(self.login_url, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"heard-local serve did not answer within {STARTUP_SECONDS:.0f}s:\n{self.log()}")

    @property
    def ui_token(self) -> str:
        """The web UI's sign-in token, from the server.json the server wrote ("" before it is written)."""
        try:
            return str(json.loads((self.data_dir / "server.json").read_text()).get("ui_token", ""))
        except (OSError, ValueError):
            return ""

    @property
    def login_url(self) -> str:
        return f"{self.url}/?token={self.ui_token}"

    def session_cookies(self) -> dict[str, str]:
        """The session cookie a browser gets by opening the sign-in link."""
        answer = httpx.get(self.login_url, timeout=15)
        answer.raise_for_status()
        return dict(answer.cookies)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.ollama is not None:
            self.ollama.stop()
            self.ollama = None


def api_client(server: UiServer) -> httpx.Client:
    """The server's HTTP API with its admin token (what the local CLI uses), for arranging and checking."""
    info = json.loads((server.data_dir / "server.json").read_text())
    return httpx.Client(base_url=server.url + "/api/v1", headers={"X-API-Key": info["admin_token"]}, timeout=30)


def wait_for_job(api: httpx.Client, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/jobs/{job_id}").json()
        if job.get("status") in ("completed", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def ensure_configuration(api: httpx.Client, tag: str, fields: list[dict[str, str]], *, summary: bool) -> str:
    for configuration in api.get("/configurations").json().get("configurations", []):
        if configuration["tag"] == tag:
            return str(configuration["configuration_id"])
    created = api.post("/configurations", json={"tag": tag, "extraction_fields": fields, "summary": summary})
    created.raise_for_status()
    return str(created.json()["configuration_id"])


def ingest_transcript(api: httpx.Client, configuration_id: str, name: str, text: str | None = None,
                      **metadata: Any) -> str:
    """Submit a transcript over the API (by default the support call, closed with ``name``), wait for it;
    returns the transcription id."""
    text = text if text is not None else support_transcript(name)
    answer = api.post("/ingest/transcript", json={"transcript_text": text, "configuration_id": configuration_id,
                                                  "metadata": {"name": name, **metadata}})
    answer.raise_for_status()
    job = wait_for_job(api, answer.json()["job_id"])
    assert job["status"] == "completed", job
    return str(answer.json()["transcription_id"])
