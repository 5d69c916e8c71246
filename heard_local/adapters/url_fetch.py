"""Downloading an ``audio_url`` without letting it reach this machine or its network (SSRF).

What may be reached is :mod:`heard_local.adapters.url_policy` (the same policy as webhooks): every hop (the
URL and each redirect) is checked, and the connection goes to the address that was checked. Size is
capped, and ``url_fetch_timeout_seconds`` bounds the whole fetch: DNS, connect, headers and body.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import certifi
import httpcore

from heard_local import __version__
from heard_local.adapters.url_policy import (
    AUDIO_URL,
    DeadlineBackend,
    DeadlineExceeded,
    Resolver,
    Target,
    UrlPolicy,
    check_url,
    checked_address,
    parse_ipv4_literal,
    parse_target,
    system_resolver,
    timeouts_until,
)
from heard_local.errors import FileTooLargeError, HeardError, TransientError, ValidationError
from heard_local.pipeline.audio_format import detect_audio_format
from heard_local.pipeline.progress import ProgressHook, null_hook

# Re-exported: callers that check an audio_url at submission import them from here.
__all__ = ["FetchedAudio", "UrlFetcher", "UrlPolicy", "check_url", "parse_ipv4_literal",
           "url_file_name"]

FIELD = AUDIO_URL
_REDIRECTS = {301, 302, 303, 307, 308}


def url_file_name(url: str) -> str | None:
    """The last path segment of ``url``, decoded ("call-recording.wav"), as a transcription's name."""
    name = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]).strip()
    return name[:255] or None


# --- fetching -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedAudio:
    path: Path  # a temporary file in the destination directory; the caller moves or deletes it
    sha256: str
    format: str
    size: int
    final_url: str


class UrlFetcher:
    def __init__(self, policy: UrlPolicy, *, max_bytes: int, timeout_seconds: float, max_redirects: int = 5,
                 resolver: Resolver = system_resolver, ssl_context: ssl.SSLContext | None = None):
        self.policy = policy
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self.max_redirects = max_redirects
        self.resolver = resolver
        # certifi's bundle (an httpx dependency): the same trust store on every platform.
        self.ssl_context = ssl_context or ssl.create_default_context(cafile=certifi.where())

    @classmethod
    def from_settings(cls, settings: Any, *, resolver: Resolver = system_resolver) -> UrlFetcher:
        return cls(UrlPolicy.from_settings(settings), max_bytes=settings.max_upload_bytes,
                   timeout_seconds=settings.url_fetch_timeout_seconds, max_redirects=settings.url_max_redirects,
                   resolver=resolver)

    def fetch(self, url: str, dest_dir: Path, hook: ProgressHook = null_hook) -> FetchedAudio:
        """Download ``url`` into a server-named file in ``dest_dir`` and recognise its audio format."""
        deadline = time.monotonic() + self.timeout_seconds
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="fetch-", suffix=".part", dir=dest_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                size, sha, final_url = self._download(url, out, deadline, hook)
            fmt = detect_audio_format(path)
        except HeardError as exc:
            path.unlink(missing_ok=True)
            if exc.details.get("field") == "audio_file":
                exc.details["field"] = FIELD
            raise
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return FetchedAudio(path=path, sha256=sha, format=fmt, size=size, final_url=final_url)

    def _download(self, url: str, out: Any, deadline: float, hook: ProgressHook) -> tuple[int, str, str]:
        for _hop in range(self.max_redirects + 1):
            target = parse_target(url)
            try:
                address = checked_address(target, self.policy, self.resolver, deadline)
            except DeadlineExceeded:
                raise self._timeout_error(deadline) from None
            pool = httpcore.ConnectionPool(ssl_context=self.ssl_context,
                                           network_backend=DeadlineBackend(address, deadline),
                                           max_connections=1, retries=0)
            try:
                with pool.stream("GET", target.url, headers=self._headers(target),
                                 extensions={"timeout": timeouts_until(deadline)}) as response:
                    if response.status in _REDIRECTS:
                        location = _header(response.headers, b"location")
                        if not location:
                            raise ValidationError(f"audio_url redirected (HTTP {response.status}) without a "
                                                  "Location", field=FIELD)
                        url = urljoin(target.url, location)
                        continue
                    _raise_for_status(response.status)
                    return (*self._read_body(response, out, deadline, hook), target.url)
            except httpcore.TimeoutException:
                raise self._timeout_error(deadline) from None
            except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
                if time.monotonic() >= deadline:  # the watchdog closed the socket
                    raise self._timeout_error(deadline) from None
                raise TransientError(f"audio_url could not be downloaded from {target.host} "
                                     f"({type(exc).__name__}: {exc}); it will be retried") from None
            finally:
                pool.close()
        raise ValidationError(f"audio_url redirected more than {self.max_redirects} times", field=FIELD)

    def _read_body(self, response: httpcore.Response, out: Any, deadline: float,
                   hook: ProgressHook) -> tuple[int, str]:
        declared = _header(response.headers, b"content-length")
        total = int(declared) if declared and declared.isdigit() else None
        if total is not None and total > self.max_bytes:
            raise self._too_large()
        digest = hashlib.sha256()
        size = 0
        hook("download", completed=0, total=total)
        for chunk in response.iter_stream():
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            if time.monotonic() > deadline:
                raise self._timeout_error(deadline)
            digest.update(chunk)
            out.write(chunk)
            hook("download", completed=size, total=total)
        if time.monotonic() >= deadline:  # an end of the body seen this late may be the deadline's watchdog
            raise self._timeout_error(deadline)
        if size == 0:
            raise ValidationError("audio_url returned an empty body", field=FIELD)
        return size, digest.hexdigest()

    def _headers(self, target: Target) -> list[tuple[bytes, bytes]]:
        return [(b"Host", target.host_header.encode("ascii")), (b"User-Agent", f"heard-local/{__version__}".encode()),
                (b"Accept", b"audio/*, application/octet-stream;q=0.9, */*;q=0.5"), (b"Accept-Encoding", b"identity")]

    def _too_large(self) -> FileTooLargeError:
        return FileTooLargeError(f"audio_url is larger than the maximum size ({self.max_bytes // (1024 * 1024)} MB)",
                                 field=FIELD)

    def _timeout_error(self, deadline: float) -> HeardError:
        if time.monotonic() >= deadline - 0.01:
            return ValidationError(f"audio_url took longer than {self.timeout_seconds:g} s to download; raise "
                                   "HEARD_URL_FETCH_TIMEOUT_SECONDS or upload the file instead", field=FIELD)
        return TransientError("audio_url: the server stopped answering; it will be retried")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _raise_for_status(status: int) -> None:
    if 200 <= status < 300:
        return
    if status in (408, 425, 429) or status >= 500:
        raise TransientError(f"audio_url answered HTTP {status}; it will be retried")
    raise ValidationError(f"audio_url answered HTTP {status}; check that the URL is public and not expired",
                          field=FIELD, details={"http_status": status})
