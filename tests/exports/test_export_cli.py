"""``heard-local export``: in this process when no server runs, through the server when one does."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from heard_local.cli import main
from heard_local.runtime import ServerInfo
from tests.exports.conftest import Seeded
from tests.exports.helpers import live_server


@pytest.fixture
def data_dir(seeded: Seeded, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(seeded.data_dir, copy)
    return copy


@pytest.fixture(scope="module")
def served(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ServerInfo]]:
    """One server for this module's server-mode tests (they only read)."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(seeded.data_dir, root / "data")
    with live_server(root / "data", root / "server.log") as info:
        yield root / "data", info


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def count(path: Path) -> int:
    return duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]


def check_transcript_exports(capsys: pytest.CaptureFixture[str], data_dir: Path, ids: list[str],
                             out: Path) -> None:
    code, stdout, _ = run(capsys, "export", "transcript", ids[0], "--format", "srt", "--data-dir", str(data_dir))
    assert code == 0 and stdout.startswith("1\n00:00:02,000 --> 00:00:06,000\nAgent: Thank you for calling,")
    code, stdout, _ = run(capsys, "export", "transcript", ids[0], "--format", "vtt", "-o", str(out / "one.vtt"),
                          "--data-dir", str(data_dir))
    assert code == 0 and (out / "one.vtt").read_text().startswith("WEBVTT\n\n")
    code, stdout, stderr = run(capsys, "export", "transcript", "--all", "--format", "txt", "-o", str(out / "all"),
                               "--data-dir", str(data_dir))
    assert code == 0, stderr
    names = sorted(p.name for p in (out / "all").iterdir())
    assert names == sorted(["App crash.txt", "Card delivery.txt", "Close savings — Zoë.txt", "Declined card.txt",
                            "Limit increase.txt"])
    assert (out / "all" / "Card delivery.txt").read_text() == ("Customer: Where is my new card?\n"
                                                               "Agent: It was posted yesterday.\n")
    assert f"Exported {len(ids)} transcription(s) as txt" in stderr


def check_fields_and_parquet(capsys: pytest.CaptureFixture[str], data_dir: Path, ids: list[str], out: Path) -> None:
    code, stdout, _ = run(capsys, "export", "fields", "--configuration", "Support", "--data-dir", str(data_dir))
    header, *rows = csv.reader(io.StringIO(stdout, newline=""))
    assert code == 0 and header[-4:] == ["reason", "resolved", "amount", "products"] and len(rows) == len(ids)
    code, stdout, _ = run(capsys, "export", "fields", "--layout", "long", "--excel", "-o", str(out / "f.csv"),
                          "--data-dir", str(data_dir))
    raw = (out / "f.csv").read_bytes()
    assert code == 0 and raw.startswith("\ufeff".encode()) and b"\r\n" in raw
    code, stdout, stderr = run(capsys, "export", "parquet", "-o", str(out / "bi"), "--data-dir", str(data_dir))
    assert code == 0 and stdout.strip() == str((out / "bi").resolve())
    assert count(out / "bi" / "transcriptions.parquet") == len(ids)
    assert count(out / "bi" / "segments.parquet") == 18
    assert "segments.parquet" in stderr and "18 rows" in stderr


def test_exports_without_a_server(capsys: pytest.CaptureFixture[str], data_dir: Path, seeded: Seeded,
                                  tmp_path: Path) -> None:
    check_transcript_exports(capsys, data_dir, seeded.ids, tmp_path / "out")
    check_fields_and_parquet(capsys, data_dir, seeded.ids, tmp_path / "out")
    code, stdout, _ = run(capsys, "export", "parquet", "--data-dir", str(data_dir))
    assert code == 0 and stdout.strip() == str(data_dir / "exports")
    assert count(data_dir / "exports" / "fields.parquet") == 16


def test_exports_while_the_server_owns_the_database(capsys: pytest.CaptureFixture[str], seeded: Seeded,
                                                    served: tuple[Path, ServerInfo], tmp_path: Path) -> None:
    data_dir, _info = served
    check_transcript_exports(capsys, data_dir, seeded.ids, tmp_path / "out")
    check_fields_and_parquet(capsys, data_dir, seeded.ids, tmp_path / "out")
    # The server's own snapshot service keeps <data dir>/exports fresh.
    assert count(data_dir / "exports" / "transcriptions.parquet") == len(seeded.ids)


def test_export_errors_are_clear(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, _, stderr = run(capsys, "export", "transcript", "--data-dir", str(data_dir))
    assert code == 1 and "at least one transcription id" in stderr
    code, _, stderr = run(capsys, "export", "transcript", "a", "b", "--data-dir", str(data_dir))
    assert code == 1 and "needs --output DIR" in stderr
    code, _, stderr = run(capsys, "export", "transcript", "missing-id", "--data-dir", str(data_dir))
    assert code == 1 and "not found" in stderr
    code, _, stderr = run(capsys, "export", "fields", "--configuration", "nope", "--data-dir", str(data_dir))
    assert code == 1 and "nope" in stderr
