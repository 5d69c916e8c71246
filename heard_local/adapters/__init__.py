"""Adapters: the only modules that import faster-whisper, pyannote.audio, PyAV or ollama."""
