"""Downloading an ``audio_url`` without letting it reach this machine or its network (SSRF).

Every hop (the URL and each redirect) is checked the same way: the host is resolved once, every
address it resolves to must be globally routable (no loopback, private, link-local, CGNAT, multicast
or reserved space, including IPv4 hidden in IPv6 forms and numeric host spellings such as
``2130706433`` or ``0x7f000001``), and the connection goes to the address that was checked, so a DNS
answer that changes between check and connect (rebinding) cannot redirect it. Size and total time are
capped. ``allow_private_urls`` or ``url_allowed_networks`` open the LAN for users whose recordings
live there.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import certifi
import httpcore

from heard_local import __version__
from heard_local.errors import FileTooLargeError, HeardError, TransientError, ValidationError
from heard_local.pipeline.audio_format import detect_audio_format
from heard_local.pipeline.progress import ProgressHook, null_hook

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

FIELD = "audio_url"
_SCHEMES = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 1 << 16
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_PRIVATE_HINT = ("set HEARD_ALLOW_PRIVATE_URLS=1, or list the network in HEARD_URL_ALLOWED_NETWORKS, "
                 "if your recordings live on your LAN")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the operating system's resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:  # the resolver is unreachable right now
            raise TransientError(f"audio_url: resolving {host!r} failed for now ({exc}); it will be retried") from None
        raise ValidationError(f"audio_url: the host {host!r} cannot be resolved ({exc})", field=FIELD) from None
    except UnicodeError as exc:
        raise ValidationError(f"audio_url: the host {host!r} is not a valid host name ({exc})", field=FIELD) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- addresses ------------------------------------------------------------------------------------


def parse_ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a numeric host means to ``inet_aton`` (and so to browsers, curl and libc):
    1 to 4 dot-separated parts, each decimal, ``0x`` hex or ``0`` octal, the last filling the rest.
    ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and ``127.1`` are all 127.0.0.1. None for a name."""
    parts = host.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part[:2].lower() == "0x":
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            elif part.isdigit():
                values.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    number = number << 8 * (4 - len(head)) | last
    return ipaddress.IPv4Address(number)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host spells directly (any IPv4 encoding, or IPv6), else None."""
    host = host.strip("[]")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])  # drop a zone id (fe80::1%eth0)
        except ValueError:
            return None
    return parse_ipv4_literal(host)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class UrlPolicy:
    """Which addresses an audio_url may reach."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> UrlPolicy:
        networks = []
        for text in settings.url_allowed_networks:
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValidationError(f"HEARD_URL_ALLOWED_NETWORKS: {text!r} is not a network "
                                      "(use CIDR, e.g. 192.168.1.0/24)", field="url_allowed_networks") from None
        return cls(allow_private=settings.allow_private_urls, allowed_networks=tuple(networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be reached, or None when it may."""
        if any(address.version == net.version and address in net for net in self.allowed_networks):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            inner = embedded_ipv4(address)
            if inner is not None:
                reason = self.refusal(inner)
                return f"{reason} (inside the IPv6 address {address})" if reason else None
        if address.is_multicast or address.is_unspecified:
            return f"{address} is a multicast or unspecified address"
        if address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"):
            return f"{address} is the broadcast address"
        if self.allow_private:
            return None
        if address.is_loopback:
            return f"{address} is this machine (loopback)"
        if address.is_link_local:
            return f"{address} is a link-local address (cloud metadata services live there)"
        if address.version == 4 and address in _CGNAT:
            return f"{address} is carrier-grade NAT space (100.64.0.0/10)"
        if address.is_private or address.is_reserved or not address.is_global:
            return f"{address} is a private or reserved address"
        return None


# --- URLs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # as written (lower case, no brackets)
    port: int
    host_header: str


def parse_target(url: str) -> Target:
    """Split and sanity-check an http(s) URL; ValidationError (field audio_url) for anything else."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"audio_url is not a valid URL ({exc})", field=FIELD) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValidationError("audio_url must be an http:// or https:// URL", field=FIELD)
    host = parts.hostname or ""
    if not host:
        raise ValidationError("audio_url has no host", field=FIELD)
    if parts.username is not None or parts.password is not None:
        raise ValidationError("audio_url must not carry a user name or password; use a signed URL instead",
                              field=FIELD)
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationError("audio_url must not contain spaces or control characters", field=FIELD)
    default_port = _SCHEMES[scheme]
    bracketed = f"[{host}]" if ":" in host else host
    try:
        host_header = bracketed.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"audio_url: the host {host!r} is not a valid host name", field=FIELD) from None
    if port is not None and port != default_port:
        host_header += f":{port}"
    return Target(url=url, scheme=scheme, host=host, port=port or default_port, host_header=host_header)


def check_url(url: str, policy: UrlPolicy) -> str:
    """The checks that need no network: scheme, shape, and hosts that are addresses or always local.
    Returns the URL stripped. The full check (resolving the name) happens when it is fetched."""
    target = parse_target(url)
    if target.host == "localhost" or target.host.endswith(".localhost"):
        address: IPAddress | None = ipaddress.IPv4Address("127.0.0.1")
    else:
        address = literal_address(target.host)
    if address is not None:
        reason = policy.refusal(address)
        if reason:
            raise ValidationError(f"audio_url may not point to {reason}; {_PRIVATE_HINT}", field=FIELD,
                                  details={"address": str(address)})
    return target.url


def url_file_name(url: str) -> str | None:
    """The last path segment of ``url``, decoded ("call-recording.wav"), as a transcription's name."""
    name = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]).strip()
    return name[:255] or None


# --- fetching -------------------------------------------------------------------------------------


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to one checked address whatever host name the request carries, so TLS still verifies
    the certificate for the name while DNS is never asked again."""

    def __init__(self, address: str):
        self._address = address
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return self._inner.connect_tcp(self._address, port, timeout=timeout, local_address=local_address,
                                       socket_options=socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for audio_url")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


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

    def checked_address(self, target: Target) -> str:
        """Resolve ``target``'s host once and return an address to connect to, refusing the host if any
        of its addresses may not be reached."""
        literal = literal_address(target.host)
        candidates = [str(literal)] if literal is not None else self.resolver(target.host, target.port)
        if not candidates:
            raise ValidationError(f"audio_url: the host {target.host!r} has no address", field=FIELD)
        for text in candidates:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            reason = self.policy.refusal(address)
            if reason:
                raise ValidationError(f"audio_url may not point to {reason} (host {target.host!r}); {_PRIVATE_HINT}",
                                      field=FIELD, details={"address": str(address), "host": target.host})
        return candidates[0].split("%", 1)[0]

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
            address = self.checked_address(target)
            pool = httpcore.ConnectionPool(ssl_context=self.ssl_context, network_backend=_PinnedBackend(address),
                                           max_connections=1, retries=0)
            try:
                with pool.stream("GET", target.url, headers=self._headers(target),
                                 extensions={"timeout": self._timeouts(deadline)}) as response:
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
        if size == 0:
            raise ValidationError("audio_url returned an empty body", field=FIELD)
        return size, digest.hexdigest()

    def _headers(self, target: Target) -> list[tuple[bytes, bytes]]:
        return [(b"Host", target.host_header.encode("ascii")), (b"User-Agent", f"heard-local/{__version__}".encode()),
                (b"Accept", b"audio/*, application/octet-stream;q=0.9, */*;q=0.5"), (b"Accept-Encoding", b"identity")]

    def _timeouts(self, deadline: float) -> dict[str, float]:
        remaining = max(0.01, deadline - time.monotonic())
        return {"connect": min(10.0, remaining), "read": min(30.0, remaining), "write": min(30.0, remaining),
                "pool": min(10.0, remaining)}

    def _too_large(self) -> FileTooLargeError:
        return FileTooLargeError(f"audio_url is larger than the maximum size ({self.max_bytes // (1024 * 1024)} MB)",
                                 field=FIELD)

    def _timeout_error(self, deadline: float) -> HeardError:
        if time.monotonic() >= deadline - 0.01:
            return ValidationError(f"audio_url took longer than {self.timeout_seconds:.0f} s to download; raise "
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
