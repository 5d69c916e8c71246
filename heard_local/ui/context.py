"""What the tabs share: the engine, the tab strip and the transcription being looked at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from heard_local.domain import Configuration
from heard_local.engine import Engine

TAB_INGEST = "ingest"
TAB_TRANSCRIPTIONS = "transcriptions"
TAB_TRANSCRIPT = "transcript"
TAB_CONFIGURATIONS = "configurations"
TAB_ANALYTICS = "analytics"
TAB_CUSTOMERS = "customers"
TAB_SETTINGS = "settings"
TAB_VOICES = "voices"


@dataclass
class UiContext:
    engine: Engine
    tabs: gr.Tabs
    # The transcription shown in the transcript tab; tabs that open one write its id here and the
    # app chains the transcript view's refresh after them (see app.py).
    current_id: gr.State
    timer: gr.Timer
    open_events: list[Any] = field(default_factory=list)
    # Events after which the configuration dropdowns of every tab are refreshed (create/rename/delete).
    configuration_events: list[Any] = field(default_factory=list)
    # Dropdowns listing configurations: (dropdown, with an "All configurations" entry).
    configuration_dropdowns: list[tuple[gr.Dropdown, bool]] = field(default_factory=list)
    # HTML panels whose customer links (data-customer) open the customers tab.
    customer_links: list[gr.HTML] = field(default_factory=list)
    # Called with a key id once the UI revoked it (the API forgets its cached verification at once).
    # What runs when a page opens: (function, outputs).
    loaders: list[tuple[Callable[[], Any], list[Any]]] = field(default_factory=list)

    def configurations(self) -> list[Configuration]:
        return self.engine.configurations.list()

    def configuration_choices(self, *, include_all: bool = False) -> list[tuple[str, str]]:
        choices = [(c.tag + (" (default)" if c.is_default else ""), c.configuration_id)
                   for c in self.configurations()]
        return ([("All configurations", ""), *choices]) if include_all else choices


def open_transcript(transcription_id: str) -> tuple[str, gr.Tabs]:
    """Outputs for [current_id, tabs] that show ``transcription_id`` in the transcript tab."""
    return transcription_id, gr.Tabs(selected=TAB_TRANSCRIPT)
