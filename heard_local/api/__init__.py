"""The local HTTP API mirroring the hosted ingestion and configuration/transcription endpoints."""

from heard_local.api.app import create_app

__all__ = ["create_app"]
