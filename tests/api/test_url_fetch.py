"""audio_url downloads cannot reach this machine or its network (SSRF), follow redirects only to
checked hosts, connect to the address that was checked, and stop at the size and time caps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heard_local.adapters.url_fetch import UrlFetcher, UrlPolicy, check_url, parse_ipv4_literal
from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.errors import FileTooLargeError, TransientError, UnsupportedFormatError, ValidationError
from tests.api.support import DribblingServer, Reply, ScriptedServer, finishes_within, write_wav

# Host names a stub resolver answers; anything else is "unknown".
STUB_DNS = {
    "files.test": ["127.0.0.1"],  # the scripted server, trusted in these tests via allowed_networks
    "intranet.test": ["10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "mixed.test": ["93.184.216.34", "192.168.0.10"],  # one private answer is enough to refuse
    "cgnat.test": ["100.64.12.1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::a00:1"],
    "v6local.test": ["fd12:3456::1"],
    "public.test": ["93.184.216.34"],
}

SSRF_TABLE = [
    "http://127.0.0.1/a.wav",
    "http://127.0.0.1:8000/a.wav",
    "http://localhost/a.wav",
    "http://app.localhost/a.wav",
    "http://2130706433/a.wav",  # decimal
    "http://0x7f000001/a.wav",  # hex
    "http://0x7f.0.0.1/a.wav",
    "http://0177.0.0.1/a.wav",  # octal
    "http://017700000001/a.wav",
    "http://127.1/a.wav",  # short form
    "http://127.0.0.1./a.wav",  # trailing dot
    "http://0.0.0.0/a.wav",
    "http://0/a.wav",
    "http://10.0.0.1/a.wav",
    "http://172.16.5.4/a.wav",
    "http://192.168.1.20/a.wav",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/a.wav",  # CGNAT
    "http://224.0.0.1/a.wav",  # multicast
    "http://255.255.255.255/a.wav",
    "http://[::1]/a.wav",
    "http://[::]/a.wav",
    "http://[::ffff:127.0.0.1]/a.wav",  # IPv4-mapped
    "http://[::ffff:7f00:1]/a.wav",
    "http://[::ffff:a9fe:a9fe]/a.wav",  # mapped 169.254.169.254
    "http://[64:ff9b::7f00:1]/a.wav",  # NAT64
    "http://[64:ff9b::10.0.0.1]/a.wav",
    "http://[2002:7f00:1::]/a.wav",  # 6to4 of 127.0.0.1
    "http://[::127.0.0.1]/a.wav",  # IPv4-compatible
    "http://[fe80::1%25eth0]/a.wav",  # link-local with a zone
    "http://[fc00::1]/a.wav",
    "http://[ff02::1]/a.wav",
    "http://intranet.test/a.wav",
    "http://metadata.test/a.wav",
    "http://mixed.test/a.wav",
    "http://cgnat.test/a.wav",
    "http://mapped.test/a.wav",
    "http://nat64.test/a.wav",
    "http://v6local.test/a.wav",
]


def stub_resolver(host: str, port: int) -> list[str]:
    if host not in STUB_DNS:
        raise ValidationError(f"unknown host {host}", field="audio_url")
    return STUB_DNS[host]


def fetcher(*, trusted: tuple[str, ...] = (), allow_private: bool = False, max_bytes: int = 1 << 20,
            timeout: float = 10.0, resolver=stub_resolver) -> UrlFetcher:  # type: ignore[no-untyped-def]
    import ipaddress

    policy = UrlPolicy(allow_private=allow_private,
                       allowed_networks=tuple(ipaddress.ip_network(n) for n in trusted))
    return UrlFetcher(policy, max_bytes=max_bytes, timeout_seconds=timeout, max_redirects=3, resolver=resolver)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def wav_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_wav(tmp_path_factory.mktemp("source") / "tone.wav", seconds=0.5).read_bytes()


@pytest.mark.parametrize("url", SSRF_TABLE)
def test_ssrf_table_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        fetcher().fetch(url, tmp_path)
    assert refused.value.details["field"] == "audio_url"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", [u for u in SSRF_TABLE if ".test" not in u])
def test_literal_addresses_are_refused_at_submission(url: str) -> None:
    with pytest.raises(ValidationError):
        check_url(url, UrlPolicy())


@pytest.mark.parametrize("url", ["ftp://example.com/a.wav", "file:///etc/passwd", "gopher://x/", "//x/a.wav",
                                 "http:///a.wav", "http://user:secret@example.com/a.wav", "http://exa mple.com/"])
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        check_url(url, UrlPolicy())


def test_numeric_host_spellings_mean_what_libc_means() -> None:
    import socket

    for spelling in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "10.1", "3232235777"):
        assert str(parse_ipv4_literal(spelling)) == socket.inet_ntoa(socket.inet_aton(spelling))
    assert parse_ipv4_literal("example.com") is None and parse_ipv4_literal("1.2.3.4.5") is None


def test_public_hosts_pass_the_submission_check() -> None:
    assert check_url("https://storage.example.com/call-recording.wav", UrlPolicy()).startswith("https://")
    assert check_url("http://8.8.8.8/a.wav", UrlPolicy())
    assert check_url("http://[64:ff9b::808:808]/a.wav", UrlPolicy())  # NAT64 of a public address


def test_download_connects_to_the_checked_address(server: ScriptedServer, wav_bytes: bytes, tmp_path: Path) -> None:
    server.route("/call.wav", Reply(body=wav_bytes, headers={"Content-Type": "audio/wav"}))
    calls: list[str] = []

    def counting_resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return stub_resolver(host, port)

    fetched = fetcher(trusted=("127.0.0.1/32",), resolver=counting_resolver).fetch(
        f"http://files.test:{server.port}/call.wav", tmp_path)
    assert fetched.format == "wav" and fetched.path.read_bytes() == wav_bytes and fetched.path.parent == tmp_path
    assert calls == ["files.test"]  # resolved once; "files.test" exists in no real DNS
    assert server.requests[0].headers["host"] == f"files.test:{server.port}"


def test_every_redirect_is_checked_again(server: ScriptedServer, wav_bytes: bytes, tmp_path: Path) -> None:
    base = f"http://files.test:{server.port}"
    server.route("/to-metadata", Reply(status=302, headers={"Location": "http://169.254.169.254/latest/"}))
    server.route("/to-intranet", Reply(status=301, headers={"Location": "http://intranet.test/a.wav"}))
    server.route("/to-decimal", Reply(status=307, headers={"Location": "http://167772161/a.wav"}))  # 10.0.0.1
    server.route("/relative", Reply(status=303, headers={"Location": "/call.wav"}))
    server.route("/call.wav", Reply(body=wav_bytes))
    server.route("/loop", Reply(status=302, headers={"Location": "/loop"}))
    strict = fetcher(trusted=("127.0.0.1/32",))
    for path in ("/to-metadata", "/to-intranet", "/to-decimal"):
        with pytest.raises(ValidationError, match="may not point to"):
            strict.fetch(base + path, tmp_path)
    followed = strict.fetch(base + "/relative", tmp_path)
    assert followed.final_url == base + "/call.wav"
    followed.path.unlink()  # the caller's to move; nothing else may stay behind
    with pytest.raises(ValidationError, match="redirected more than"):
        strict.fetch(base + "/loop", tmp_path)
    assert [p for p in tmp_path.iterdir() if p.name.startswith("fetch-")] == []


def test_size_cap_with_and_without_content_length(server: ScriptedServer, tmp_path: Path) -> None:
    big = b"RIFF" + b"\0" * (300 * 1024)
    server.route("/declared.wav", Reply(body=big))
    server.route("/streamed.wav", Reply(body=lambda: (big[i:i + 4096] for i in range(0, len(big), 4096))))
    small_cap = fetcher(trusted=("127.0.0.1/32",), max_bytes=100 * 1024)
    for path in ("/declared.wav", "/streamed.wav"):
        with pytest.raises(FileTooLargeError):
            small_cap.fetch(f"http://files.test:{server.port}{path}", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_total_time_cap(server: ScriptedServer, wav_bytes: bytes, tmp_path: Path) -> None:
    def trickle() -> Iterator[bytes]:
        for i in range(0, len(wav_bytes), 1000):
            time.sleep(0.1)
            yield wav_bytes[i:i + 1000]

    server.route("/slow.wav", Reply(body=trickle))
    started = time.monotonic()
    with pytest.raises(ValidationError, match="took longer than"):
        fetcher(trusted=("127.0.0.1/32",), timeout=0.5).fetch(f"http://files.test:{server.port}/slow.wav", tmp_path)
    assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []


def test_http_errors_and_formats(server: ScriptedServer, tmp_path: Path) -> None:
    server.route("/gone.wav", Reply(status=404))
    server.route("/busy.wav", Reply(status=503))
    server.route("/page.html", Reply(body=b"<html>not audio</html>"))
    trusted = fetcher(trusted=("127.0.0.1/32",))
    base = f"http://files.test:{server.port}"
    with pytest.raises(ValidationError, match="HTTP 404"):
        trusted.fetch(base + "/gone.wav", tmp_path)
    with pytest.raises(TransientError, match="HTTP 503"):
        trusted.fetch(base + "/busy.wav", tmp_path)
    with pytest.raises(UnsupportedFormatError):
        trusted.fetch(base + "/page.html", tmp_path)
    with pytest.raises(TransientError):  # nothing listens there: worth retrying later
        trusted.fetch("http://127.0.0.1:9/a.wav", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_private_hosts_can_be_allowed_explicitly(server: ScriptedServer, wav_bytes: bytes, tmp_path: Path) -> None:
    server.route("/call.wav", Reply(body=wav_bytes))
    trusted = fetcher(trusted=("127.0.0.1/32",))  # a file server on this machine, named on purpose
    assert trusted.fetch(f"http://127.0.0.1:{server.port}/call.wav", tmp_path).size == len(wav_bytes)
    with pytest.raises(ValidationError):  # an allow-list admits only its networks
        fetcher(trusted=("192.168.1.0/24",)).fetch(f"http://127.0.0.1:{server.port}/call.wav", tmp_path)


LAN = ["10.1.2.3", "172.16.5.4", "192.168.1.20", "100.64.0.1", "fd12:3456::1", "::ffff:192.168.1.20"]
NEVER_LAN = ["127.0.0.1", "127.8.9.10", "::1", "169.254.169.254", "169.254.0.1", "fe80::1", "::ffff:127.0.0.1",
             "::ffff:169.254.169.254", "64:ff9b::7f00:1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1"]


def test_allow_private_urls_opens_the_lan_but_never_this_machine_or_link_local(server: ScriptedServer,
                                                                              tmp_path: Path) -> None:
    import ipaddress

    lan = UrlPolicy(allow_private=True)
    assert [a for a in LAN if lan.refusal(ipaddress.ip_address(a)) is not None] == []
    assert [a for a in NEVER_LAN if lan.refusal(ipaddress.ip_address(a)) is None] == []
    assert all(UrlPolicy().refusal(ipaddress.ip_address(a)) for a in LAN)  # off by default
    server.route("/call.wav", Reply(body=b"RIFF"))
    for url in (f"http://127.0.0.1:{server.port}/call.wav", f"http://localhost:{server.port}/call.wav",
                "http://169.254.169.254/latest/meta-data/", "http://[::1]/a.wav"):
        with pytest.raises(ValidationError, match="may not point to"):
            check_url(url, lan)
        with pytest.raises(ValidationError, match="may not point to"):
            fetcher(allow_private=True).fetch(url, tmp_path)
    with pytest.raises(ValidationError, match="link-local"):
        fetcher(allow_private=True).fetch("http://metadata.test/a.wav", tmp_path)
    assert server.requests == []
    assert check_url("http://192.168.1.20/a.wav", lan)


def test_the_deadline_covers_a_server_that_dribbles_its_headers(tmp_path: Path) -> None:
    """Every read gets a byte in time, so no per-read timeout ever fires; only a deadline over the whole
    fetch stops it."""
    with DribblingServer(interval=0.2) as slow:
        _, error, took = finishes_within(20, lambda: fetcher(trusted=("127.0.0.1/32",), timeout=1.0).fetch(
            f"http://files.test:{slow.port}/call.wav", tmp_path))
        assert isinstance(error, ValidationError) and "took longer than 1 s" in error.message, error
        assert took < 6
        assert slow.connections
        hung_up = time.monotonic() + 5  # the server notices the hang-up at its next byte
        while slow.open_connections() and time.monotonic() < hung_up:
            time.sleep(0.05)
        assert slow.open_connections() == []  # the connection was closed, not left open
    assert list(tmp_path.iterdir()) == []


def test_the_deadline_covers_name_resolution(tmp_path: Path) -> None:
    import threading

    answered = threading.Event()

    def hanging_resolver(host: str, port: int) -> list[str]:
        answered.wait(30)  # a resolver that never answers (getaddrinfo has no timeout of its own)
        return ["93.184.216.34"]

    try:
        _, error, took = finishes_within(20, lambda: fetcher(timeout=0.5, resolver=hanging_resolver).fetch(
            "http://slow-dns.test/a.wav", tmp_path))
    finally:
        answered.set()
    assert isinstance(error, ValidationError) and "took longer than" in error.message, error
    assert took < 5


def test_audio_url_job_downloads_into_the_media_store(settings: Settings, server: ScriptedServer,
                                                      wav_bytes: bytes) -> None:
    server.route("/recording", Reply(status=302, headers={"Location": "/files/recording.wav"}))
    server.route("/files/recording.wav", Reply(body=wav_bytes))
    trusted = settings.model_copy(update={"url_allowed_networks": ["127.0.0.1/32"], "job_max_attempts": 1})
    with Engine.open(trusted) as engine:
        submission = engine.ingest.audio_url({"audio_url": f"{server.url}/recording"})
        engine.jobs.wait(submission.job.job_id, timeout=60)
        job = engine.jobs.get(submission.job.job_id)
        stored = Path(job.payload.media_path)  # type: ignore[union-attr,arg-type]
        assert stored.read_bytes() == wav_bytes and stored.parent.parent == trusted.media_dir
        assert engine.transcriptions.media_path(job.transcription_id) == stored
        assert job.content_sha256 == stored.stem
        assert [r.path for r in server.requests] == ["/recording", "/files/recording.wav"]


def test_audio_url_job_that_cannot_be_fetched_fails_clearly(engine: Engine) -> None:
    submission = engine.ingest.audio_url({"audio_url": "http://no-such-host.invalid/call.wav"})
    job = engine.jobs.wait(submission.job.job_id, timeout=60)
    assert job.status.value == "FAILED" and job.error_code == "VALIDATION_ERROR"
    assert "audio_url" in (job.last_error or "")
