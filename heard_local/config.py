"""All settings in one place: environment variables prefixed ``HEARD_``, overridden by CLI flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("heard-local", appauthor=False))


def default_watch_dir() -> Path:
    return Path.cwd() / "watch_folders"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEARD_", extra="ignore")

    # Where things live.
    data_dir: Path = Field(default_factory=default_data_dir, description="DuckDB file, media, exports")
    watch_dir: Path = Field(default_factory=default_watch_dir, description="Root of the watch folders")

    # Front doors.
    host: str = "127.0.0.1"
    port: int = 8000
    enable_ui: bool = True
    ui_auth: bool = Field(default=True, description="The web UI asks for the sign-in token `serve` prints; off "
                          "only on loopback, or beyond it with --insecure-no-auth")
    enable_watcher: bool = True
    watch_polling: bool = Field(default=False, description="Polling observer (network drives)")
    watch_rescan_seconds: float = 60.0
    watch_stable_seconds: float = Field(default=2.0, gt=0, description="A dropped file is taken once its size and "
                                        "modification time have not changed for this long")

    # Models.
    whisper_model: str = Field(default="small", description="faster-whisper model name or local dir")
    whisper_device: str = "auto"
    whisper_compute_type: str = "auto"
    whisper_batch_size: int = 8
    diarization_model: str | None = Field(
        default="pyannote/speaker-diarization-community-1",
        description="pyannote pipeline name (needs HF token + internet once) or local directory; "
        "empty for none (HEARD_DIARIZER then decides)",
    )
    diarization_backend: Literal["auto", "onnxruntime", "torchscript", "eager", "stock"] = Field(
        default="auto",
        description="How pyannote's pipeline runs: 'auto' takes the fast path (same turns, several times faster "
        "on a CPU) with the fastest checked backend; 'stock' always calls pyannote's own pipeline",
    )
    diarizer: Literal["auto", "builtin", "voice", "pyannote", "off"] = Field(
        default="auto",
        description="Who tells speakers apart: 'auto' uses the pyannote pipeline when it loads and the built-in "
        "diarizer (segmentation-3.0 + CAM++, no token, no download) otherwise; 'builtin' always the built-in; "
        "'voice' always the older resemblyzer voice diarizer; 'pyannote' the pipeline or one speaker; 'off' one "
        "speaker (one party per channel still counts)",
    )
    hf_token: str | None = None
    model_idle_unload_seconds: float = 600.0

    # LLM (Ollama).
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2:3b"
    ollama_timeout_seconds: float = 120.0
    ollama_context_tokens: int = 8192

    # Engine.
    heavy_workers: int = Field(default=1, ge=0, description="Concurrent audio jobs")
    light_workers: int = Field(default=2, ge=0, description="Concurrent transcript / LLM jobs")
    job_max_attempts: int = Field(default=4, ge=1)
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    default_phone_region: str = "US"

    # API.
    max_upload_bytes: int = 500 * 1024 * 1024
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    allow_private_urls: bool = Field(default=False, description="Let audio_url and webhooks reach LAN addresses "
                                     "(10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7; never loopback or link-local)")
    url_fetch_timeout_seconds: float = Field(default=300.0, gt=0, description="Deadline for a whole audio_url fetch "
                                             "(DNS, connect, headers and body)")
    url_allowed_networks: list[str] = Field(
        default_factory=list,
        description='Networks audio_url and webhooks may reach although not public, e.g. ["192.168.1.0/24"], '
        'or ["127.0.0.1/32"] for a receiver on this machine (JSON in the env)',
    )
    url_max_redirects: int = Field(default=5, ge=0)
    max_request_body_bytes: int = Field(default=32 * 1024 * 1024, description="Cap for JSON request bodies")
    idempotency_ttl_seconds: float = Field(default=24 * 3600.0, description="How long an Idempotency-Key holds")
    auth_cache_seconds: float = Field(default=2.0, ge=0, description="How long a verified API key is trusted "
                                      "without asking the database (revocation through the API is immediate)")
    # What one client can hold (issue 15): bodies by route, connections, slow senders, decoded audio.
    max_transcript_request_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Cap for a /ingest/transcript body, whatever its "
        "Content-Type (the longest transcript, 2,000,000 characters, is at most 12 MB of JSON even with \\u escapes)")
    max_connections: int = Field(default=512, ge=1, description="Open HTTP connections at once; more are "
                                 "closed at once, requests beyond it answered 503")
    header_timeout_seconds: float = Field(default=15.0, gt=0, description="A request's headers must arrive "
                                          "within this time (a client dribbling them is dropped)")
    upload_idle_timeout_seconds: float = Field(default=60.0, gt=0, description="A request body that sends "
                                               "nothing for this long is dropped")
    max_audio_seconds: float = Field(default=4 * 3600.0, gt=0, description="Longest recording accepted "
                                     "(checked on the header at ingest and again while decoding)")
    max_channels: int = Field(default=8, ge=1, description="Most audio channels accepted")
    media_memory_limit_mb: int = Field(default=0, ge=0, description="Address-space limit of the process that "
                                       "decodes and probes media; 0 sizes it from max_audio_seconds and max_channels")
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, description="Deadline for one webhook attempt "
                                           "(DNS, connect, sending, the answer's headers)")
    webhook_retry_base_seconds: float = Field(default=5.0, description="First webhook retry delay (doubles)")
    webhook_retry_max_seconds: float = 3600.0
    webhook_give_up_seconds: float = Field(default=3 * 24 * 3600.0, description="Stop retrying a webhook after")
    webhook_poll_seconds: float = 1.0
    webhook_concurrency: int = Field(default=4, ge=1, description="Deliveries in flight at once")

    # Exports for notebooks.
    export_interval_seconds: float = 30.0

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "heard.duckdb"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def export_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "heard.lock"

    @property
    def server_info_path(self) -> Path:
        return self.data_dir / "server.json"

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with CLI flags applied (``None`` means "flag not given")."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=given) if given else self

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.media_dir, self.export_dir):
            path.mkdir(parents=True, exist_ok=True)
        if os.name == "posix":
            self.data_dir.chmod(0o700)
