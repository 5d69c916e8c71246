"""Settings and status: the models in use and whether they are available, the queue, watch folders,
and API keys (create, revoke; a new key is shown once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from heard_local import __version__
from heard_local.config import Settings
from heard_local.domain import ApiKey
from heard_local.engine import Engine
from heard_local.errors import ValidationError
from heard_local.ui import scripts
from heard_local.ui.context import UiContext
from heard_local.ui.errors import friendly
from heard_local.ui.format import badge, date_text, esc, relative_time, table
from heard_local.ui.widgets import html

LLM_TONES = {"running": "success", "not_running": "danger", "model_not_pulled": "warning", "error": "danger"}
LLM_LABELS = {"running": "Running", "not_running": "Not running", "model_not_pulled": "Model not pulled",
              "error": "Error"}


def _card(title: str, state: str, body: str, *, elem: str = "") -> str:
    ident = f' id="{esc(elem)}"' if elem else ""
    return (f'<div class="hl-status-card"{ident}><div class="hl-status-head"><span>{esc(title)}</span>{state}</div>'
            f'<div class="hl-status-body">{body}</div></div>')


def _line(label: str, value: Any) -> str:
    return f'<div class="hl-status-line"><span class="hl-muted">{esc(label)}</span> {esc(value)}</div>'


def _model_card(title: str, name: str | None, info: dict[str, Any] | None, *, disabled_hint: str) -> str:
    if not name:
        return _card(title, badge("Off", "neutral"), f'<div class="hl-muted">{esc(disabled_hint)}</div>')
    info = info or {}
    if info.get("bundled"):
        return _card(title, badge("Bundled fallback", "warning"), _fallback_body(name, info))
    if info.get("error"):
        state = badge("Unavailable", "danger")
        body = _line("Model", name) + f'<div class="hl-status-error">{esc(info["error"])}</div>'
    elif info.get("loaded"):
        state = badge("Loaded", "success")
        body = _line("Model", name)
    else:
        state = badge("Loads on first use", "neutral")
        body = _line("Model", name) + '<div class="hl-muted">Loaded when the first recording arrives, unloaded ' \
                                      "when idle.</div>"
    return _card(title, state, body)


def _fallback_body(name: str, info: dict[str, Any]) -> str:
    """The Whisper model in use is the bundled one because the configured one could not be loaded."""
    return (_line("In use", f"{info.get('in_use')} (bundled, English only)") + _line("Configured", name)
            + f'<div class="hl-status-error">{esc(info.get("fallback_reason") or "")}</div>'
            + '<div class="hl-muted">For better accuracy and other languages, run heard-local once with internet '
              "access (it downloads the configured model), or set HEARD_WHISPER_MODEL to a local CTranslate2 "
              "model directory.</div>")


def llm_health(engine: Engine) -> dict[str, Any] | None:
    try:
        return engine.llm_health()
    except Exception as exc:  # a status page must render whatever the LLM does
        return {"status": "error", "ok": False, "message": str(exc)}


def watch_status(engine: Engine) -> dict[str, Any] | None:
    """The watch-folder service's ``status()``, when this server runs one."""
    try:
        return engine.services_status().get("WatchService")
    except Exception as exc:  # a status page must render whatever a service does
        return {"error": str(exc)}


def diarizer_name(settings: Settings) -> str | None:
    """What separates speakers in mono recordings; with 'auto' the pipeline, which falls back to the
    built-in diarizer when it cannot load (the transcript then says so)."""
    built_in = "built-in diarizer (segmentation-3.0 + CAM++, no token)"
    if settings.diarizer == "off" or (settings.diarizer == "pyannote" and not settings.diarization_model):
        return None
    if settings.diarizer == "voice":
        return "voice diarizer (resemblyzer, no token)"
    if settings.diarizer == "builtin" or not settings.diarization_model:
        return built_in
    if settings.diarizer == "auto":
        return f"{settings.diarization_model}, else the {built_in}"
    return settings.diarization_model


def render_status(engine: Engine) -> str:
    settings = engine.settings
    status = engine.status()
    models = status.get("models") or {}
    cards = [
        _model_card("Speech recognition (Whisper)", settings.whisper_model, models.get("whisper"),
                    disabled_hint="No speech model configured."),
        _model_card("Speaker separation (diarization)", diarizer_name(settings), models.get("diarization"),
                    disabled_hint="Off (HEARD_DIARIZER): stereo calls are still split by channel. Set it to "
                                  "'auto' or 'voice' to separate speakers in mono recordings."),
    ]
    health = llm_health(engine)
    if health is None:
        llm_body = _line("Host", settings.ollama_host) + _line("Model", settings.ollama_model)
        cards.append(_card("Local LLM (Ollama)", badge("Unknown", "neutral"), llm_body))
    else:
        state_key = str(health.get("status") or "error")
        body = _line("Host", health.get("host") or settings.ollama_host) + _line(
            "Model", health.get("model") or settings.ollama_model)
        if health.get("message"):
            tone = "hl-muted" if health.get("ok") else "hl-status-error"
            body += f'<div class="{tone}">{esc(health["message"])}</div>'
        cards.append(_card("Local LLM (Ollama)", badge(LLM_LABELS.get(state_key, state_key),
                                                        LLM_TONES.get(state_key, "neutral")), body, elem="hl-llm-card"))
    jobs = status.get("jobs") or {}
    workers = status.get("workers") or {}
    queue_body = (_line("Waiting", jobs.get("PENDING", 0)) + _line("Processing", jobs.get("IN_PROGRESS", 0))
                  + _line("Completed", jobs.get("COMPLETED", 0)) + _line("Failed", jobs.get("FAILED", 0))
                  + _line("Workers", f"{workers.get('heavy', 0)} audio · {workers.get('light', 0)} text/LLM")
                  + _line("Webhooks waiting", status.get("webhooks_pending", 0)))
    busy = jobs.get("IN_PROGRESS", 0)
    cards.append(_card("Queue", badge("Busy" if busy else "Idle", "info" if busy else "neutral"), queue_body))
    cards.append(_watch_card(engine))
    storage = _line("Data directory", settings.data_dir) + _line("Database", _size(settings.db_path)) + _line(
        "Version", __version__)
    cards.append(_card("Storage", badge("Local only", "success"), storage))
    return f'<div class="hl-status-grid">{"".join(cards)}</div>'


def _activity(folder: dict[str, Any]) -> str:
    when = str(folder["last_activity_at"])[:19].replace("T", " ")
    return (f"{folder['last_outcome']} {folder['last_file']} · {when} UTC "
            f"({folder['processed']} processed, {folder['failed']} failed)")


def _watch_card(engine: Engine) -> str:
    info = watch_status(engine)
    if info is None:
        return _card("Watch folders", badge("Off", "neutral"),
                     _line("Folder", engine.settings.watch_dir)
                     + '<div class="hl-muted">Not watching in this process (started with --no-watch, or run '
                       "`heard-local watch`).</div>")
    if info.get("error"):
        return _card("Watch folders", badge("Error", "danger"),
                     f'<div class="hl-status-error">{esc(info["error"])}</div>')
    folders = info.get("folders") or []
    busy = int(info.get("processing") or 0) + int(info.get("settling") or 0)
    body = (_line("Folder", info.get("watch_dir") or engine.settings.watch_dir)
            + _line("Sub-folders", ", ".join(str(f["name"]) for f in folders) or "none yet")
            + "".join(_line(f"{f['name']}/ last activity", _activity(f)) for f in folders
                      if f.get("last_activity_at"))
            + _line("Mode", info.get("mode") or "—")
            + _line("Files arriving / processing", f"{info.get('settling', 0)} / {info.get('processing', 0)}")
            + '<div class="hl-muted">Drop recordings or .txt transcripts into a sub-folder; results appear '
              "next to them.</div>")
    return _card("Watch folders", badge("Busy" if busy else "Watching", "info" if busy else "success"), body)


def _size(path: Path) -> str:
    try:
        size = float(path.stat().st_size)
    except OSError:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "—"


def render_keys(keys: list[ApiKey]) -> str:
    if not keys:
        return '<div class="hl-muted">No API keys yet. Create one to use the HTTP API or the hosted-compatible ' \
               "endpoints.</div>"
    rows = []
    for key in keys:
        state = badge("Active", "success") if key.active else badge(f"Revoked {date_text(key.revoked_at)}", "neutral")
        used = relative_time(key.last_used_at) if key.last_used_at else "never"
        rows.append(f"<tr><td>{esc(key.name)}</td><td><code>{esc(key.prefix)}…</code></td>"
                    f"<td>{esc(date_text(key.created_at))}</td><td>{esc(used)}</td>"
                    f"<td>{state}</td></tr>")
    return table(["Name", "Key", "Created", "Last used", "Status"], rows, elem_id="hl-keys-table")


def key_choices(keys: list[ApiKey]) -> list[tuple[str, str]]:
    return [(f"{k.name} ({k.prefix}…)", k.key_id) for k in keys if k.active]


def build(ctx: UiContext, tab: gr.Tab) -> None:
    engine = ctx.engine
    with gr.Row(equal_height=True, elem_classes="hl-toolbar"):
        html('<div class="hl-section-title">Status</div>', scale=4)
        check = gr.Button("Check again", scale=0, min_width=120, size="sm", elem_id="hl-status-refresh")
    status = html(elem_id="hl-status")
    html('<div class="hl-section-title">API keys</div><div class="hl-section-sub">For the HTTP API at '
            '<a href="docs" target="_blank" class="hl-link">/docs</a> (send the key in the X-API-Key header).</div>')
    keys_table = html(elem_id="hl-keys")
    with gr.Row(equal_height=True, elem_classes="hl-toolbar"):
        key_name = gr.Textbox(label="New key name", placeholder="e.g. CRM integration", scale=3,
                              elem_id="hl-key-name", max_length=100)
        create = gr.Button("Create key", size="md", variant="primary", scale=0, min_width=130, elem_id="hl-key-create")
        revoke_pick = gr.Dropdown(label="Revoke a key", choices=[], scale=3, elem_id="hl-key-revoke-pick")
        revoke = gr.Button("Revoke", size="md", variant="stop", scale=0, min_width=110, elem_id="hl-key-revoke")
        confirmed = gr.Textbox(visible=False)
    new_key = gr.Textbox(label="Your new API key — copy it now, it is shown only once", visible=False,
                         interactive=False, buttons=["copy"], elem_id="hl-new-key")

    def keys_view() -> tuple[str, gr.Dropdown]:
        keys = engine.keys.list()
        return render_keys(keys), gr.Dropdown(choices=key_choices(keys), value=None)

    @friendly
    def on_create(name: str) -> tuple[Any, ...]:
        if not (name or "").strip():
            raise ValidationError("Give the key a name, e.g. the integration that will use it.")
        _, secret = engine.keys.create(name.strip())
        table, choices = keys_view()
        return table, choices, gr.Textbox(value=secret, visible=True), ""

    create.click(on_create, inputs=[key_name], outputs=[keys_table, revoke_pick, new_key, key_name],
                 api_visibility="private")
    key_name.submit(on_create, inputs=[key_name], outputs=[keys_table, revoke_pick, new_key, key_name],
                    api_visibility="private")

    @friendly
    def on_revoke(key_id: str | None, answer: str) -> tuple[Any, ...]:
        if answer != "yes":
            return gr.skip(), gr.skip(), gr.skip()
        if not key_id:
            raise ValidationError("Pick the key to revoke.")
        revoked = engine.keys.revoke(key_id)
        gr.Info(f"Key “{revoked.name}” revoked: it stops working at once.", duration=4)
        table, choices = keys_view()
        return table, choices, gr.Textbox(value="", visible=False)

    revoke.click(on_revoke, inputs=[revoke_pick, confirmed], outputs=[keys_table, revoke_pick, new_key],
                 js=scripts.confirm("Revoke this API key? Integrations using it stop working."),
                 api_visibility="private")

    @friendly
    def refresh() -> tuple[Any, ...]:
        table, choices = keys_view()
        return render_status(engine), table, choices

    check.click(refresh, outputs=[status, keys_table, revoke_pick], api_visibility="private")
    tab.select(refresh, outputs=[status, keys_table, revoke_pick], show_progress="hidden", api_visibility="private")

