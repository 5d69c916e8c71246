"""Configurations: what each kind of conversation extracts, summarises and notifies."""

from __future__ import annotations

import builtins
from typing import Any

import pydantic

from heard_local.config import Settings
from heard_local.domain import Configuration, ConfigurationInput, ConfigurationUpdate
from heard_local.domain.validation import parse, validation_error_from_pydantic
from heard_local.errors import NotFoundError
from heard_local.store.configurations import ConfigurationRepo


class ConfigurationService:
    def __init__(self, repo: ConfigurationRepo, settings: Settings):
        self._repo = repo
        self._settings = settings
        self.default_id = repo.ensure_default().configuration_id

    def resolve(self, configuration_id_or_tag: str | None) -> Configuration:
        """The configuration by id or tag; the default one when none is named."""
        if not configuration_id_or_tag:
            return self._repo.get(self.default_id)
        try:
            return self._repo.get(configuration_id_or_tag)
        except NotFoundError:
            by_tag = self._repo.find_by_tag(configuration_id_or_tag)
            if by_tag is None:
                raise NotFoundError(f"Configuration {configuration_id_or_tag!r} not found",
                                    field="configuration_id") from None
            return by_tag

    def create(self, data: ConfigurationInput | dict[str, Any]) -> tuple[Configuration, str]:
        """Returns the configuration and its webhook signing secret (shown once)."""
        from heard_local.engine.webhooks import check_webhook_urls  # httpcore and certifi: on first use

        checked = parse(ConfigurationInput, data)
        check_webhook_urls(checked.webhooks, self._settings)
        return self._repo.create(checked)

    def list(self) -> builtins.list[Configuration]:
        return self._repo.list()

    def get(self, configuration_id: str) -> Configuration:
        return self._repo.get(configuration_id)

    def update(self, configuration_id: str, update: ConfigurationUpdate | dict[str, Any]) -> Configuration:
        current = self._repo.get(configuration_id)
        change = parse(ConfigurationUpdate, update)
        try:
            merged = change.apply_to(current)
        except pydantic.ValidationError as exc:  # the merged whole can break a rule
            raise validation_error_from_pydantic(exc) from None
        if change.webhooks is not None:
            from heard_local.engine.webhooks import check_webhook_urls

            check_webhook_urls(merged.webhooks, self._settings)
        return self._repo.replace(configuration_id, merged)

    def delete(self, configuration_id: str) -> None:
        self._repo.delete(configuration_id)

    def webhook_secret(self, configuration_id: str) -> str | None:
        return self._repo.webhook_secret(configuration_id)
