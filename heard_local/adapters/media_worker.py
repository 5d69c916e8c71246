"""The process that opens untrusted media: ``python -m heard_local.adapters.media_worker --memory-limit N``.

It reads one JSON request per line on stdin and answers one JSON line on its own copy of stdout (fd 1
itself is pointed at stderr, so whatever FFmpeg prints cannot corrupt the answers):

    {"op": "probe", "path": P}                  -> {"seconds": s | null, "channels": n | null}
    {"op": "decode", "path": P, "out": F, "sample_rate": r, "max_seconds": s | null, "max_channels": n | null}
        -> {"channels": c, "samples": n, "sample_rate": r, "source_format": f, "notes": [...]}
           with the samples written to F as float32, channel after channel (the parent maps the file)
    either may answer {"error": {"code", "message", "details"}} instead.

Its address space is capped (RLIMIT_AS), so a file that makes the decoder allocate without bound ends
with MemoryError here, or with this process killed, never with the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

from heard_local.adapters.audio_decode import decode_audio, probe_audio
from heard_local.errors import HeardError


def handle(request: dict[str, Any]) -> dict[str, Any]:
    path = Path(request["path"])
    if request["op"] == "probe":
        header = probe_audio(path)
        return {"seconds": header.seconds, "channels": header.channels}
    if request["op"] == "decode":
        waveform = decode_audio(path, sample_rate=int(request["sample_rate"]), max_seconds=request.get("max_seconds"),
                                max_channels=request.get("max_channels"))
        with open(request["out"], "wb") as out:
            for channel in waveform.samples:  # each row is contiguous: written without a copy
                channel.tofile(out)
        return {"channels": waveform.channels, "samples": int(waveform.samples.shape[1]),
                "sample_rate": waveform.sample_rate, "source_format": waveform.source_format,
                "notes": list(waveform.notes)}
    raise ValueError(f"unknown operation {request['op']!r}")


def answer(request: dict[str, Any], memory_limit: int) -> dict[str, Any]:
    try:
        return handle(request)
    except HeardError as error:
        return error.to_envelope()
    except MemoryError:
        return {"error": {"code": "VALIDATION_ERROR", "details": {"field": "audio_file"}, "message": (
            f"Decoding the file needs more memory than the decoder may use ({memory_limit // (1 << 20)} MB); "
            "it may be damaged, or too long (split it, or raise HEARD_MEDIA_MEMORY_LIMIT_MB).")}}
    except Exception as error:  # anything else: reported, the process lives on
        return {"error": {"code": "INTERNAL_ERROR", "details": {},
                          "message": f"The media decoder failed ({type(error).__name__}: {error})."}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heard_local.adapters.media_worker")
    parser.add_argument("--memory-limit", type=int, default=0, help="address-space limit in bytes (0: none)")
    args = parser.parse_args(argv)
    if args.memory_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory_limit, args.memory_limit))
    import av  # noqa: F401  (loaded now: the first file should not wait for it)

    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    answers.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    answers.flush()
    for line in sys.stdin:
        if line.strip():
            answers.write(json.dumps(answer(json.loads(line), args.memory_limit)) + "\n")
            answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
