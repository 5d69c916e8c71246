"""Running real heard-local processes in tests: `heard-local serve` and CLI commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HEARD_DATA_DIR": str(data_dir), "PYANNOTE_METRICS_ENABLED": "0", "HF_HUB_OFFLINE": "1",
                "HEARD_DIARIZATION_MODEL": "", "HEARD_DIARIZER": "off", "HEARD_OLLAMA_HOST": "http://127.0.0.1:9"})
    env.update(extra)
    return env


def run_cli(args: Sequence[str], data_dir: Path, *, input_text: str | None = None, timeout: float = 120,
            **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heard_local", *args], input=input_text, capture_output=True,
                          text=True, timeout=timeout, env=cli_env(data_dir, **env))


class ServerProcess:
    """`heard-local serve` in a subprocess, on a free port."""

    def __init__(self, data_dir: Path, *, args: Sequence[str] = ("--no-ui", "--no-watch"), **env: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "heard_local", "serve", "--port", str(self.port), *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=cli_env(data_dir, **env),
        )

    def wait_ready(self, timeout: float = 60) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200 and self.admin_token():
                    return self
            except (httpx.TransportError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready after {timeout}s:\n{self.log()}")

    def admin_token(self) -> str | None:
        try:
            return json.loads((self.data_dir / "server.json").read_text())["admin_token"]
        except (OSError, ValueError, KeyError):
            return None

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": self.admin_token() or "", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kwargs)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or a power cut."""
        self.process.kill()
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()
        return int(self.process.returncode)
