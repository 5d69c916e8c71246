"""Customers and the identifiers (phones, emails) that link conversations to them."""

from __future__ import annotations

import uuid
from typing import Any

import duckdb

from heard_local.domain import Customer
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.errors import NotFoundError
from heard_local.store.database import Database

PHONE = "phone"
EMAIL = "email"


class CustomerRepo:
    def __init__(self, db: Database):
        self.db = db

    def resolve(self, cur: duckdb.DuckDBPyConnection, *, phone: str | None, email: str | None,
                name: str | None = None) -> str | None:
        """The customer these (already normalised) identifiers belong to, created or merged as needed.

        Runs inside the caller's write transaction. When a phone and an email point at two different
        customers, this conversation proves they are one person: the newer customer is merged into the
        older one.
        """
        identifiers = [(kind, value) for kind, value in ((PHONE, phone), (EMAIL, email)) if value]
        if not identifiers:
            return None
        owners: list[tuple[str, Any]] = []
        for kind, value in identifiers:
            row = cur.execute(
                "SELECT i.customer_id, c.created_at FROM customer_identifiers i JOIN customers c USING "
                "(customer_id) WHERE i.kind = ? AND i.value = ?", [kind, value]
            ).fetchone()
            if row:
                owners.append((row[0], row[1]))
        now = to_db(utcnow())
        if not owners:
            customer_id = str(uuid.uuid4())
            cur.execute("INSERT INTO customers VALUES (?, ?, ?)", [customer_id, name, now])
        else:
            owners.sort(key=lambda o: (o[1], o[0]))
            customer_id = owners[0][0]
            for other, _ in owners[1:]:
                if other != customer_id:
                    self._merge(cur, keep=customer_id, drop=other)
            if name:
                cur.execute("UPDATE customers SET name = coalesce(name, ?) WHERE customer_id = ?",
                            [name, customer_id])
        for kind, value in identifiers:
            exists = cur.execute("SELECT 1 FROM customer_identifiers WHERE kind = ? AND value = ?",
                                 [kind, value]).fetchone()
            if not exists:
                cur.execute("INSERT INTO customer_identifiers VALUES (?, ?, ?, ?)",
                            [kind, value, customer_id, now])
        return customer_id

    @staticmethod
    def _merge(cur: duckdb.DuckDBPyConnection, *, keep: str, drop: str) -> None:
        cur.execute("UPDATE customer_identifiers SET customer_id = ? WHERE customer_id = ?", [keep, drop])
        cur.execute("UPDATE transcriptions SET customer_id = ? WHERE customer_id = ?", [keep, drop])
        cur.execute(
            "UPDATE customers SET name = coalesce(name, (SELECT name FROM customers WHERE customer_id = ?)) "
            "WHERE customer_id = ?", [drop, keep]
        )
        cur.execute("DELETE FROM customers WHERE customer_id = ?", [drop])

    _SELECT = """
        SELECT c.customer_id, c.name, c.created_at,
               (SELECT list(value ORDER BY created_at) FROM customer_identifiers i
                 WHERE i.customer_id = c.customer_id AND kind = 'phone') AS phones,
               (SELECT list(value ORDER BY created_at) FROM customer_identifiers i
                 WHERE i.customer_id = c.customer_id AND kind = 'email') AS emails,
               (SELECT count(*) FROM transcriptions t WHERE t.customer_id = c.customer_id) AS conversations,
               (SELECT max(coalesce(t.recorded_at, t.created_at)) FROM transcriptions t
                 WHERE t.customer_id = c.customer_id) AS last_seen
        FROM customers c
    """

    @staticmethod
    def _build(row: tuple[Any, ...]) -> Customer:
        customer_id, name, created_at, phones, emails, conversations, last_seen = row
        return Customer(customer_id=customer_id, name=name, created_at=from_db(created_at),
                        phones=phones or [], emails=emails or [], conversation_count=conversations,
                        last_seen_at=from_db(last_seen))

    def list(self, *, search: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[Customer], int]:
        where, params = "", []
        if search:
            where = ("WHERE c.name ILIKE ? OR c.customer_id IN (SELECT customer_id FROM customer_identifiers "
                     "WHERE value ILIKE ?)")
            params = [f"%{search}%", f"%{search}%"]
        total = self.db.fetchone(f"SELECT count(*) FROM customers c {where}", params)
        rows = self.db.fetchall(f"{self._SELECT} {where} ORDER BY last_seen DESC NULLS LAST, c.created_at "
                                "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [self._build(r) for r in rows], total[0] if total else 0

    def get(self, customer_id: str) -> Customer:
        row = self.db.fetchone(f"{self._SELECT} WHERE c.customer_id = ?", [customer_id])
        if row is None:
            raise NotFoundError(f"Customer {customer_id} not found", field="customer_id")
        return self._build(row)

    def find(self, *, phone: str | None = None, email: str | None = None) -> Customer | None:
        for kind, value in ((PHONE, phone), (EMAIL, email)):
            if value:
                row = self.db.fetchone("SELECT customer_id FROM customer_identifiers WHERE kind = ? AND value = ?",
                                       [kind, value])
                if row:
                    return self.get(row[0])
        return None
