"""Customers: the people behind conversations, matched by normalised phone number and e-mail."""

from __future__ import annotations

import builtins

from heard_local.config import Settings
from heard_local.domain import Customer, Page, TranscriptionFilter, normalize_email, normalize_phone
from heard_local.store.customers import CustomerRepo
from heard_local.store.transcriptions import TranscriptionRepo


class CustomerService:
    def __init__(self, repo: CustomerRepo, transcriptions: TranscriptionRepo, settings: Settings):
        self._repo = repo
        self._transcriptions = transcriptions
        self._settings = settings

    def list(self, *, search: str | None = None, limit: int = 100,
             offset: int = 0) -> tuple[builtins.list[Customer], int]:
        """One page of customers and how many match in all."""
        return self._repo.list(search=search, limit=limit, offset=offset)

    def get(self, customer_id: str) -> Customer:
        return self._repo.get(customer_id)

    def conversations(self, customer_id: str, limit: int = 200) -> Page:
        self._repo.get(customer_id)
        return self._transcriptions.list(TranscriptionFilter(customer_id=customer_id), limit=limit)

    def find(self, *, phone: str | None = None, email: str | None = None) -> Customer | None:
        return self._repo.find(phone=normalize_phone(phone, self._settings.default_phone_region),
                               email=normalize_email(email))
