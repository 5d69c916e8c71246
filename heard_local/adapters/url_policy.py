"""Which URLs heard-local may reach on a client's behalf (SSRF), and connecting to them within a deadline.

One policy for every URL a client hands in: an ``audio_url`` to download, a configuration's webhook URLs
to POST to. Every hop is checked the same way: the host is resolved once, every address it resolves to
must be globally routable (no loopback, private, link-local, CGNAT, multicast or reserved space, including
IPv4 hidden in IPv6 forms and numeric host spellings such as ``2130706433`` or ``0x7f000001``), and the
connection goes to the address that was checked, so a DNS answer that changes between check and connect
(rebinding) cannot redirect it.

- ``allow_private_urls`` opens the LAN ranges only (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7),
  never this machine (loopback) nor link-local space (169.254.169.254, where cloud metadata lives).
- ``url_allowed_networks`` admits exactly the networks listed, whatever they are (``127.0.0.1/32`` for a
  receiver on this machine).

:class:`DeadlineBackend` holds a whole exchange (DNS, connect, TLS, request, headers, body) to one
deadline: every read and write waits at most until then, and a watchdog shuts the socket at the deadline
whatever the exchange is doing, so a server that dribbles one byte at a time cannot hold a worker.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore

from heard_local.errors import TransientError, ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

AUDIO_URL = "audio_url"
_SCHEMES = {"http": 80, "https": 443}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# What allow_private_urls opens: the ranges a LAN hands out, nothing else that is not global.
LAN_NETWORKS: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))
PRIVATE_HINT = ("set HEARD_ALLOW_PRIVATE_URLS=1 (LAN addresses), or list the network in "
                "HEARD_URL_ALLOWED_NETWORKS, if it lives on your network")


class DeadlineExceeded(Exception):
    """The whole exchange took longer than its deadline (the caller words the error)."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the operating system's resolver). Raises socket.gaierror."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_within(resolver: Resolver, host: str, port: int, deadline: float, *, field: str) -> list[str]:
    """``resolver(host, port)``, given up at ``deadline``: getaddrinfo has no timeout of its own, so it runs
    in a daemon thread that is left to finish by itself when the deadline passes first."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["addresses"] = resolver(host, port)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="heard-resolve", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise DeadlineExceeded(f"{field}: resolving {host!r} took too long")
    error = outcome.get("error")
    if isinstance(error, socket.gaierror):
        if error.errno == socket.EAI_AGAIN:  # the resolver is unreachable right now
            raise TransientError(f"{field}: resolving {host!r} failed for now ({error}); it will be retried") from None
        raise ValidationError(f"{field}: the host {host!r} cannot be resolved ({error})", field=field) from None
    if isinstance(error, UnicodeError):
        raise ValidationError(f"{field}: the host {host!r} is not a valid host name ({error})", field=field) from None
    if error is not None:
        raise error
    return list(outcome["addresses"])


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


def _in_any(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


@dataclass(frozen=True)
class UrlPolicy:
    """Which addresses a client-supplied URL may reach."""

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
        if _in_any(address, self.allowed_networks):
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
        if address.is_loopback:
            return f"{address} is this machine (loopback)"
        if address.is_link_local:
            return f"{address} is a link-local address (cloud metadata services live there)"
        if self.allow_private and _in_any(address, LAN_NETWORKS):
            return None
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


def parse_target(url: str, *, field: str = AUDIO_URL) -> Target:
    """Split and sanity-check an http(s) URL; ValidationError (naming ``field``) for anything else."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"{field} is not a valid URL ({exc})", field=field) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValidationError(f"{field} must be an http:// or https:// URL", field=field)
    host = parts.hostname or ""
    if not host:
        raise ValidationError(f"{field} has no host", field=field)
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"{field} must not carry a user name or password; use a signed URL instead",
                              field=field)
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationError(f"{field} must not contain spaces or control characters", field=field)
    default_port = _SCHEMES[scheme]
    bracketed = f"[{host}]" if ":" in host else host
    try:
        host_header = bracketed.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{field}: the host {host!r} is not a valid host name", field=field) from None
    if port is not None and port != default_port:
        host_header += f":{port}"
    return Target(url=url, scheme=scheme, host=host, port=port or default_port, host_header=host_header)


def _known_address(host: str) -> IPAddress | None:
    """The address a host means without asking DNS: a literal, or a name that is always this machine."""
    if host == "localhost" or host.endswith(".localhost"):
        return ipaddress.IPv4Address("127.0.0.1")
    return literal_address(host)


def check_url(url: str, policy: UrlPolicy, *, field: str = AUDIO_URL) -> str:
    """The checks that need no network: scheme, shape, and hosts that are addresses or always local.
    Returns the URL stripped. The full check (resolving the name) happens when it is used."""
    target = parse_target(url, field=field)
    address = _known_address(target.host)
    if address is not None:
        reason = policy.refusal(address)
        if reason:
            raise ValidationError(f"{field} may not point to {reason}; {PRIVATE_HINT}", field=field,
                                  details={"address": str(address)})
    return target.url


def checked_address(target: Target, policy: UrlPolicy, resolver: Resolver, deadline: float, *,
                    field: str = AUDIO_URL) -> str:
    """Resolve ``target``'s host once (by ``deadline``) and return an address to connect to, refusing the
    host if any of its addresses may not be reached."""
    known = _known_address(target.host)
    candidates = [str(known)] if known is not None else resolve_within(
        resolver, target.host, target.port, deadline, field=field)
    if not candidates:
        raise ValidationError(f"{field}: the host {target.host!r} has no address", field=field)
    for text in candidates:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        reason = policy.refusal(address)
        if reason:
            raise ValidationError(f"{field} may not point to {reason} (host {target.host!r}); {PRIVATE_HINT}",
                                  field=field, details={"address": str(address), "host": target.host})
    return candidates[0].split("%", 1)[0]


# --- connecting -----------------------------------------------------------------------------------


# The watchdog fires a little after the deadline: reads and writes, bounded by the deadline, normally end
# first with a timeout; the watchdog is the backstop for what they do not bound (a TLS handshake dribbled
# byte by byte). A socket it shut reads as end-of-file, so callers treat an end seen after the deadline as
# a timeout, never as a complete answer.
_WATCHDOG_GRACE_SECONDS = 0.5


class _Watchdog:
    """Shuts the exchange's socket just after the deadline, waking any read or write blocked on it."""

    def __init__(self, deadline: float):
        self.socket: socket.socket | None = None
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()) + _WATCHDOG_GRACE_SECONDS, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        sock = self.socket
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _bounded(timeout: float | None, deadline: float, error: type[Exception]) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("the deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: float, watchdog: _Watchdog):
        self._inner = inner
        self._deadline = deadline
        self._watchdog = watchdog
        watchdog.socket = inner.get_extra_info("socket")

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._watchdog.cancel()
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        upgraded = self._inner.start_tls(ssl_context, server_hostname,
                                         _bounded(timeout, self._deadline, httpcore.ConnectTimeout))
        return _DeadlineStream(upgraded, self._deadline, self._watchdog)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Connects to one checked address whatever host name the request carries (so TLS still verifies the
    certificate for the name while DNS is never asked again), and ends the exchange at ``deadline``."""

    def __init__(self, address: str, deadline: float):
        self._address = address
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(self._address, port,
                                         timeout=_bounded(timeout, self._deadline, httpcore.ConnectTimeout),
                                         local_address=local_address, socket_options=socket_options)
        return _DeadlineStream(stream, self._deadline, _Watchdog(self._deadline))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for client-supplied URLs")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def timeouts_until(deadline: float) -> dict[str, float]:
    """httpcore's per-phase timeouts, none past ``deadline``."""
    remaining = max(0.01, deadline - time.monotonic())
    return {"connect": min(10.0, remaining), "read": min(30.0, remaining), "write": min(30.0, remaining),
            "pool": min(10.0, remaining)}
