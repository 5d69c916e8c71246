"""heard-local installs the way a user installs it: the wheel, built from this checkout, goes into a
fresh virtualenv holding only PyTorch's CPU build (installed first, as the README says) and what the
wheel itself requires, at the tested versions of constraints.txt. Then its console script answers
``--version``, pyannote.audio imports beside the CUDA-linked torchaudio from PyPI (no files deleted, no
scripts/install.sh), and ``heard-local serve`` answers ``/health``.

Slow (an install of a few GB: 2–4 minutes on 2 cores; pip's cache is reused). ``HEARD_TORCH_INDEX_URL``
overrides the CPU index torch comes from.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from heard_local import __version__
from tests.support.processes import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
TORCH_INDEX_URL = os.environ.get("HEARD_TORCH_INDEX_URL", "https://download.pytorch.org/whl/cpu")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def user_env() -> dict[str, str]:
    """This environment without anything pointing at the checkout or the test virtualenv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
           and not k.startswith("HEARD_")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", HF_HUB_OFFLINE="1", PYANNOTE_METRICS_ENABLED="0")
    return env


def run(command: list[str | Path], *, cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=user_env(), capture_output=True, text=True,
                            timeout=timeout)
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{output}"
    return result.stdout


def build_wheel(work: Path) -> Path:
    """The wheel of a copy of the sources (building in the checkout would leave build/ there)."""
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "heard_local", source / "heard_local",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # setuptools of this environment when there is one (no download); else pip's isolated build.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", work / "dist", source], cwd=work)
    (wheel,) = (work / "dist").glob("heard_local-*.whl")
    return wheel


def pinned(name: str) -> str:
    match = re.search(rf"^{name}==(\S+)$", (REPO_ROOT / "constraints.txt").read_text(), re.MULTILINE)
    assert match, f"{name} is not pinned in constraints.txt"
    return match.group(1)


def test_the_wheel_installs_into_a_fresh_venv_and_serves(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    run([base_python, "-m", "venv", venv], cwd=tmp_path)
    python, pip = venv / "bin" / "python", [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile"]

    # 1. torch, CPU build, first. --retries 0: where the index cannot be reached pip's other sources
    # (find-links, extra indexes) answer at once instead of after five back-offs per package.
    run([*pip, "--retries", "0", "--index-url", TORCH_INDEX_URL, f"torch=={pinned('torch')}"], cwd=tmp_path)
    cuda = run([python, "-c", "import torch; print(torch.version.cuda)"], cwd=tmp_path).strip()
    assert cuda == "None", f"a CUDA build of torch was installed ({cuda})"

    # 2. the wheel with its own dependencies only, at the tested versions.
    run([*pip, "-c", REPO_ROOT / "constraints.txt", wheel], cwd=tmp_path)
    run([python, "-m", "pip", "check"], cwd=tmp_path)
    assert run([venv / "bin" / "heard-local", "--version"], cwd=tmp_path).strip() == f"heard-local {__version__}"

    # The server needs neither jupyter (the notebook extra; matplotlib comes with pyannote.audio anyway)
    # nor ray (the cluster extra); the package ships its type marker and keeps the same torch.
    report = run([python, "-c", PROBE], cwd=tmp_path)
    assert "extras absent: jupyter ray" in report, report
    assert "py.typed: True" in report, report
    assert re.search(rf"^torch: {re.escape(pinned('torch'))}(\+cpu)?$", report, re.MULTILINE), report
    # pyannote.audio imports although torchaudio's CUDA-linked libraries are still there.
    assert "torchaudio native libraries present: True" in report, report
    assert "pyannote.audio: 4." in report, report

    # 3. heard-local serve, as a user starts it, until /health answers.
    port = free_port()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen([venv / "bin" / "heard-local", "serve", "--port", str(port), "--data-dir",
                                   run_dir / "data"], cwd=run_dir, env=user_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}", server, tmp_path / "serve.log")
        assert health["status"] == "ok" and health["version"] == __version__, health
        # the web UI: refused without the sign-in token, served with the address serve wrote down
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 401
        token = json.loads((run_dir / "data" / "server.json").read_text())["ui_token"]
        with httpx.Client(timeout=30, follow_redirects=True) as browser:
            browser.get(f"http://127.0.0.1:{port}/", params={"token": token})
            assert browser.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=60)


PROBE = """
import importlib.util, pathlib, sysconfig
import heard_local, torch
from heard_local.adapters.pyannote_import import import_pyannote
absent = [name for name in ("jupyter", "ray") if importlib.util.find_spec(name) is None]
print("extras absent:", " ".join(absent))
print("py.typed:", (pathlib.Path(heard_local.__file__).parent / "py.typed").is_file())
print("torch:", torch.__version__)
lib = pathlib.Path(sysconfig.get_paths()["purelib"], "torchaudio", "lib")
print("torchaudio native libraries present:", any(lib.glob("_torchaudio*.so")))
print("pyannote.audio:", import_pyannote().__version__)
"""


def wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"heard-local serve exited ({server.returncode}):\n{log.read_text()[-3000:]}"
        try:
            response = httpx.get(f"{url}/api/v1/health", timeout=5)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"/health did not answer within {timeout} s:\n{log.read_text()[-3000:]}")
