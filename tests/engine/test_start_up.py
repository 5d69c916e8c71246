"""Starting up safely (issue 15): a job that kills the process cannot kill it at every start, a probe
of the lock cannot make a starting server give up, an IPv6 address is written as a usable URL."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from heard_local.config import Settings
from heard_local.data_dir_lock import DataDirLock
from heard_local.domain import JobStatus, TranscriptionStatus
from heard_local.engine import Engine
from heard_local.runtime import server_url
from tests.support.engine_internals import store_of
from tests.support.processes import cli_env, free_port


def _start_and_die(settings: Settings) -> None:
    """Open the data directory, start the queued job, and stop as a crash would: the job stays
    IN_PROGRESS (no worker finishes or releases it)."""
    engine = Engine.open(settings, workers=False)
    claimed = store_of(engine).jobs.claim_many(list({job.kind for job in engine.jobs.list()}), 1)
    assert len(claimed) == 1
    engine.close()


def test_a_job_interrupted_on_every_attempt_ends_failed_at_start(settings: Settings) -> None:
    settings = settings.model_copy(update={"job_max_attempts": 2})
    with Engine.open(settings, workers=False) as engine:
        job = engine.ingest.transcript({"transcript_text": "Agent: hello"}).job
    _start_and_die(settings)
    with Engine.open(settings, workers=False) as engine:
        resumed = engine.jobs.get(job.job_id)
        assert resumed.status is JobStatus.PENDING and resumed.attempts == 1  # one attempt left: it resumes
    _start_and_die(settings)
    with Engine.open(settings, workers=False) as engine:
        failed = engine.jobs.get(job.job_id)
        assert failed.status is JobStatus.FAILED
        assert failed.last_error is not None and "interrupted 2 times" in failed.last_error
        transcription = engine.transcriptions.get(job.transcription_id)
        assert transcription.status is TranscriptionStatus.FAILED
    with Engine.open(settings) as engine:  # and it stays failed: workers never pick it up again
        time.sleep(0.5)
        assert engine.jobs.get(job.job_id).status is JobStatus.FAILED


PROBER = """
import sys, time
from pathlib import Path
from heard_local.data_dir_lock import is_locked
path, until = Path(sys.argv[1]), time.monotonic() + float(sys.argv[2])
print("probing", flush=True)
while time.monotonic() < until:
    is_locked(path)
"""


def test_a_server_starting_while_the_lock_is_probed_takes_it(tmp_path: Path) -> None:
    # The CLI and notebooks ask "does a server own this directory?" by taking the lock for an instant.
    lock_path = tmp_path / "heard.lock"
    lock_path.touch()
    prober = subprocess.Popen([sys.executable, "-c", PROBER, str(lock_path), "20"], stdout=subprocess.PIPE,
                              text=True, env=cli_env(tmp_path))
    try:
        assert prober.stdout is not None and prober.stdout.readline().strip() == "probing"
        for _ in range(300):
            lock = DataDirLock(lock_path)
            lock.acquire()  # before: DataDirLockedError ("in use") about one time in ten
            lock.release()
    finally:
        prober.kill()
        prober.wait()


def test_server_urls_bracket_ipv6_addresses() -> None:
    assert server_url("::1", 8000) == "http://[::1]:8000"
    assert server_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert server_url("[::1]", 80) == "http://[::1]:80"


def test_a_server_on_ipv6_loopback_publishes_a_url_that_works(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "heard_local", "serve", "--no-ui", "--no-watch", "--host", "::1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=cli_env(data_dir))
    try:
        deadline = time.monotonic() + 60
        while not (data_dir / "server.json").exists():
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "server.json never appeared"
            time.sleep(0.2)
        url = json.loads((data_dir / "server.json").read_text())["url"]
        assert url == f"http://[::1]:{port}"
        assert httpx.get(f"{url}/api/v1/health", timeout=10).status_code == 200
        status = subprocess.run([sys.executable, "-m", "heard_local", "status"], capture_output=True, text=True,
                                timeout=60, env=cli_env(data_dir))
        assert status.returncode == 0, status.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
