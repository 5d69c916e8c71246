"""What a batch job is given to process: files, folders and manifests, each content once (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from heard_local.cli.batch import progress_line
from heard_local.engine.batch_inputs import collect_recordings
from heard_local.engine.batch_output import BatchOutput
from heard_local.errors import ValidationError


def _audio(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + content)
    return path


def test_a_csv_manifest_gives_paths_relative_to_itself_and_keeps_metadata_as_text(tmp_path: Path) -> None:
    _audio(tmp_path / "calls" / "a.wav", b"a")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,caller_phone,agent_name,num_speakers,team\ncalls/a.wav,0044 20 7946 0000,Ann,2,\n",
                        encoding="utf-8")
    [recording] = collect_recordings([manifest])
    assert recording.path == str((tmp_path / "calls" / "a.wav").resolve())
    assert recording.metadata == {"caller_phone": "0044 20 7946 0000", "agent_name": "Ann", "num_speakers": 2,
                                  "name": "a.wav"}  # leading zeros kept; an empty cell is no key


def test_a_parquet_manifest_and_a_folder_name_each_content_once(tmp_path: Path) -> None:
    first = _audio(tmp_path / "in" / "first.wav", b"same")
    _audio(tmp_path / "in" / "copy of first.wav", b"same")
    _audio(tmp_path / "in" / "ñame.wav", b"other")
    (tmp_path / "in" / "notes.txt").write_text("not a recording")
    manifest = tmp_path / "m.parquet"
    pq.write_table(pa.table({"path": [str(first)], "customer_email": ["a@b.co"]}), manifest)
    recordings = collect_recordings([manifest, tmp_path / "in"])
    assert [Path(r.path).name for r in recordings] == ["first.wav", "ñame.wav"]
    assert recordings[0].metadata["customer_email"] == "a@b.co"  # the manifest came first


def test_a_manifest_without_a_path_column_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("file\na.wav\n")
    with pytest.raises(ValidationError, match="no 'path' column"):
        collect_recordings([manifest])
    manifest.write_text("path\nmissing.wav\n")
    with pytest.raises(ValidationError, match="is not a file"):
        collect_recordings([manifest])
    with pytest.raises(ValidationError, match="is not a file, folder or manifest"):
        collect_recordings([tmp_path / "nowhere"])


def test_parts_of_a_block_whose_transcriptions_never_landed_are_removed(tmp_path: Path) -> None:
    output = BatchOutput(tmp_path)
    output.prepare()
    (tmp_path / "segments" / "part-orphan.parquet").write_bytes(b"left by a crash")
    (tmp_path / "fields" / ".part-x.parquet.tmp").write_bytes(b"half written")
    output.prepare()
    assert list((tmp_path / "segments").iterdir()) == [] and list((tmp_path / "fields").iterdir()) == []
    assert output.content_hashes() == set() and output.read("transcriptions") is None


def test_the_progress_line_says_recordings_and_audio_hours_per_hour() -> None:
    line = progress_line(done=6, total=16, failed=1, audio_seconds=1800, elapsed=60)
    assert line.startswith("[#########---------------] 6/16 recordings, 1 failed, 0.50 h of audio")
    assert "30.0 audio h/h" in line
