"""Small helpers shared by the store's tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

_CHUNK_ROWS = 400
# From this many rows, handing DuckDB one Arrow table beats binding a parameter per value (measured:
# 0.11 ms a row with VALUES at any size; Arrow 0.08 ms at 25 rows, 0.012 ms at 200, but 1.8 ms for one).
_ARROW_MIN_ROWS = 16
_VIEW = "_heard_new_rows"


def insert_rows(cur: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows: an Arrow table for a batch, multi-row VALUES for a few (both far faster than
    executemany)."""
    if not rows:
        return
    column_list = ", ".join(f'"{c}"' for c in columns)
    if len(rows) >= _ARROW_MIN_ROWS and _insert_arrow(cur, table, columns, column_list, rows):
        return
    placeholders = "(" + ", ".join("?" for _ in columns) + ")"
    for offset in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[offset:offset + _CHUNK_ROWS]
        params = [value for row in chunk for value in row]
        cur.execute(
            f"INSERT INTO {table} ({column_list}) VALUES " + ", ".join(placeholders for _ in chunk), params
        )


def _insert_arrow(cur: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], column_list: str,
                  rows: Sequence[Sequence[Any]]) -> bool:
    """False, having written nothing, when a column's values have no single Arrow type (the caller
    then binds them one by one, as DuckDB would cast each)."""
    try:
        arrow = pa.table({name: pa.array([row[i] for row in rows]) for i, name in enumerate(columns)})
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    # One name per cursor (each thread has its own): registering replaces the previous table, so one
    # left behind by a failed statement (an aborted transaction refuses the unregister) is let go then.
    cur.register(_VIEW, arrow)
    cur.execute(f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {_VIEW}")
    cur.unregister(_VIEW)
    return True


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def loads(value: str | None, default: Any = None) -> Any:
    return default if value is None else json.loads(value)
