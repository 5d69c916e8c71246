"""The web UI: ``build_ui(engine)`` makes the Gradio Blocks, ``mount_ui(app, engine)`` serves them at ``/``
on the API's FastAPI app (the API keeps ``/api/v1``, ``/v1`` and ``/docs``)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from heard_local import __version__
from heard_local.engine import Engine
from heard_local.errors import HeardError
from heard_local.ui.auth import UiSignIn
from heard_local.ui.context import (
    TAB_ANALYTICS,
    TAB_CONFIGURATIONS,
    TAB_CUSTOMERS,
    TAB_INGEST,
    TAB_SETTINGS,
    TAB_TRANSCRIPT,
    TAB_TRANSCRIPTIONS,
    TAB_VOICES,
    UiContext,
)
from heard_local.ui.errors import friendly
from heard_local.ui.format import badge, esc
from heard_local.ui.routes import install_routes
from heard_local.ui.security import LocalOriginGuard, blocked_paths, private_upload_dir
from heard_local.ui.tabs import (
    analytics,
    configurations,
    customers,
    ingest,
    settings,
    transcript_view,
    transcriptions,
    voices,
)
from heard_local.ui.widgets import html

log = logging.getLogger(__name__)

STYLE = Path(__file__).with_name("style.css")
REFRESH_SECONDS = 1.0
# Uploaded files Gradio keeps (recordings not yet submitted, recordings from the microphone) are
# deleted after a day; submitted recordings have already been moved into the data directory.
CACHE_CLEANUP = (3600, 86400)


def theme() -> gr.themes.Base:
    system_fonts = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
                    "sans-serif"]
    return gr.themes.Default(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate", radius_size="md",
                             font=system_fonts, font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def appbar(engine: Engine) -> str:
    health = settings.llm_health(engine)
    chip = ""
    if health is not None:
        state = str(health.get("status") or "error")
        chip = badge("LLM " + settings.LLM_LABELS.get(state, state).lower(), settings.LLM_TONES.get(state, "neutral"),
                     title=str(health.get("message") or ""))
    return (
        '<div class="hl-appbar"><div class="hl-brand"><div class="hl-logo">h</div><div>'
        '<div class="hl-brand-name">heard-local</div>'
        '<div class="hl-brand-tag">Private conversation intelligence — everything stays on this computer</div>'
        f'</div></div><div class="hl-appbar-right">{chip}<a href="docs" target="_blank">API docs</a>'
        f'<span class="hl-muted">v{esc(__version__)}</span></div></div>'
    )


def build_ui(engine: Engine) -> gr.Blocks:
    with gr.Blocks(title="heard-local", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        header = html("", elem_id="hl-appbar")
        current_id = gr.State("")
        timer = gr.Timer(REFRESH_SECONDS)
        with gr.Tabs(selected=TAB_INGEST, elem_id="hl-tabs", overflow_behavior="wrap") as tabs:
            ctx = UiContext(engine=engine, tabs=tabs, current_id=current_id, timer=timer)
            with gr.Tab("Add conversations", id=TAB_INGEST, elem_id="hl-tab-ingest"):
                ingest.build(ctx)
            with gr.Tab("Conversations", id=TAB_TRANSCRIPTIONS, elem_id="hl-tab-transcriptions") as tab:
                transcriptions.build(ctx, tab)
            with gr.Tab("Transcript", id=TAB_TRANSCRIPT, elem_id="hl-tab-transcript"):
                show_transcript = transcript_view.build(ctx)
            with gr.Tab("Configurations", id=TAB_CONFIGURATIONS, elem_id="hl-tab-configurations") as tab:
                configurations.build(ctx, tab)
            with gr.Tab("Analytics", id=TAB_ANALYTICS, elem_id="hl-tab-analytics") as tab:
                analytics.build(ctx, tab)
            with gr.Tab("Customers", id=TAB_CUSTOMERS, elem_id="hl-tab-customers") as tab:
                link_customers = customers.build(ctx, tab)
            with gr.Tab("Voices", id=TAB_VOICES, elem_id="hl-tab-voices") as tab:
                voices.build(ctx, tab)
            with gr.Tab("Settings", id=TAB_SETTINGS, elem_id="hl-tab-settings") as tab:
                settings.build(ctx, tab)
        _wire(ctx, demo, header, show_transcript, link_customers)
    return demo


def _wire(ctx: UiContext, demo: gr.Blocks, header: gr.HTML, show_transcript: Any, link_customers: Any) -> None:
    """Connections between tabs, made once every tab exists."""
    for event in ctx.open_events:
        show_transcript(event)
    for panel in ctx.customer_links:
        link_customers(panel)

    dropdowns = [dropdown for dropdown, _ in ctx.configuration_dropdowns]

    def refresh_dropdowns() -> tuple[Any, ...]:
        return tuple(gr.Dropdown(choices=ctx.configuration_choices(include_all=with_all))
                     for _, with_all in ctx.configuration_dropdowns)

    for event in ctx.configuration_events:
        event.then(refresh_dropdowns, outputs=dropdowns, show_progress="hidden", api_visibility="private")

    load_outputs: list[Any] = [header]
    for _, outputs in ctx.loaders:
        load_outputs += outputs
    load_outputs += [ctx.current_id, ctx.tabs]

    @friendly
    def on_load(request: gr.Request) -> tuple[Any, ...]:
        values: list[Any] = [appbar(ctx.engine)]
        for loader, outputs in ctx.loaders:
            result = loader()
            values += list(result) if len(outputs) > 1 else [result]
        wanted = (request.query_params.get("t") or "").strip() if request is not None else ""
        if wanted and _exists(ctx.engine, wanted):
            values += [wanted, gr.Tabs(selected=TAB_TRANSCRIPT)]
        else:
            if wanted:
                gr.Warning("The conversation in this link does not exist (any more).", duration=8)
            values += ["", gr.skip()]
        return tuple(values)

    show_transcript(demo.load(on_load, outputs=load_outputs, api_visibility="private"))


def _exists(engine: Engine, transcription_id: str) -> bool:
    try:
        engine.transcriptions.get(transcription_id)
    except HeardError:
        return False
    return True


class _RemoveDirectory:
    """An engine service that deletes the UI's private upload directory when the server stops."""

    def __init__(self, path: Path):
        self.path = path

    def start(self) -> None:
        pass

    def stop(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def mount_ui(app: FastAPI, engine: Engine, *, sign_in_token: str | None) -> FastAPI:
    """Serve the UI at ``/`` on ``app``; returns the app (what ``heard-local serve`` runs). Every UI request
    needs the session cookie that opening ``/?token=<sign_in_token>`` sets (None: no sign-in at all)."""
    settings_ = engine.settings
    if not os.environ.get("GRADIO_TEMP_DIR"):
        upload_dir = private_upload_dir()
        os.environ["GRADIO_TEMP_DIR"] = str(upload_dir)  # read by Gradio when the Blocks are built
        engine.add_service(_RemoveDirectory(upload_dir), start=False)
    install_routes(app, engine)
    demo = build_ui(engine)
    demo.queue(default_concurrency_limit=4)
    if sign_in_token is not None:
        app.add_middleware(UiSignIn, token=sign_in_token, port=settings_.port)
    app.add_middleware(LocalOriginGuard, bind_host=settings_.host)  # outermost: refuses foreign hosts first
    return gr.mount_gradio_app(
        app, demo, path="/",
        allowed_paths=[], blocked_paths=blocked_paths(settings_),
        footer_links=[], run_history=False, show_error=True, ssr_mode=False, mcp_server=False, pwa=False,
        max_file_size=settings_.max_upload_bytes,
        theme=theme(), css_paths=[STYLE],
        server_name=settings_.host, server_port=settings_.port,
    )
