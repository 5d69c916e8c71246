"""``heard-local serve``: one process with the engine, the HTTP API, the web UI and the watcher."""

from __future__ import annotations

import dataclasses
import gc
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from heard_local import __version__
from heard_local.api import create_app
from heard_local.api.connections import uvicorn_config
from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.errors import HeardError
from heard_local.runtime import ServerInfo, is_loopback_host, remove_server_info, server_url, write_server_info

log = logging.getLogger(__name__)


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def build_app(engine: Engine, info: ServerInfo, *, ui: bool) -> Any:
    """The API, with the web UI at ``/`` when ``ui``; the UI asks for ``info.ui_token`` ("" for no sign-in)."""
    app = create_app(engine, admin_token=info.admin_token)
    if ui:
        from heard_local.ui import mount_ui

        app = mount_ui(app, engine, sign_in_token=info.ui_token or None)
    return app


_TLS_WARNING = ("  warning:  {host} is reachable from the network over plain HTTP: the sign-in token, the session "
                "cookie and API keys travel unencrypted. Put heard-local behind a TLS reverse proxy (Caddy, nginx) "
                "or reach it through an SSH tunnel.")


def _sign_in_problem(settings: Settings, *, ui: bool, insecure_no_auth: bool) -> str | None:
    """Why ``serve`` must not start: the web UI open to the network without sign-in, not asked for."""
    if ui and not settings.ui_auth and not insecure_no_auth and not is_loopback_host(settings.host):
        return (f"heard-local: the web UI would be open to everyone who can reach {settings.host} without "
                "signing in (HEARD_UI_AUTH is off). Keep sign-in on, bind to 127.0.0.1, or pass "
                "--insecure-no-auth if you really mean it.")
    return None


def start_services(engine: Engine, *, watcher: bool) -> None:
    """Background companions that live as long as the engine (stopped by engine.close())."""

    engine.add_service(engine.webhook_deliverer())
    from heard_local.engine.snapshots import ParquetSnapshotService

    engine.add_service(ParquetSnapshotService(engine))
    if watcher:
        from heard_local.watcher import WatchService

        engine.add_service(WatchService(engine))


def serve(settings: Settings, *, ui: bool = True, watcher: bool = True, insecure_no_auth: bool = False) -> int:
    problem = _sign_in_problem(settings, ui=ui, insecure_no_auth=insecure_no_auth)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    sign_in = ui and settings.ui_auth and not insecure_no_auth
    if not _port_free(settings.host, settings.port):
        print(f"heard-local: port {settings.port} on {settings.host} is already in use. Choose another with "
              "--port, or stop the program using it.", file=sys.stderr)
        return 2
    try:
        engine = Engine.open(settings)
    except HeardError as exc:
        print(f"heard-local: {exc}", file=sys.stderr)
        return 2
    url = server_url(settings.host, settings.port)
    info = ServerInfo.new(url, __version__)
    if not sign_in:
        info = dataclasses.replace(info, ui_token="")
    try:
        start_services(engine, watcher=watcher)
        app = build_app(engine, info, ui=ui)
        print(f"heard-local {__version__} serving on {url}  (data: {settings.data_dir})", file=sys.stderr)
        if ui and sign_in:
            print(f"  web UI:   {info.ui_login_url}", file=sys.stderr)
            print("            (open this address to sign in; `heard-local url` prints it again)", file=sys.stderr)
        elif ui:
            print(f"  web UI:   {url}/  (NO SIGN-IN: anyone who can reach it can read and delete everything)",
                  file=sys.stderr)
        print(f"  API:      {url}/api/v1  (docs: {url}/docs)", file=sys.stderr)
        if not is_loopback_host(settings.host):
            print(_TLS_WARNING.format(host=settings.host), file=sys.stderr)
        config = uvicorn_config(app, settings)  # bounded connections, a deadline for request headers
        # server.json tells the CLI, notebooks and tests where to connect: written once the socket listens
        _ListeningServer(config, lambda: write_server_info(settings.server_info_path, info)).run()
    finally:
        remove_server_info(settings.server_info_path)
        engine.close()
    return 0


class _ListeningServer(uvicorn.Server):
    """uvicorn's server, calling ``on_listening`` once its sockets accept connections."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]):
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            tune_interpreter_for_serving()
            self._on_listening()


# Measured with `python -m benchmarks api` (50 concurrent ingest clients, 2 cores): 1,070 -> 1,470
# accepted/s and p99 127 -> 41 ms. See tune_interpreter_for_serving.
_SWITCH_INTERVAL_S = 0.0005
_GC_THRESHOLDS = (10_000, 20, 100)


def tune_interpreter_for_serving() -> None:
    """Two interpreter settings that decide the API's tail latency under load.

    - The event loop and the ingest writer thread take turns on the GIL; the writer gives it up in every
      DuckDB call and, with the default 5 ms switch interval, may wait that long to get it back, several
      times per batch. A shorter interval keeps a batch's commit (and its 50 waiting requests) short.
    - Everything imported and built at start-up (torch, gradio, the app) is frozen out of the cyclic
      collector, and collections run less often: a full collection over that heap paused every
      request for up to 100 ms.
    """
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)
