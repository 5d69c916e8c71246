"""Real processes: one owner per data directory, crash recovery, the CLI against a running server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.errors import DataDirLockedError
from tests.support.processes import ServerProcess, run_cli


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data").wait_ready()
    yield process
    process.stop()


def test_a_second_instance_is_refused_with_the_owners_pid(server: ServerProcess, tmp_path: Path) -> None:
    second = run_cli(["serve", "--no-ui", "--no-watch", "--port", "0"], server.data_dir, timeout=60)
    assert second.returncode == 2
    assert f"process {server.process.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    with pytest.raises(DataDirLockedError) as caught:
        Engine.open(Settings(data_dir=server.data_dir))
    assert caught.value.pid == server.process.pid
    assert server.process.poll() is None  # the owner is untouched


def test_cli_talks_to_the_running_server(server: ServerProcess, tmp_path: Path) -> None:
    key = run_cli(["keys", "create", "--name", "ci"], server.data_dir)
    assert key.returncode == 0, key.stderr
    api_key = key.stdout.strip()
    assert api_key.startswith("sk_local_") and "\n" not in api_key  # only the key on stdout
    call = tmp_path / "call.txt"
    call.write_text("Agent: Hi, how can I help you today?\nCustomer: I have a billing question...\n")
    ingest = run_cli(["ingest-transcript", str(call), "--email", "mike@acme.com", "--channel", "chat"],
                     server.data_dir)
    assert ingest.returncode == 0, ingest.stderr
    transcription_id = ingest.stdout.strip()
    # The key printed by the CLI works against the server's API.
    response = server.api("GET", f"/transcriptions/{transcription_id}", headers={"X-API-Key": api_key})
    assert response.status_code == 200
    assert response.json()["status"] == "COMPLETED"
    listing = run_cli(["list"], server.data_dir)
    assert transcription_id in listing.stdout and "COMPLETED" in listing.stdout
    shown = run_cli(["show", transcription_id, "--format", "txt"], server.data_dir)
    assert shown.stdout == "Agent: Hi, how can I help you today?\nCustomer: I have a billing question...\n"
    revoke = run_cli(["keys", "revoke", "ci"], server.data_dir)
    assert revoke.returncode == 0
    assert server.api("GET", "/transcriptions", headers={"X-API-Key": api_key}).status_code == 401


class HangingServer:
    """Accepts connections and never answers: an LLM that is stuck mid-request."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


def test_sigkill_mid_job_loses_nothing(tmp_path: Path) -> None:
    """Kill the process while a job is IN_PROGRESS (its LLM call hangs) with more jobs queued behind it;
    after a restart every accepted job completes and its conversation is stored."""
    data_dir = tmp_path / "data"
    hanging = HangingServer()
    try:
        env = {"HEARD_OLLAMA_HOST": f"http://127.0.0.1:{hanging.port}", "HEARD_LIGHT_WORKERS": "1",
               "HEARD_OLLAMA_TIMEOUT_SECONDS": "600"}
        first = ServerProcess(data_dir, **env).wait_ready()
        created = first.api("POST", "/configurations", json={"tag": "Summaries", "summary": True})
        assert created.status_code == 201, created.text
        configuration_id = created.json()["configuration_id"]
        job_ids = []
        for i in range(4):
            response = first.api("POST", "/ingest/transcript", json={
                "transcript_text": f"Agent: Hello caller number {i}\nCustomer: I need help with order {i}",
                "configuration_id": configuration_id, "metadata": {"customer_email": f"c{i}@example.com"}})
            assert response.status_code == 202, response.text
            job_ids.append(response.json()["job_id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = first.api("GET", f"/ingest/jobs/{job_ids[0]}").json()
            if job["state"] == "IN_PROGRESS" and job["progress"]["step"].startswith("summarize"):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"first job never reached the LLM stage: {job}\n{first.log()}")
        assert hanging.connections, "the LLM stage never called the (hanging) LLM"
        states = [first.api("GET", f"/ingest/jobs/{j}").json()["state"] for j in job_ids]
        assert states[0] == "IN_PROGRESS" and set(states[1:]) == {"PENDING"}
        first.kill()
    finally:
        hanging.close()

    # Restart with no LLM at all: the interrupted job resumes; the LLM part is marked pending, the
    # conversation is kept, and the queued jobs run too.
    second = ServerProcess(data_dir, HEARD_OLLAMA_HOST="http://127.0.0.1:9").wait_ready()
    try:
        for job_id in job_ids:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                job = second.api("GET", f"/ingest/jobs/{job_id}").json()
                if job["status"] != "processing":
                    break
                time.sleep(0.2)
            assert job["status"] == "completed", (job, second.log())
            transcription = second.api("GET", f"/transcriptions/{job['transcription_id']}").json()
            segments = transcription["details"]["conversation"]["segments"]
            assert [s["speaker"] for s in segments] == ["SPEAKER_00", "SPEAKER_01"]
            assert transcription["details"]["llm_status"] == "pending"
        resumed = second.api("GET", f"/ingest/jobs/{job_ids[0]}").json()
        assert resumed["attempts"] == 2  # the killed attempt, then the one that finished
        assert "resuming 1 job" in second.log()
        assert second.api("GET", "/transcriptions").json()["total"] == 4
        assert json.loads((data_dir / "server.json").read_text())["pid"] == second.process.pid
    finally:
        second.stop()
