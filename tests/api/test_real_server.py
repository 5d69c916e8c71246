"""Against a real ``heard-local serve`` process: a key made with the CLI, the ingestion document's two
curl examples run verbatim (only the host and key changed), a chunked oversize upload, and a webhook
re-sent after the server is killed between delivering it and recording the answer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.api.support import Reply, ScriptedServer, free_port, write_wav

BIN = Path(sys.executable).parent / "heard-local"
UPLOAD_CAP = 200_000

# The ingestion document's examples, verbatim but for the host and the key.
AUDIO_EXAMPLE = """curl -X POST https://api.heard.ai/v1/ingest/audio \\
-H "X-API-Key: sk_live_abc123..." \\
-H "Content-Type: application/json" \\
-d '{
"audio_url": "https://storage.example.com/call-recording.wav",
"metadata": {
"source": "custom-pbx",
"caller_phone": "+15550123",
"agent_name": "Sarah Chen",
"recorded_at": "2026-03-11T14:30:00Z"
}
}'"""
TRANSCRIPT_EXAMPLE = """curl -X POST https://api.heard.ai/v1/ingest/transcript \\
-H "X-API-Key: sk_live_abc123..." \\
-H "Content-Type: application/json" \\
-d '{
"transcript_text": "Agent: Hi, how can I help you today?\\nCustomer: I have a billing question...",
"metadata": {
"source": "zendesk-chat",
"customer_email": "mike@acme.com",
"channel": "chat"
}
}'"""

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


class ServeProcess:
    def __init__(self, data_dir: Path, log: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "HEARD_DIARIZATION_MODEL": "", "HEARD_DIARIZER": "off", "HEARD_OLLAMA_HOST": "http://127.0.0.1:9",
                    "HEARD_MAX_UPLOAD_BYTES": str(UPLOAD_CAP), "HEARD_WEBHOOK_POLL_SECONDS": "0.05",
                    "HEARD_WEBHOOK_RETRY_BASE_SECONDS": "0.1", "HEARD_JOB_MAX_ATTEMPTS": "1",
                    # the webhook receiver runs on this machine, which the URL policy refuses unless trusted
                    "HEARD_URL_ALLOWED_NETWORKS": '["127.0.0.1/32"]'}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(BIN), "serve", "--no-ui", "--no-watch", "--port", str(self.port), "--data-dir",
                 str(self.data_dir)], env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"heard-local serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"heard-local serve did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(BIN), *args, "--data-dir", str(self.data_dir)], env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def shared_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One server for the tests that leave it running (starting one takes seconds)."""
    tmp = tmp_path_factory.mktemp("serve")
    server = ServeProcess(tmp / "data", tmp / "serve.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    server = ServeProcess(tmp_path / "data", tmp_path / "serve.log").start()
    try:
        yield server
    finally:
        server.stop()


def _run_curl(example: str, url: str, key: str) -> dict[str, Any]:
    command = example.replace("https://api.heard.ai", url).replace("sk_live_abc123...", key)
    command = command.replace("curl -X POST", "curl -sS -w '\\n%{http_code}' -X POST", 1)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body, status = done.stdout.rsplit("\n", 1)
    return {"status": int(status), "body": json.loads(body)}


def _wait_job(url: str, key: str, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{url}/v1/ingest/jobs/{job_id}", headers={"X-API-Key": key}).json()
        if job["status"] != "processing" or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_documented_curl_examples_work_with_only_the_host_changed(shared_serve: ServeProcess) -> None:
    serve = shared_serve
    key = serve.cli("keys", "create", "--name", "curl").strip()
    assert key.startswith("sk_local_")
    audio = _run_curl(AUDIO_EXAMPLE, serve.url, key)
    assert audio["status"] == 202 and audio["body"]["status"] == "processing"
    assert audio["body"]["job_id"].startswith("job_") and isinstance(audio["body"]["estimated_duration_seconds"], int)
    transcript = _run_curl(TRANSCRIPT_EXAMPLE, serve.url, key)
    assert transcript["status"] == 202 and transcript["body"]["status"] == "processing"
    job = _wait_job(serve.url, key, transcript["body"]["job_id"])
    assert job["status"] == "completed", job
    transcription = httpx.get(f"{serve.url}/api/v1/transcriptions/{job['transcription_id']}",
                              headers={"X-API-Key": key}).json()
    assert [s["speaker"] for s in transcription["details"]["conversation"]["segments"]] == ["SPEAKER_00",
                                                                                            "SPEAKER_01"]
    # The audio_url example points at a host this machine cannot fetch from: the job fails, clearly.
    failed = _wait_job(serve.url, key, audio["body"]["job_id"], timeout=60)
    assert failed["status"] == "failed" and "audio_url" in failed["error"]["message"], failed
    wrong = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-API-Key: sk_local_nope",
                            f"{serve.url}/v1/ingest/jobs/{job['job_id']}"], capture_output=True, text=True)
    assert wrong.stdout == "401"


def test_chunked_oversize_upload_is_refused_and_removed(shared_serve: ServeProcess, tmp_path: Path) -> None:
    serve = shared_serve
    key = serve.cli("keys", "create", "--name", "upload").strip()
    small = write_wav(tmp_path / "small.wav", seconds=1.0)
    big = write_wav(tmp_path / "big.wav", seconds=3 * UPLOAD_CAP / 32_000)

    def upload(path: Path, *extra: str) -> str:
        done = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", *extra,
                               "-H", f"X-API-Key: {key}", "-F", f"audio_file=@{path}",
                               "-F", 'metadata={"source": "curl"}', f"{serve.url}/v1/ingest/audio"],
                              capture_output=True, text=True, timeout=60)
        return done.stdout

    assert upload(big, "-H", "Transfer-Encoding: chunked") == "413"
    assert upload(big) == "413"
    media = serve.data_dir / "media"
    assert [p for p in media.rglob("*") if p.is_file()] == []
    assert upload(small, "-H", "Transfer-Encoding: chunked") == "202"
    assert [p.suffix for p in media.rglob("*") if p.is_file()] == [".wav"]


def test_webhook_is_resent_after_a_crash_between_delivery_and_acknowledgement(serve: ServeProcess) -> None:
    key = serve.cli("keys", "create", "--name", "hooks").strip()
    headers = {"X-API-Key": key}
    release = threading.Event()
    with ScriptedServer() as receiver:
        receiver.route("/hook", [Reply(status=200, hold=release), Reply(status=200)])
        configuration = httpx.post(f"{serve.url}/api/v1/configurations", headers=headers, json={
            "tag": "crash test", "webhooks": {"success_url": f"{receiver.url}/hook"}}).json()
        accepted = httpx.post(f"{serve.url}/api/v1/ingest/transcript", headers=headers, json={
            "transcript_text": "Agent: Hello\nCustomer: Hi", "configuration_id": configuration["configuration_id"],
        }).json()
        first = receiver.wait_for("/hook", 1)[0]
        serve.kill()  # delivered, but the server dies before it hears the 200
        release.set()
        serve.start()
        second = receiver.wait_for("/hook", 2)[1]
        verifier = Webhook(configuration["webhook_secret"])
        payloads = [verifier.verify(r.body, r.headers) for r in (first, second)]
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert payloads[0] == payloads[1] and payloads[0]["transcription_id"] == accepted["transcription_id"]
        processed = {r.headers["webhook-id"]: json.loads(r.body) for r in receiver.requests_to("/hook")}
        assert len(processed) == 1  # a receiver keyed on webhook-id does the work once
        deadline = time.monotonic() + 20
        while httpx.get(f"{serve.url}/api/v1/status", headers=headers).json()["webhooks_pending"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.3)
        assert len(receiver.requests_to("/hook")) == 2  # and nothing more once acknowledged
