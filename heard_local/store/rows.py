"""Small helpers shared by the store's tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb

_CHUNK_ROWS = 400


def insert_rows(cur: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows with multi-row VALUES statements (several times faster than executemany)."""
    if not rows:
        return
    placeholders = "(" + ", ".join("?" for _ in columns) + ")"
    column_list = ", ".join(f'"{c}"' for c in columns)
    for offset in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[offset:offset + _CHUNK_ROWS]
        params = [value for row in chunk for value in row]
        cur.execute(
            f"INSERT INTO {table} ({column_list}) VALUES " + ", ".join(placeholders for _ in chunk), params
        )


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def loads(value: str | None, default: Any = None) -> Any:
    return default if value is None else json.loads(value)
