"""The data directory lock: exclusive across processes and file descriptors, gone when its holder is
killed, and the package imports (and explains itself) where ``fcntl`` does not exist, as on Windows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from heard_local import __version__
from heard_local.data_dir_lock import DataDirLock, holder_pid, is_locked
from heard_local.errors import DataDirLockedError

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_lock_is_exclusive_names_its_holder_and_frees_on_release(tmp_path: Path) -> None:
    path = tmp_path / "data" / "heard.lock"
    lock = DataDirLock(path)
    lock.acquire()
    try:
        assert lock.held and is_locked(path)
        assert holder_pid(path) == os.getpid()
        with pytest.raises(DataDirLockedError) as caught:
            DataDirLock(path).acquire()  # another descriptor, even in this process
        assert caught.value.details["pid"] == os.getpid()
    finally:
        lock.release()
    assert not lock.held and not is_locked(path)
    again = DataDirLock(path)
    again.acquire()
    again.release()


def test_a_killed_holder_frees_the_lock_and_a_new_holder_overwrites_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "heard.lock"
    path.write_text("\n" + "9" * 20 + "\n")  # a longer, stale PID from an earlier holder
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from heard_local.data_dir_lock import DataDirLock
            DataDirLock(Path({str(path)!r})).acquire()
            print("locked", flush=True)
            time.sleep(600)
        """)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert is_locked(path) and holder_pid(path) == holder.pid
        with pytest.raises(DataDirLockedError) as caught:
            DataDirLock(path).acquire()
        assert f"process {holder.pid}" in caught.value.message
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert not is_locked(path)
    lock = DataDirLock(path)
    lock.acquire()
    assert holder_pid(path) == os.getpid()
    lock.release()


# Runs in a fresh interpreter where ``import fcntl`` fails, as on Windows: everything a user starts with
# imports, the CLI answers, and taking the lock says what is wrong instead of crashing with ImportError.
WITHOUT_FCNTL = """
import importlib.abc, sys

class NoFcntl(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ModuleNotFoundError("No module named 'fcntl' (simulated)", name=name)
        return None

sys.meta_path.insert(0, NoFcntl())
sys.modules.pop("fcntl", None)
try:
    import fcntl
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("the simulation did not hide fcntl")

import heard_local, heard_local.cli, heard_local.config, heard_local.runtime, heard_local.notebook
import heard_local.engine, heard_local.client
from pathlib import Path
from heard_local.errors import HeardError
from heard_local.data_dir_lock import DataDirLock, is_locked

path = Path(sys.argv[1])
try:
    DataDirLock(path).acquire()
except HeardError as error:
    print("LOCK:", error.message)
print("LOCKED:", is_locked(path))
print("FCNTL LOADED:", "fcntl" in sys.modules)
sys.argv = ["heard-local", "--version"]
heard_local.cli.main()
"""


def test_the_package_imports_and_explains_the_lock_without_fcntl(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", WITHOUT_FCNTL, str(tmp_path / "heard.lock")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert "Traceback" not in result.stderr, result.stderr
    assert "LOCK: Cannot lock" in result.stdout and "no file locks" in result.stdout, result.stdout
    assert "Put the data directory on a local disk" in result.stdout
    assert "LOCKED: False" in result.stdout and "FCNTL LOADED: False" in result.stdout
    assert result.stdout.strip().endswith(f"heard-local {__version__}"), result.stdout
    assert result.returncode == 0
