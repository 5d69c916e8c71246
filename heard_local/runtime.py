"""What a running server tells other local processes: ``server.json`` in the data directory.

It holds the server's URL, PID and an admin token, readable only by the owner (mode 0600 inside a
0700 directory). The CLI uses it to talk to the server that owns the database instead of opening it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from heard_local.data_dir_lock import holder_pid, is_locked


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    url: str
    admin_token: str
    version: str
    ui_token: str = ""  # the web UI's sign-in token ("" when the server has no UI or runs without sign-in)

    @classmethod
    def new(cls, url: str, version: str) -> ServerInfo:
        return cls(pid=os.getpid(), url=url, admin_token=secrets.token_urlsafe(32), version=version,
                   ui_token=secrets.token_urlsafe(32))

    @property
    def ui_login_url(self) -> str | None:
        """``http://host:port/?token=…``: opening it signs a browser in to the web UI (like Jupyter's)."""
        return f"{self.url}/?token={self.ui_token}" if self.ui_token else None


def server_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets (``http://[::1]:8000``) as URLs require."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def write_server_info(path: Path, info: ServerInfo) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(info), handle)
    os.replace(tmp, path)


def remove_server_info(path: Path) -> None:
    try:
        info = read_server_info(path)
        if info is None or info.pid == os.getpid():
            path.unlink(missing_ok=True)
    except OSError:
        pass


def read_server_info(path: Path) -> ServerInfo | None:
    try:
        data = json.loads(path.read_text())
        return ServerInfo(pid=int(data["pid"]), url=str(data["url"]), admin_token=str(data["admin_token"]),
                          version=str(data.get("version", "")), ui_token=str(data.get("ui_token", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_server(data_dir: Path) -> ServerInfo | None:
    """The server owning ``data_dir``, when one is running and has published its address."""
    lock_path = data_dir / "heard.lock"
    if not is_locked(lock_path):
        return None
    info = read_server_info(data_dir / "server.json")
    if info is None or info.pid != holder_pid(lock_path):
        return None
    return info


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a bind address or a Host header's name) is this machine only."""
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
