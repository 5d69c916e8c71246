"""Exports the same way whether a server runs or not.

When ``heard-local serve`` owns the data directory, only it may open the database, so exports are
asked of it over its local API (:class:`RemoteExports`, authenticated with the admin token it wrote to
``server.json``). Otherwise the engine is opened in this process (:class:`LocalExports`).
:func:`open_exports` picks the right one; the CLI and the notebook helper use it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx

from heard_local.config import Settings
from heard_local.domain import Transcription
from heard_local.errors import HeardError, InternalError, TransientError, error_from_code
from heard_local.exports.fields_csv import to_csv
from heard_local.runtime import running_server


class Exports(Protocol):
    def transcription(self, transcription_id: str) -> Transcription: ...

    def completed_transcription_ids(self) -> list[str]: ...

    def fields_csv(self, configuration: str | None = None, *, layout: str = "wide", excel: bool = False) -> str: ...

    def refresh_parquet(self) -> dict[str, Any]: ...

    def export_parquet(self, directory: Path) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalExports:
    """Exports from an engine opened in this process."""

    def __init__(self, engine: Any, *, owns_engine: bool = False):
        self.engine = engine
        self._owns_engine = owns_engine

    def transcription(self, transcription_id: str) -> Transcription:
        return self.engine.get_transcription(transcription_id)

    def completed_transcription_ids(self) -> list[str]:
        return [record.transcription_id for record in self.engine.export_fields().records]

    def fields_csv(self, configuration: str | None = None, *, layout: str = "wide", excel: bool = False) -> str:
        return to_csv(self.engine.export_fields(configuration), layout=layout, excel=excel)

    def refresh_parquet(self) -> dict[str, Any]:
        return self.engine.export_parquet()

    def export_parquet(self, directory: Path) -> dict[str, Any]:
        return self.engine.export_parquet(Path(directory), force=True)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.close()


class RemoteExports:
    """Exports from a running heard-local server, over its HTTP API."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 300.0,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + "/api/v1", headers={"X-API-Key": api_key},
                                  timeout=timeout, transport=transport)

    @classmethod
    def for_data_dir(cls, data_dir: Path | str) -> RemoteExports | None:
        """Exports from the server owning ``data_dir``, or None when no server runs there."""
        info = running_server(Path(data_dir))
        return None if info is None else cls(info.url, info.admin_token)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise TransientError(f"heard-local at {self.base_url} is not reachable ({exc}). Is "
                                 "`heard-local serve` still running?") from None
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def transcription(self, transcription_id: str) -> Transcription:
        return Transcription.model_validate(self._request("GET", f"/transcriptions/{transcription_id}").json())

    def completed_transcription_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            page = self._request("GET", "/transcriptions", params={"status": "COMPLETED", "limit": 1000,
                                                                    "offset": offset}).json()
            ids += [item["transcription_id"] for item in page["transcriptions"]]
            offset += len(page["transcriptions"])
            if not page["transcriptions"] or offset >= page["total"]:
                return ids

    def fields_csv(self, configuration: str | None = None, *, layout: str = "wide", excel: bool = False) -> str:
        params: dict[str, Any] = {"layout": layout, "excel": str(excel).lower()}
        if configuration:
            params["configuration"] = configuration
        response = self._request("GET", "/exports/fields", params=params)
        return response.content.decode("utf-8")

    def refresh_parquet(self) -> dict[str, Any]:
        return self._request("POST", "/exports/parquet").json()

    def export_parquet(self, directory: Path) -> dict[str, Any]:
        """A fresh snapshot from the server, downloaded into ``directory`` (each file replaced atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        manifest = self.refresh_parquet()
        for name, table in manifest["tables"].items():
            temp = directory / f".{table['file']}.download"
            try:
                with self._http.stream("GET", f"/exports/parquet/{name}") as response:
                    if response.status_code >= 400:
                        response.read()
                        raise _error_from(response)
                    with open(temp, "wb") as handle:
                        for chunk in response.iter_bytes():
                            handle.write(chunk)
            except httpx.TransportError as exc:
                temp.unlink(missing_ok=True)
                raise TransientError(f"Downloading {name}.parquet from {self.base_url} failed ({exc})") from None
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            os.replace(temp, directory / table["file"])
        manifest = {**manifest, "directory": str(directory.resolve())}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return manifest

    def close(self) -> None:
        self._http.close()


def _error_from(response: httpx.Response) -> HeardError:
    try:
        error = response.json()["error"]
        return error_from_code(error["code"], error["message"], error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return InternalError(f"HTTP {response.status_code} from heard-local: {response.text[:200]}")


@contextmanager
def open_exports(settings: Settings) -> Iterator[Exports]:
    """Exports through the server owning ``settings.data_dir``, else through an engine opened here
    (without workers: exporting runs no jobs)."""
    remote = RemoteExports.for_data_dir(settings.data_dir)
    if remote is not None:
        try:
            yield remote
        finally:
            remote.close()
        return
    from heard_local.engine import Engine

    local = LocalExports(Engine.open(settings, workers=False), owns_engine=True)
    try:
        yield local
    finally:
        local.close()
