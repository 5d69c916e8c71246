"""A small Python client for a running heard-local server (notebooks, scripts, the CLI).

    from heard_local.client import HeardClient
    client = HeardClient("http://127.0.0.1:8000", api_key="sk_local_…")
    job = client.ingest_transcript("Agent: Hi\\nCustomer: Hello", metadata={"channel": "chat"})
    transcription = client.wait_for_transcription(job["job_id"])

Errors come back as heard-local's own exception types (NotFoundError, ValidationError, …), rebuilt
from the API's error envelope. A 429 is retried after the server's Retry-After (``rate_limit_retries``
times). Ingest calls take an ``idempotency_key`` so a retried submission never queues twice, and
:func:`verify_webhook` checks a webhook's signature in a receiver.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from heard_local.domain.webhook_signature import verify as verify_webhook
from heard_local.errors import HeardError, InternalError, RateLimitedError, TransientError, error_from_code
from heard_local.runtime import running_server
from heard_local.views import completed_transcription_ids, poll_job


class HeardClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", api_key: str | None = None, *,
                 timeout: float = 60.0, transport: httpx.BaseTransport | None = None, rate_limit_retries: int = 5):
        self.base_url = base_url.rstrip("/")
        self.rate_limit_retries = rate_limit_retries
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=timeout,
                                  transport=transport)

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, *, timeout: float = 60.0) -> HeardClient | None:
        """A client for the local server owning ``data_dir`` (admin rights), or None if none runs."""
        info = running_server(Path(data_dir))
        if info is None:
            return None
        return cls(info.url, api_key=info.admin_token, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HeardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, idempotency_key: str | None = None,
                 body: Callable[[], dict[str, Any]] | None = None, **kwargs: Any) -> Any:
        """One call; ``body`` builds fresh request arguments for each try (an upload reopens its file)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        for attempt in range(self.rate_limit_retries + 1):
            try:
                response = self._http.request(method, path, headers=headers, **kwargs, **(body() if body else {}))
            except httpx.TransportError as exc:
                raise TransientError(f"heard-local at {self.base_url} is not reachable ({exc}). Is "
                                     "`heard-local serve` running?") from None
            if response.status_code < 400:
                return response.json() if response.content else None
            error = _error_from_response(response)
            if not isinstance(error, RateLimitedError) or attempt == self.rate_limit_retries:
                raise error
            time.sleep(_retry_after(response, error))
        raise AssertionError("unreachable")

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A call the API answers with a JSON object (every endpoint but the file downloads)."""
        answer = self._request(method, path, **kwargs)
        if not isinstance(answer, dict):
            raise InternalError(f"{method} {path}: heard-local answered {type(answer).__name__}, not a JSON object")
        return answer

    def _raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call whose body is not JSON (CSV, Parquet); errors still come back as heard-local's types."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise TransientError(f"heard-local at {self.base_url} is not reachable ({exc}). Is "
                                 "`heard-local serve` running?") from None
        if response.status_code >= 400:
            raise _error_from_response(response)
        return response

    # --- ingestion --------------------------------------------------------------------------------

    def ingest_transcript(self, transcript_text: str, *, metadata: dict[str, Any] | None = None,
                          configuration_id: str | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"transcript_text": transcript_text, "metadata": metadata or {}}
        if configuration_id:
            body["configuration_id"] = configuration_id
        return self._object("POST", "/ingest/transcript", json=body, idempotency_key=idempotency_key)

    def ingest_audio(self, path: Path | str, *, metadata: dict[str, Any] | None = None,
                     configuration_id: str | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        """Upload a recording (streamed from disk, never read into memory whole)."""
        path = Path(path)
        data = {"metadata": json.dumps(metadata or {})}
        if configuration_id:
            data["configuration_id"] = configuration_id
        with ExitStack() as files:

            def body() -> dict[str, Any]:
                handle = files.enter_context(open(path, "rb"))
                return {"data": data, "files": {"audio_file": (path.name, handle, "application/octet-stream")}}

            return self._object("POST", "/ingest/audio", body=body, idempotency_key=idempotency_key)

    def ingest_audio_url(self, audio_url: str, *, metadata: dict[str, Any] | None = None,
                         configuration_id: str | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"audio_url": audio_url, "metadata": metadata or {}}
        if configuration_id:
            body["configuration_id"] = configuration_id
        return self._object("POST", "/ingest/audio", json=body, idempotency_key=idempotency_key)

    def job(self, job_id: str) -> dict[str, Any]:
        return self._object("GET", f"/ingest/jobs/{job_id}")

    def wait_for_job(self, job_id: str, *, timeout: float | None = None, poll: float = 0.5,
                     on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        return poll_job(lambda: self.job(job_id), lambda: time.sleep(poll), timeout=timeout, on_progress=on_progress)

    def wait_for_transcription(self, job_id: str, *, timeout: float | None = None) -> dict[str, Any]:
        job = self.wait_for_job(job_id, timeout=timeout)
        return self.transcription(job["transcription_id"])

    # --- transcriptions ---------------------------------------------------------------------------

    def transcriptions(self, **filters: Any) -> dict[str, Any]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._object("GET", "/transcriptions", params=params)

    def transcription(self, transcription_id: str, *, words: bool = False) -> dict[str, Any]:
        """The transcription; ``words=True`` adds each segment's timed words."""
        return self._object("GET", f"/transcriptions/{transcription_id}", params={"words": "true"} if words else None)

    # corrections (each answers with the corrected transcription, words included)

    def correct_segment(self, transcription_id: str, index: int, *, text: str | None = None,
                        speaker: str | None = None) -> dict[str, Any]:
        body = {k: v for k, v in {"text": text, "speaker": speaker}.items() if v is not None}
        return self._object("PATCH", f"/transcriptions/{transcription_id}/segments/{index}", json=body)

    def merge_segment(self, transcription_id: str, index: int) -> dict[str, Any]:
        return self._object("POST", f"/transcriptions/{transcription_id}/segments/{index}/merge")

    def split_segment(self, transcription_id: str, index: int, word_index: int) -> dict[str, Any]:
        return self._object("POST", f"/transcriptions/{transcription_id}/segments/{index}/split",
                            json={"word_index": word_index})

    def undo_correction(self, transcription_id: str, *, all_corrections: bool = False) -> dict[str, Any]:
        return self._object("POST", f"/transcriptions/{transcription_id}/segments/undo",
                            params={"all": "true"} if all_corrections else None)

    def delete_transcription(self, transcription_id: str) -> dict[str, Any]:
        return self._object("DELETE", f"/transcriptions/{transcription_id}")

    def set_group(self, transcription_id: str, group: str | None) -> dict[str, Any]:
        return self._object("POST", "/update-transcription-group",
                            json={"transcription_id": transcription_id, "group": group})

    def rename_speaker(self, transcription_id: str, speaker: str, name: str | None) -> dict[str, Any]:
        return self._object("POST", f"/transcriptions/{transcription_id}/speakers",
                            json={"speaker": speaker, "name": name})

    def remember_voice(self, transcription_id: str, speaker: str, name: str,
                       role: str | None = None) -> dict[str, Any]:
        return self._object("POST", "/voices", json={"transcription_id": transcription_id, "speaker": speaker,
                                                      "name": name, "role": role})

    def voices(self) -> dict[str, Any]:
        return self._object("GET", "/voices")

    def delete_voice(self, voice_id: str) -> dict[str, Any]:
        return self._object("DELETE", f"/voices/{voice_id}")

    def voice_transcriptions(self, voice_id: str) -> dict[str, Any]:
        return self._object("GET", f"/voices/{voice_id}/transcriptions")

    def reprocess(self, transcription_id: str) -> dict[str, Any]:
        return self._object("POST", f"/transcriptions/{transcription_id}/reprocess")

    def completed_transcription_ids(self) -> list[str]:
        return completed_transcription_ids(self.transcriptions)

    # --- exports ----------------------------------------------------------------------------------

    def fields_csv(self, configuration: str | None = None, *, layout: str = "wide", excel: bool = False) -> str:
        """Extracted fields of completed conversations as CSV (see heard_local.exports.fields_csv)."""
        params: dict[str, Any] = {"layout": layout, "excel": str(excel).lower()}
        if configuration:
            params["configuration"] = configuration
        return self._raw("GET", "/exports/fields", params=params).content.decode("utf-8")

    def refresh_parquet(self) -> dict[str, Any]:
        """Bring the server's Parquet snapshot (the data directory's exports/) up to date; its manifest."""
        return self._object("POST", "/exports/parquet")

    def export_parquet(self, directory: Path | str) -> dict[str, Any]:
        """A fresh snapshot, downloaded into ``directory`` (each file replaced atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        manifest = self.refresh_parquet()
        for name, table in manifest["tables"].items():
            temp = directory / f".{table['file']}.download"
            try:
                with self._http.stream("GET", f"/exports/parquet/{name}") as response:
                    if response.status_code >= 400:
                        response.read()
                        raise _error_from_response(response)
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

    # --- configurations, analytics, customers -----------------------------------------------------

    def configurations(self) -> list[dict[str, Any]]:
        return _objects(self._object("GET", "/configurations"), "configurations")

    def configuration(self, configuration_id: str) -> dict[str, Any]:
        return self._object("GET", f"/configurations/{configuration_id}")

    def create_configuration(self, **body: Any) -> dict[str, Any]:
        return self._object("POST", "/configurations", json=body)

    def update_configuration(self, configuration_id: str, **changes: Any) -> dict[str, Any]:
        return self._object("PATCH", f"/configurations/{configuration_id}", json=changes)

    def delete_configuration(self, configuration_id: str) -> dict[str, Any]:
        return self._object("DELETE", f"/configurations/{configuration_id}")

    def analytics(self, configuration_id: str) -> dict[str, Any]:
        return self._object("GET", f"/configurations/{configuration_id}/analytics")

    def customers(self, **params: Any) -> dict[str, Any]:
        return self._object("GET", "/customers", params={k: v for k, v in params.items() if v is not None})

    def customer(self, customer_id: str) -> dict[str, Any]:
        return self._object("GET", f"/customers/{customer_id}")

    # --- system -----------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._object("GET", "/health")

    def status(self) -> dict[str, Any]:
        return self._object("GET", "/status")

    def create_key(self, name: str) -> dict[str, Any]:
        return self._object("POST", "/keys", json={"name": name})

    def list_keys(self) -> list[dict[str, Any]]:
        return _objects(self._object("GET", "/keys"), "keys")

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return self._object("DELETE", f"/keys/{key_id}")


def _objects(answer: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = answer.get(key)
    if not isinstance(items, list):
        raise InternalError(f"heard-local's answer has no list {key!r}")
    return items


def _retry_after(response: httpx.Response, error: RateLimitedError) -> float:
    """The precise wait from the error's details, else the (whole-second) Retry-After header."""
    if "retry_after" in error.details:
        seconds = error.retry_after
    else:
        header = response.headers.get("retry-after", "")
        seconds = float(header) if header.isdigit() else 1.0
    return min(60.0, max(0.05, seconds))


def _error_from_response(response: httpx.Response) -> HeardError:
    try:
        error = response.json()["error"]
        return error_from_code(error["code"], error["message"], error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return InternalError(f"HTTP {response.status_code} from heard-local: {response.text[:200]}")


__all__ = ["HeardClient", "verify_webhook"]
