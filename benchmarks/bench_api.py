"""Transcript ingests accepted per second by a real ``heard-local serve`` on loopback, with 50
concurrent keep-alive clients, and the p50/p99 latency of each accepted (202, stored) request.

Target: ≥ 1,000 accepted/s and p99 < 50 ms on 2 cores. The load generator is a lean asyncio HTTP/1.1
client in this process (httpx would cost more CPU than the server); it shares the machine's cores
with the server, as a real client on the same host would. The server's workers process the queued
jobs meanwhile, as in production.

    python -m benchmarks api            # 20,000 requests after a warm-up
    python -m benchmarks api --quick    # 3,000
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.result import Result

NAME = "api"
CLIENTS = 50
_TARGET_RATE = 1000.0
_TARGET_P99_MS = 50.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(data_dir: Path, port: int, log: Path, *, process_jobs: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HEARD_RATE_LIMIT_PER_SECOND": "0", "HEARD_DIARIZATION_MODEL": "",
           "HEARD_OLLAMA_HOST": "http://127.0.0.1:9", "HEARD_LOG_LEVEL": "WARNING",
           "HEARD_LIGHT_WORKERS": "2" if process_jobs else "0"}
    binary = Path(sys.executable).parent / "heard-local"
    with open(log, "ab") as out:
        process = subprocess.Popen([str(binary), "serve", "--no-ui", "--no-watch", "--port", str(port),
                                    "--data-dir", str(data_dir)], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"heard-local serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("heard-local serve did not start")


def _create_key(data_dir: Path, url: str) -> str:
    admin = json.loads((data_dir / "server.json").read_text())["admin_token"]
    response = httpx.post(f"{url}/api/v1/keys", json={"name": "bench"}, headers={"X-API-Key": admin})
    response.raise_for_status()
    return str(response.json()["key"])


def _request(port: int, key: str, index: int, run: str) -> bytes:
    body = json.dumps({
        "transcript_text": f"Agent: Hello, this is call {run}-{index}. How can I help?\n"
                           f"Customer: I have a question about invoice {index}.",
        "metadata": {"source": "bench", "channel": "chat", "customer_email": f"user{index % 500}@example.com"},
    }).encode()
    head = (f"POST /v1/ingest/transcript HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _client(port: int, requests: list[bytes], latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            if status == 202:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(status)
    finally:
        writer.close()


async def _load(port: int, key: str, total: int, run: str) -> tuple[float, list[float], list[int]]:
    per_client = [[_request(port, key, c * total + i, run) for i in range(total // CLIENTS)] for c in range(CLIENTS)]
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, requests, latencies, errors) for requests in per_client))
    return time.perf_counter() - started, latencies, errors


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(quick: bool) -> list[Result]:
    total = 3_000 if quick else 20_000
    # Production: the server's workers process the queued jobs while it accepts more. Then the front
    # door alone (no workers): what accepting costs, with nothing else competing for the two cores.
    return [*_run_mode(total, process_jobs=True), *_run_mode(total, process_jobs=False)]


def _run_mode(total: int, *, process_jobs: bool) -> list[Result]:
    mode = "while processing" if process_jobs else "accepting only"
    with tempfile.TemporaryDirectory(prefix="heard-bench-api-") as tmp:
        data_dir = Path(tmp) / "data"
        port = _free_port()
        server = _start_server(data_dir, port, Path(tmp) / "serve.log", process_jobs=process_jobs)
        try:
            key = _create_key(data_dir, f"http://127.0.0.1:{port}")
            asyncio.run(_load(port, key, 500, "warmup"))
            cpu_before = _cpu_seconds(server.pid)
            wall, latencies, errors = asyncio.run(_load(port, key, total, uuid.uuid4().hex[:8]))
            cpu_ms = (_cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, len(latencies))
            processed = _completed(data_dir, port, key) if process_jobs else None
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    rate = len(latencies) / wall
    p50 = statistics.median(latencies) * 1000
    p99 = _percentile(latencies, 0.99) * 1000
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    conditions = f"{len(latencies)} ok, {len(errors)} errors; {os.cpu_count()} cores, load avg {load:.1f} at end"
    rows = [
        Result(NAME, f"{mode}: ingests accepted", rate, "req/s", f">= {_TARGET_RATE:,.0f}", rate >= _TARGET_RATE,
               f"{CLIENTS} keep-alive clients; {conditions}"),
        Result(NAME, f"{mode}: latency p50", p50, "ms"),
        Result(NAME, f"{mode}: latency p99", p99, "ms", f"< {_TARGET_P99_MS:.0f}", p99 < _TARGET_P99_MS),
        # Robust on a busy machine: what one request costs the server, and so how many one
        # uncontended core could accept.
        Result(NAME, f"{mode}: server CPU per accepted ingest", cpu_ms, "ms",
               note="incl. processing queued jobs" if process_jobs else ""),
    ]
    if processed is not None:
        rows.append(Result(NAME, f"{mode}: jobs completed during the run", processed / wall, "jobs/s",
                           note=f"{processed} of {len(latencies) + 500} queued"))
    return rows


def _completed(data_dir: Path, port: int, key: str) -> int:
    response = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", headers={"X-API-Key": key}, timeout=30)
    response.raise_for_status()
    return int(response.json().get("jobs", {}).get("COMPLETED", 0))
