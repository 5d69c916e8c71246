"""Batched writes: the group commit behind ingestion, bulk row inserts, and the configuration cache
that lets an ingest skip the database."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from heard_local.domain import JobStatus
from heard_local.engine import Engine
from heard_local.errors import InternalError, RateLimitedError
from heard_local.store.database import Database
from heard_local.store.group_commit import GroupCommit
from heard_local.store.rows import _ARROW_MIN_ROWS, insert_rows
from heard_local.views import SubmissionView
from tests.support.engine_internals import store_of


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "rows.duckdb")
    with database.write() as cur:
        cur.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR, score DOUBLE, seen_at TIMESTAMP, "
                    "doc JSON, note VARCHAR)")
    yield database
    database.close()


def _write_items(cur: duckdb.DuckDBPyConnection, items: Sequence[int]) -> list[int]:
    if any(item < 0 for item in items):
        raise ValueError("negative ids are refused")
    insert_rows(cur, "items", ["id", "name"], [(item, f"n{item}") for item in items])
    return [item * 10 for item in items]


def _ids(db: Database) -> list[int]:
    return [row[0] for row in db.fetchall("SELECT id FROM items ORDER BY id")]


def test_threads_and_an_event_loop_share_batches_and_each_gets_its_own_result(db: Database) -> None:
    batches: list[int] = []

    def write(cur: duckdb.DuckDBPyConnection, items: Sequence[int]) -> list[int]:
        batches.append(len(items))
        return _write_items(cur, items)

    commit: GroupCommit[int, int] = GroupCommit(db, write)
    results: dict[int, int] = {}

    def thread_caller(start: int) -> None:
        for item in range(start, start + 50):
            results[item] = commit.run(item)

    async def loop_callers() -> list[int]:
        return list(await asyncio.gather(*(asyncio.wrap_future(commit.submit(i)) for i in range(1000, 1200))))

    threads = [threading.Thread(target=thread_caller, args=(n * 100,)) for n in range(8)]
    for thread in threads:
        thread.start()
    from_loop = asyncio.run(loop_callers())
    for thread in threads:
        thread.join()
    commit.close()

    assert from_loop == [i * 10 for i in range(1000, 1200)]
    assert results == {item: item * 10 for n in range(8) for item in range(n * 100, n * 100 + 50)}
    assert len(_ids(db)) == 8 * 50 + 200
    assert max(batches) > 1  # 200 waiting futures were written together, not one by one
    assert sum(batches) == 8 * 50 + 200


def test_one_bad_item_fails_alone_and_its_neighbours_are_written(db: Database) -> None:
    commit: GroupCommit[int, int] = GroupCommit(db, _write_items)

    async def submit_all() -> list[int | BaseException]:
        futures = [asyncio.wrap_future(commit.submit(i)) for i in (1, 2, -3, 4)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    outcomes = asyncio.run(submit_all())
    commit.close()
    assert outcomes[:2] == [10, 20] and outcomes[3] == 40
    assert isinstance(outcomes[2], ValueError)
    assert _ids(db) == [1, 2, 4]


def test_close_writes_what_is_queued_then_refuses_new_items(db: Database) -> None:
    commit: GroupCommit[int, int] = GroupCommit(db, _write_items)
    futures = [commit.submit(i) for i in range(30)]
    commit.close()
    assert [f.result(timeout=0) for f in futures] == [i * 10 for i in range(30)]
    assert _ids(db) == list(range(30))
    with pytest.raises(InternalError, match="shutting down"):
        commit.submit(99)


@pytest.mark.parametrize("count", [3, _ARROW_MIN_ROWS, 450])
def test_bulk_insert_stores_every_value_as_given(db: Database, count: int) -> None:
    at = datetime(2026, 11, 21, 9, 30, 15, 123456)
    rows = [(i, None if i % 3 == 0 else f"name {i} ünïcode", i / 7 if i % 2 else i, at if i % 4 else None,
             json.dumps({"i": i, "list": [1, None]}), None) for i in range(count)]
    with db.write() as cur:
        insert_rows(cur, "items", ["id", "name", "score", "seen_at", "doc", "note"], rows)
    stored = db.fetchall("SELECT id, name, score, seen_at, doc, note FROM items ORDER BY id")
    assert [(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in stored] == [
        (i, name, float(score), when, json.loads(doc), None) for i, name, score, when, doc, _ in rows]


def test_bulk_insert_of_a_column_with_mixed_types_falls_back_to_bound_values(db: Database) -> None:
    # Arrow has no type for ints mixed with strings; DuckDB casts each bound value instead.
    rows = [(i, i if i % 2 else f"s{i}") for i in range(_ARROW_MIN_ROWS * 2)]
    with db.write() as cur:
        insert_rows(cur, "items", ["id", "name"], rows)
    assert db.fetchall("SELECT name FROM items ORDER BY id")[:3] == [("s0",), ("1",), ("s2",)]


def test_a_failing_bulk_insert_leaves_the_table_as_it_was(db: Database) -> None:
    with db.write() as cur:
        insert_rows(cur, "items", ["id"], [(1,)])
    with pytest.raises(duckdb.ConstraintException), db.write() as cur:
        insert_rows(cur, "items", ["id"], [(i,) for i in range(2, 40)] + [(1,)])  # duplicate key
    assert _ids(db) == [1]


def test_concurrent_async_ingests_are_stored_once_each_and_identical_ones_are_duplicates(engine: Engine) -> None:
    async def ingest() -> list[dict[str, object]]:
        distinct = [engine.ingest.transcript_async({"transcript_text": f"Agent: call {i}\nCustomer: thanks",
                                                    "metadata": {"customer_email": f"u{i % 7}@example.com"}})
                    for i in range(60)]
        same = [engine.ingest.transcript_async({"transcript_text": "Agent: the same words\nCustomer: yes"})
                for _ in range(5)]
        return [SubmissionView.of(s).dump() for s in await asyncio.gather(*distinct, *same)]

    answers = asyncio.run(ingest())
    distinct, same = answers[:60], answers[60:]
    assert len({a["job_id"] for a in distinct}) == 60 and not any(a["duplicate"] for a in distinct)
    assert len({a["job_id"] for a in same}) == 1
    assert [a["duplicate"] for a in same].count(False) == 1
    for answer in answers:
        assert engine.jobs.get(str(answer["job_id"])).transcription_id == answer["transcription_id"]
    customers = store_of(engine).db.fetchall("SELECT count(DISTINCT customer_id) FROM transcriptions "
                                         "WHERE customer_id IS NOT NULL")
    assert customers == [(7,)]
    engine.jobs.wait(str(distinct[0]["job_id"]), timeout=30)
    assert engine.jobs.get(str(distinct[0]["job_id"])).status is JobStatus.COMPLETED


def test_a_configuration_tag_is_found_once_created_and_follows_a_rename(engine: Engine) -> None:
    assert store_of(engine).configurations.find_by_tag("Support") is None  # remembered as absent ...
    configuration, _ = engine.configurations.create({"tag": "Support"})
    # ... until created
    assert engine.configurations.resolve("support").configuration_id == configuration.configuration_id
    engine.configurations.update(configuration.configuration_id, {"tag": "Sales"})
    assert store_of(engine).configurations.find_by_tag("Support") is None
    assert engine.configurations.resolve("Sales").tag == "Sales"
    submission = engine.ingest.transcript({"transcript_text": "Agent: hi\nCustomer: hello",
                                           "metadata": {"configuration_id": "Sales"}})
    assert submission.job.configuration_id == configuration.configuration_id


class _HeldWriter:
    """A batch writer that holds its first batch until released, so callers can queue behind it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, cur: duckdb.DuckDBPyConnection, items: Sequence[int]) -> list[int]:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(30)
        return _write_items(cur, items)


def test_a_future_cancelled_while_queued_does_not_stop_the_writer(db: Database) -> None:
    # A client that disconnects (or a shutdown) cancels its future; set_result on it used to raise
    # InvalidStateError in the writer thread, and every later ingest hung.
    held = _HeldWriter()
    commit: GroupCommit[int, int] = GroupCommit(db, held)
    first = commit.submit(1)
    assert held.entered.wait(10)
    cancelled = commit.submit(2)
    assert cancelled.cancel()
    kept = commit.submit(3)
    held.release.set()
    assert first.result(timeout=10) == 10 and kept.result(timeout=10) == 30
    assert commit.run(4) == 40  # the writer is alive
    assert _ids(db) == [1, 3, 4]  # the cancelled item was never written
    commit.close()


def test_a_batch_writer_that_misbehaves_fails_only_its_callers(db: Database) -> None:
    calls: list[int] = []

    def short_answers(cur: duckdb.DuckDBPyConnection, items: Sequence[int]) -> list[int]:
        calls.append(len(items))
        if 13 in items:
            return []  # a bug: no result for the item
        if 14 in items:
            raise KeyboardInterrupt  # not even an Exception
        return _write_items(cur, items)

    commit: GroupCommit[int, int] = GroupCommit(db, short_answers)
    with pytest.raises(InternalError, match="0 results for 1 items"):
        commit.run(13)
    with pytest.raises(InternalError, match="KeyboardInterrupt"):
        commit.run(14)
    assert commit.run(5) == 50
    assert _ids(db) == [5]
    commit.close()


def test_the_queue_is_bounded_and_says_busy(db: Database) -> None:
    held = _HeldWriter()
    commit: GroupCommit[int, int] = GroupCommit(db, held, max_batch=2, max_queued=3)
    first = commit.submit(1)
    assert held.entered.wait(10)
    queued = [commit.submit(i) for i in (2, 3, 4)]
    with pytest.raises(RateLimitedError) as busy:  # at once, for an event loop that must not block
        commit.submit(5)
    assert busy.value.retry_after > 0 and "busy" in busy.value.message
    waited: list[int] = []
    waiter = threading.Thread(target=lambda: waited.append(commit.run(6, wait_seconds=30)))
    waiter.start()  # a thread waits for room instead (back-pressure)
    time.sleep(0.2)
    assert waited == []
    held.release.set()
    waiter.join(10)
    assert waited == [60]
    assert [f.result(timeout=10) for f in (first, *queued)] == [10, 20, 30, 40]
    commit.close()
