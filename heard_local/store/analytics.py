"""The deterministic part of a configuration's analytics report, computed in DuckDB.

It covers the configuration's COMPLETED transcriptions (``conversations.by_status`` also counts the
others) and reads one consistent snapshot. The shape of the result is documented, key by key, in
heard_local/engine/analytics.py (the ``deterministic`` object); this module only computes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from heard_local.domain.languages import LANGUAGE_NAMES
from heard_local.store.database import Database

# Duration histogram: fixed, human buckets (seconds), so reports stay comparable over time.
HISTOGRAM_EDGES: tuple[float, ...] = (0, 60, 120, 300, 600, 900, 1800, 3600)
HISTOGRAM_LABELS: tuple[str, ...] = ("< 1 min", "1–2 min", "2–5 min", "5–10 min", "10–15 min", "15–30 min",
                                     "30–60 min", "≥ 60 min")
TOP_VALUES = 20
# Days without conversations are filled in with 0 up to this span; longer spans list active days only.
MAX_FILLED_DAYS = 3660

_COMPLETED = "SELECT transcription_id FROM transcriptions WHERE configuration_id = $cid AND status = 'COMPLETED'"


@dataclass(frozen=True)
class FieldDefinition:
    """A configured extraction field as the report needs it."""

    name: str
    type: str  # string | number | boolean | array
    allowed_values: tuple[str, ...] | None = None


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def _bucket_case() -> str:
    """SQL CASE giving each duration its histogram bucket index (constants only: no user input)."""
    whens = " ".join(f"WHEN duration < {edge} THEN {i - 1}" for i, edge in enumerate(HISTOGRAM_EDGES) if i)
    return f"CASE {whens} ELSE {len(HISTOGRAM_EDGES) - 1} END"


class AnalyticsRepo:
    def __init__(self, db: Database):
        self.db = db

    # --- the report -------------------------------------------------------------------------------------

    def deterministic_report(self, configuration_id: str, fields: list[FieldDefinition]) -> dict[str, Any]:
        cur = self.db.cursor()
        began = False
        try:
            cur.execute("BEGIN TRANSACTION")  # one snapshot: every number describes the same data
            began = True
        except duckdb.TransactionException:
            pass  # already inside the caller's transaction, which is a snapshot too
        try:
            return self._report(cur, {"cid": configuration_id}, fields)
        finally:
            if began:
                cur.execute("COMMIT")

    def _report(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any],
                fields: list[FieldDefinition]) -> dict[str, Any]:
        totals = self._totals(cur, params)
        count = totals["count"]
        talk_time, segment_count = self._talk_time(cur, params)
        return {
            "conversations": {
                "total": count,
                "by_status": self._by_status(cur, params),
                "llm_status": totals["llm_status"],
            },
            "duration_seconds": {**totals["duration"], "histogram": self._histogram(cur, params)},
            "speakers": {**totals["speakers"], "distribution": self._speaker_distribution(cur, params)},
            "languages": self._languages(cur, params, count),
            "majority_language": totals["majority_language"],
            "channels": self._channels(cur, params, count),
            "talk_time": talk_time,
            "segments": {"total": segment_count,
                         "average_per_conversation": _round(segment_count / count) if count else None},
            "fields": self._fields(cur, params, fields, count),
            "per_day": self._per_day(cur, params),
        }

    def _totals(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str, Any]:
        row = cur.execute(
            """
            SELECT count(*), count(duration), sum(duration), avg(duration), min(duration), max(duration),
                   median(duration), avg(num_speakers), min(num_speakers), max(num_speakers),
                   count_if(llm_status = 'completed'), count_if(llm_status = 'pending'),
                   count_if(llm_status = 'not_requested'),
                   (SELECT language FROM transcriptions
                     WHERE configuration_id = $cid AND status = 'COMPLETED' AND language IS NOT NULL
                     GROUP BY language ORDER BY count(*) DESC, language LIMIT 1)
            FROM transcriptions WHERE configuration_id = $cid AND status = 'COMPLETED'
            """,
            params,
        ).fetchone()
        assert row is not None
        count = int(row[0])
        return {
            "count": count,
            "duration": {
                "known": int(row[1]), "total": _round(row[2]) if row[1] else 0.0, "average": _round(row[3]),
                "min": _round(row[4]), "max": _round(row[5]), "median": _round(row[6]),
            },
            "speakers": {"average": _round(row[7]), "min": row[8], "max": row[9]},
            "llm_status": {"completed": int(row[10] or 0), "pending": int(row[11] or 0),
                           "not_requested": int(row[12] or 0)},  # count_if over no rows is NULL
            "majority_language": row[13],
        }

    def _by_status(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str, int]:
        counts = {"PENDING": 0, "IN_PROGRESS": 0, "COMPLETED": 0, "FAILED": 0}
        for status, n in cur.execute(
            "SELECT status, count(*) FROM transcriptions WHERE configuration_id = $cid GROUP BY status", params
        ).fetchall():
            counts[status] = int(n)
        return counts

    def _histogram(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[dict[str, Any]]:
        found = dict(cur.execute(
            f"""SELECT {_bucket_case()} AS bucket, count(*) FROM transcriptions
                WHERE configuration_id = $cid AND status = 'COMPLETED' AND duration IS NOT NULL GROUP BY bucket""",
            params,
        ).fetchall())
        bounds = [*HISTOGRAM_EDGES, None]
        return [
            {"label": label, "min_seconds": bounds[i], "max_seconds": bounds[i + 1], "count": int(found.get(i, 0))}
            for i, label in enumerate(HISTOGRAM_LABELS)
        ]

    def _speaker_distribution(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[dict[str, int]]:
        rows = cur.execute(
            """SELECT coalesce(num_speakers, 0) AS speaker_count, count(*) FROM transcriptions
               WHERE configuration_id = $cid AND status = 'COMPLETED' GROUP BY speaker_count ORDER BY speaker_count""",
            params,
        ).fetchall()
        return [{"speakers": int(s), "count": int(n)} for s, n in rows]

    def _languages(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any], total: int) -> list[dict[str, Any]]:
        rows = cur.execute(
            """SELECT language, count(*) AS n FROM transcriptions
               WHERE configuration_id = $cid AND status = 'COMPLETED'
               GROUP BY language ORDER BY n DESC, language NULLS LAST""",
            params,
        ).fetchall()
        return [{"language": code, "name": LANGUAGE_NAMES.get(code, code) if code else "Unknown",
                 "count": int(n), "share": _share(int(n), total)} for code, n in rows]

    def _channels(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any], total: int) -> list[dict[str, Any]]:
        rows = cur.execute(
            """SELECT channel, count(*) AS n FROM transcriptions
               WHERE configuration_id = $cid AND status = 'COMPLETED'
               GROUP BY channel ORDER BY n DESC, channel NULLS LAST""",
            params,
        ).fetchall()
        return [{"channel": channel, "count": int(n), "share": _share(int(n), total)} for channel, n in rows]

    def _talk_time(self, cur: duckdb.DuckDBPyConnection,
                   params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        """Speaking time per speaker role ("Agent", "Customer"; null where the transcript names none) over
        the segments that have timings, and the number of segments: one pass over the segments table,
        its largest."""
        rows = cur.execute(
            f"""
            WITH roles AS (
                SELECT t.transcription_id, r.key AS speaker, json_extract_string(r.value, '$.role') AS role
                FROM transcriptions t, json_each(t.speakers) r
                WHERE t.configuration_id = $cid AND t.status = 'COMPLETED'
            ),
            per_role AS (
                SELECT lower(role) AS role_key, count(DISTINCT transcription_id) AS conversations
                FROM roles GROUP BY role_key
            ),
            talk AS (
                SELECT lower(r.role) AS role_key, min(r.role) AS role, sum(s.end_s - s.start_s) AS seconds,
                       count(s.end_s - s.start_s) AS timed, count(*) AS segments
                FROM segments s
                JOIN ({_COMPLETED}) c ON c.transcription_id = s.transcription_id
                LEFT JOIN roles r ON r.transcription_id = s.transcription_id AND r.speaker = s.speaker
                GROUP BY role_key
            )
            SELECT talk.role, talk.seconds, talk.timed, talk.segments, coalesce(per_role.conversations, 0)
            FROM talk LEFT JOIN per_role ON talk.role_key IS NOT DISTINCT FROM per_role.role_key
            ORDER BY talk.seconds DESC NULLS LAST, talk.role NULLS LAST
            """,
            params,
        ).fetchall()
        total_segments = sum(int(r[3]) for r in rows)
        total_seconds = sum(r[1] or 0.0 for r in rows)
        talk = [{"role": role, "seconds": _round(seconds) if timed else None,
                 "share": _round(seconds / total_seconds, 4) if timed and total_seconds else None,
                 "segments": int(segments), "conversations": int(conversations)}
                for role, seconds, timed, segments, conversations in rows]
        return talk, total_segments

    def _per_day(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = cur.execute(
            """SELECT CAST(coalesce(recorded_at, created_at) AS DATE) AS day, count(*) FROM transcriptions
               WHERE configuration_id = $cid AND status = 'COMPLETED' GROUP BY day ORDER BY day""",
            params,
        ).fetchall()
        counts: dict[date, int] = {day: int(n) for day, n in rows}
        if not counts:
            return []
        first, last = min(counts), max(counts)
        if (last - first).days > MAX_FILLED_DAYS:
            days = sorted(counts)
        else:
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [{"date": day.isoformat(), "count": counts.get(day, 0)} for day in days]

    # --- extracted fields ----------------------------------------------------------------------------------

    def _fields(self, cur: duckdb.DuckDBPyConnection, params: dict[str, Any], fields: list[FieldDefinition],
                total: int) -> list[dict[str, Any]]:
        if not fields:
            return []
        names = [f.name for f in fields]
        scoped = {**params, "names": names}
        extracted = f"""
            SELECT name, value FROM extracted_fields
            WHERE name IN (SELECT unnest($names)) AND transcription_id IN ({_COMPLETED})"""
        counts: dict[str, tuple[int, int]] = {}
        numeric: dict[str, list[Any]] = {}
        for name, n, valid, *stats in cur.execute(
            f"""SELECT name, count(*), count_if(value IS NOT NULL AND json_type(value) <> 'NULL'),
                       min(x), max(x), avg(x), median(x), sum(x), count(x)
                FROM (SELECT name, value, TRY_CAST(value::VARCHAR AS DOUBLE) AS x FROM ({extracted}))
                GROUP BY name""", scoped,
        ).fetchall():
            counts[name] = (int(n), int(valid))
            if stats[-1]:
                numeric[name] = stats[:-1]
        top: dict[str, list[tuple[str, int]]] = {}
        distinct: dict[str, int] = {}
        for name, value, n, n_distinct in cur.execute(
            f"""
            WITH f AS ({extracted}),
            items AS (
                SELECT name, value::VARCHAR AS v FROM f WHERE json_type(value) NOT IN ('ARRAY', 'NULL')
                UNION ALL
                SELECT name, unnest(json_extract(value, '$[*]'))::VARCHAR AS v FROM f WHERE json_type(value) = 'ARRAY'
            ),
            grouped AS (SELECT name, v, count(*) AS n FROM items GROUP BY name, v)
            SELECT name, v, n, distinct_values FROM (
                SELECT name, v, n, count(*) OVER (PARTITION BY name) AS distinct_values,
                       row_number() OVER (PARTITION BY name ORDER BY n DESC, v) AS rank
                FROM grouped)
            WHERE rank <= {TOP_VALUES} ORDER BY name, rank
            """, scoped,
        ).fetchall():
            top.setdefault(name, []).append((value, int(n)))
            distinct[name] = int(n_distinct)
        report = []
        for definition in fields:
            rows, valid = counts.get(definition.name, (0, 0))
            entry: dict[str, Any] = {
                "name": definition.name,
                "type": definition.type,
                "allowed_values": list(definition.allowed_values) if definition.allowed_values else None,
                "valid": valid,
                "missing": rows - valid,
                "pending": total - rows,
                "distinct_values": distinct.get(definition.name, 0),
                "values": self._value_counts(definition, top.get(definition.name, []), valid),
                "numeric": None,
            }
            stats = numeric.get(definition.name)
            if definition.type == "number" and stats is not None:
                entry["numeric"] = dict(zip(("min", "max", "average", "median", "sum"),
                                            (_round(s, 6) for s in stats), strict=True))
            entry["other_values"] = max(0, entry["distinct_values"] - len(entry["values"]))
            report.append(entry)
        return report

    @staticmethod
    def _value_counts(definition: FieldDefinition, found: list[tuple[str, int]], valid: int) -> list[dict[str, Any]]:
        """Counts per value, most frequent first; an enumeration's or a boolean's every possible value is
        listed, zero counts included, in its declared order, so charts keep their categories."""
        counts = [(json.loads(raw), n) for raw, n in found]
        declared: list[Any] = []
        if definition.type == "boolean":
            declared = [True, False]
        elif definition.allowed_values:
            declared = list(definition.allowed_values)
        if declared:
            by_value = dict(counts)
            counts = [(v, by_value.get(v, 0)) for v in declared] + [(v, n) for v, n in counts if v not in declared]
        return [{"value": value, "count": n, "share": _share(n, valid)} for value, n in counts]

    # --- inputs for the narrative --------------------------------------------------------------------------

    def recent_summaries(self, configuration_id: str, limit: int = 200) -> list[str]:
        rows = self.db.fetchall(
            """SELECT summary FROM transcriptions
               WHERE configuration_id = ? AND status = 'COMPLETED' AND summary IS NOT NULL AND trim(summary) <> ''
               ORDER BY coalesce(recorded_at, created_at) DESC, transcription_id LIMIT ?""",
            [configuration_id, limit],
        )
        return [r[0] for r in rows]
