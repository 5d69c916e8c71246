"""The newcomer's path: `heard-local serve` with default settings on a fresh machine without internet,
an upload, and real words back. No HEARD_* variable: the server picks its models itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT, shared_data_path
from tests.support.processes import free_port
from tests.support.reference_text import word_error_rate

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def fresh_machine_env(home: Path) -> dict[str, str]:
    """Only what any shell has, an empty home (nothing downloaded or cached) and no network for the model
    hub (HF_HUB_OFFLINE: this machine has none anyway; on one that has, nothing may be downloaded here)."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    env.update({"HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)})
    return env


def test_a_default_server_transcribes_an_upload_end_to_end(tmp_path: Path) -> None:
    audio = shared_data_path("faster-whisper", "jfk.flac")
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    env = fresh_machine_env(home)
    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen([sys.executable, "-m", "heard_local", "serve", "--port", str(port), "--data-dir",
                               str(data)], cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        token = wait_ready(server, url, data, tmp_path / "serve.log")
        headers = {"X-API-Key": token}
        with open(audio, "rb") as handle:
            accepted = httpx.post(f"{url}/ingest/audio", headers=headers, timeout=30,
                                  files={"audio_file": ("jfk.flac", handle, "audio/flac")})
        assert accepted.status_code == 202, accepted.text
        job = wait_done(url, headers, accepted.json()["job_id"])
        assert job["status"] == "completed", job
        transcription = httpx.get(f"{url}/transcriptions/{accepted.json()['transcription_id']}", headers=headers,
                                  timeout=30).json()
        segments = transcription["details"]["conversation"]["segments"]
        assert word_error_rate(JFK, " ".join(s["text"] for s in segments)) <= 0.05
        warnings = transcription["details"]["warnings"]
        assert any("tiny.en" in w and "HEARD_WHISPER_MODEL" in w for w in warnings), warnings

        whisper = httpx.get(f"{url}/status", headers=headers, timeout=30).json()["models"]["whisper"]
        assert (whisper["configured"], whisper["in_use"], whisper["bundled"]) == ("small", "tiny.en", True)
        # `heard-local status` asks the running server and shows the same
        cli = subprocess.run([sys.executable, "-m", "heard_local", "status", "--data-dir", str(data)], cwd=home,
                             env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["models"]["whisper"]["in_use"] == "tiny.en"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def wait_ready(server: subprocess.Popen[bytes], url: str, data: Path, log: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"heard-local serve exited:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return str(json.loads((data / "server.json").read_text())["admin_token"])
        except (httpx.TransportError, OSError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"server not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def wait_done(url: str, headers: dict[str, str], job_id: str, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/ingest/jobs/{job_id}", headers=headers, timeout=30).json()
        if job["status"] in ("completed", "failed"):
            return dict(job)
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")
