"""Turning transcriptions into files people take elsewhere (TXT, SRT, WebVTT, JSON, CSV, Parquet)."""
