"""Customers and the identifiers (phones, emails) that link conversations to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from heard_local.domain import Customer
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.errors import NotFoundError
from heard_local.store.database import Database
from heard_local.store.rows import insert_rows

PHONE = "phone"
EMAIL = "email"


@dataclass(frozen=True)
class IdentityClaim:
    """Normalised identifiers a conversation carries, and the name it gives for their owner."""

    phone: str | None = None
    email: str | None = None
    name: str | None = None

    def identifiers(self) -> list[tuple[str, str]]:
        return [(kind, value) for kind, value in ((PHONE, self.phone), (EMAIL, self.email)) if value]


class CustomerRepo:
    def __init__(self, db: Database):
        self.db = db

    def resolve(self, cur: duckdb.DuckDBPyConnection, *, phone: str | None, email: str | None,
                name: str | None = None) -> str | None:
        """The customer these (already normalised) identifiers belong to; see :meth:`resolve_many`."""
        return self.resolve_many(cur, [IdentityClaim(phone=phone, email=email, name=name)])[0]

    def resolve_many(self, cur: duckdb.DuckDBPyConnection, claims: Sequence[IdentityClaim]) -> list[str | None]:
        """One customer id per claim (None without identifiers), created or merged as needed.

        Runs inside the caller's write transaction, with one lookup for the whole batch. When a phone
        and an email point at two different customers, that conversation proves they are one person:
        the newer customer is merged into the older one.
        """
        wanted = {(kind, value) for claim in claims for kind, value in claim.identifiers()}
        owners: dict[tuple[str, str], str] = {}
        created_at: dict[str, Any] = {}
        if wanted:
            marks = ", ".join("(?, ?)" for _ in wanted)
            rows = cur.execute(
                f"SELECT i.kind, i.value, i.customer_id, c.created_at FROM customer_identifiers i "
                f"JOIN customers c USING (customer_id) WHERE (i.kind, i.value) IN ({marks})",
                [part for pair in wanted for part in pair],
            ).fetchall()
            for kind, value, customer_id, created in rows:
                owners[(kind, value)] = customer_id
                created_at[customer_id] = created
        now = to_db(utcnow())
        new_customers: list[tuple[Any, ...]] = []
        new_identifiers: list[tuple[Any, ...]] = []
        for claim in claims:
            identifiers = claim.identifiers()
            if not identifiers:
                continue
            known = sorted({owners[i] for i in identifiers if i in owners},
                           key=lambda cid: (created_at.get(cid) or now, cid))
            if not known:
                customer_id = str(uuid.uuid4())
                created_at[customer_id] = now
                new_customers.append((customer_id, claim.name, now))
            else:
                customer_id = known[0]
                for other in known[1:]:
                    self._merge(cur, keep=customer_id, drop=other)
                    new_customers = [c for c in new_customers if c[0] != other]
                    new_identifiers = [(k, v, customer_id if c == other else c, t) for k, v, c, t in new_identifiers]
                    owners = {key: customer_id if owner == other else owner for key, owner in owners.items()}
                if claim.name:
                    new_customers = [(c, n or claim.name, t) if c == customer_id else (c, n, t)
                                     for c, n, t in new_customers]
                    cur.execute("UPDATE customers SET name = coalesce(name, ?) WHERE customer_id = ?",
                                [claim.name, customer_id])
            for identifier in identifiers:
                if identifier not in owners:
                    owners[identifier] = customer_id
                    new_identifiers.append((*identifier, customer_id, now))
        insert_rows(cur, "customers", ["customer_id", "name", "created_at"], new_customers)
        insert_rows(cur, "customer_identifiers", ["kind", "value", "customer_id", "created_at"], new_identifiers)
        # Read the owners after the whole batch: a later claim may have merged an earlier one's customer.
        return [owners[claim.identifiers()[0]] if claim.identifiers() else None for claim in claims]

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
