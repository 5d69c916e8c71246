"""Configurations: create, edit and delete processing presets (tag, vocabulary, extraction fields,
summary and languages, webhooks). The engine enforces the spec's limits; its messages are shown as
they are."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from heard_local.domain import MAX_CONFIGURATIONS, MAX_EXTRACTION_FIELDS, Configuration
from heard_local.domain.configuration import MAX_VOCABULARY_TERMS, ExtractionFieldType
from heard_local.domain.languages import DETECT
from heard_local.errors import ValidationError
from heard_local.ui import scripts
from heard_local.ui.context import UiContext
from heard_local.ui.errors import friendly
from heard_local.ui.format import alert, badge, empty_state, esc, language_choices
from heard_local.ui.widgets import html

NEW = "__new__"
FIELD_HEADERS = ["name", "type", "description"]
FIELD_TYPES = [t.value for t in ExtractionFieldType]
LANGUAGE_CHOICES = language_choices(("Detect (the conversation's language)", DETECT))
ANALYTICS_LANGUAGE_CHOICES = [("Detect (the majority language)", DETECT), *LANGUAGE_CHOICES[1:]]
EXAMPLE_FIELDS = [
    ["sentiment", "string", "The customer's overall sentiment. Must be one of: POSITIVE, NEGATIVE, NEUTRAL"],
    ["issue_resolved", "boolean", "Whether the customer's issue was resolved during the conversation"],
]


def fields_from_table(table: Any) -> list[dict[str, str]]:
    """Extraction fields from the editable table; blank rows are ignored, a blank type means string."""
    if table is None:
        return []
    rows = table.values.tolist() if isinstance(table, pd.DataFrame) else list(table)
    fields = []
    for number, row in enumerate(rows, start=1):
        cells = [("" if cell is None or (isinstance(cell, float) and pd.isna(cell)) else str(cell)).strip()
                 for cell in list(row)[:3]]
        cells += [""] * (3 - len(cells))
        name, kind, description = cells
        if not any(cells):
            continue
        kind = (kind or "string").lower()
        if kind not in FIELD_TYPES:
            raise ValidationError(f"Extraction field {number} ({name or 'unnamed'}): type must be one of "
                                  f"{', '.join(FIELD_TYPES)}", field=f"extraction_fields.{number - 1}.type")
        if not name:
            raise ValidationError(f"Extraction field {number}: give it a name, e.g. ticket_id",
                                  field=f"extraction_fields.{number - 1}.name")
        if not description:
            raise ValidationError(f"Extraction field {number} ({name}): describe what to extract — the "
                                  "description guides the model", field=f"extraction_fields.{number - 1}.description")
        fields.append({"name": name, "type": kind, "description": description})
    return fields


def vocabulary_from_text(text: str) -> list[str]:
    """One term per line (commas separate terms too)."""
    terms = []
    for line in (text or "").splitlines():
        terms += [t.strip() for t in line.split(",") if t.strip()]
    return terms


def form_data(*, tag: str, summary: bool, summary_language: str, analytics_language: str, vocabulary: str,
              fields: Any, success_url: str, error_url: str) -> dict[str, Any]:
    webhooks = {"success_url": (success_url or "").strip() or None, "error_url": (error_url or "").strip() or None}
    return {
        "tag": (tag or "").strip(),
        "summary": bool(summary),
        "summary_language": summary_language or DETECT,
        "analytics_language": analytics_language or DETECT,
        "vocabulary": vocabulary_from_text(vocabulary),
        "extraction_fields": fields_from_table(fields),
        "webhooks": webhooks if any(webhooks.values()) else None,
    }


def render_overview(configurations: list[Configuration]) -> str:
    if not configurations:
        return empty_state("No configurations")
    cards = []
    for c in configurations:
        bits = [f"{len(c.extraction_fields)} field{'s' if len(c.extraction_fields) != 1 else ''}",
                f"{len(c.vocabulary)} vocabulary term{'s' if len(c.vocabulary) != 1 else ''}",
                "summary" if c.summary else "no summary"]
        if c.webhooks and (c.webhooks.success_url or c.webhooks.error_url):
            bits.append("webhooks")
        default = badge("default", "info") if c.is_default else ""
        field_names = ", ".join(f.name for f in c.extraction_fields[:6]) + ("…" if len(c.extraction_fields) > 6 else "")
        cards.append(f'<div class="hl-config-card"><div class="hl-config-tag">{esc(c.tag)} {default}</div>'
                     f'<div class="hl-row-sub">{esc(" · ".join(bits))}</div>'
                     f'<div class="hl-config-fields">{esc(field_names)}</div></div>')
    return f'<div class="hl-config-grid">{"".join(cards)}</div>'


def form_values(configuration: Configuration | None) -> tuple[Any, ...]:
    """Values for [tag, summary, summary_language, analytics_language, vocabulary, fields, success, error]."""
    if configuration is None:
        return ("", False, DETECT, DETECT, "", pd.DataFrame([["", "", ""]], columns=FIELD_HEADERS), "", "")
    rows = [[f.name, f.type.value, f.description] for f in configuration.extraction_fields] or [["", "", ""]]
    hooks = configuration.webhooks
    return (configuration.tag, configuration.summary, configuration.summary_language,
            configuration.analytics_language, "\n".join(configuration.vocabulary),
            pd.DataFrame(rows, columns=FIELD_HEADERS),
            (hooks.success_url or "") if hooks else "", (hooks.error_url or "") if hooks else "")


def build(ctx: UiContext, tab: gr.Tab) -> None:
    engine = ctx.engine
    html('<div class="hl-section-title">Configurations</div><div class="hl-section-sub">Reusable processing '
            f"presets: vocabulary for the speech recognizer, up to {MAX_EXTRACTION_FIELDS} fields for the local LLM "
            f"to extract, a summary, and webhooks. At most {MAX_CONFIGURATIONS} configurations.</div>")
    overview = html(elem_id="hl-config-overview")
    with gr.Row(equal_height=True, elem_classes="hl-toolbar"):
        pick = gr.Dropdown(label="Edit configuration", choices=[], scale=3, elem_id="hl-config-pick")
        new = gr.Button("+ New configuration", size="md", scale=1, elem_id="hl-config-new")
    with gr.Group(elem_classes="hl-form"):
        with gr.Row():
            tag = gr.Textbox(label="Tag (name)", placeholder="e.g. Support calls", scale=3, elem_id="hl-config-tag",
                             max_length=255)
            summary = gr.Checkbox(label="Write a summary of each conversation", scale=2, elem_id="hl-config-summary")
        with gr.Row():
            summary_language = gr.Dropdown(label="Summary language", choices=LANGUAGE_CHOICES, value=DETECT,
                                           filterable=True)
            analytics_language = gr.Dropdown(label="Analytics report language", choices=ANALYTICS_LANGUAGE_CHOICES,
                                             value=DETECT, filterable=True)
        vocabulary = gr.Textbox(label="Vocabulary", lines=3, elem_id="hl-config-vocabulary",
                                placeholder="One term per line: product names, people, jargon",
                                info=f"Helps the speech recognizer spell these words (at most {MAX_VOCABULARY_TERMS}).")
        fields = gr.Dataframe(headers=FIELD_HEADERS, datatype=["str", "str", "str"], column_count=3,
                              row_count=1, interactive=True, wrap=True,
                              column_widths=["22%", "13%", "65%"],
                              label=f"Extraction fields (type: {', '.join(FIELD_TYPES)}; at most "
                                    f"{MAX_EXTRACTION_FIELDS})", elem_id="hl-config-fields")
        with gr.Row(elem_classes="hl-buttons"):
            add_field = gr.Button("Add field", size="sm", scale=0, min_width=110, elem_id="hl-config-add-field")
            examples = gr.Button("Add example fields", size="sm", scale=0, min_width=170,
                                 elem_id="hl-config-examples")
            html("")
        with gr.Row():
            success_url = gr.Textbox(label="Webhook on success", placeholder="https://example.com/hooks/done")
            error_url = gr.Textbox(label="Webhook on failure", placeholder="https://example.com/hooks/failed")
        html('<div class="hl-muted">Webhooks go to public addresses only, like audio_url, checked again at every '
             'delivery. For a receiver on this computer or your network, list it in HEARD_URL_ALLOWED_NETWORKS.'
             '</div>')
    with gr.Row(elem_classes="hl-toolbar hl-buttons"):
        save = gr.Button("Save configuration", size="md", variant="primary", elem_id="hl-config-save", scale=0,
                         min_width=200)
        reprocess = gr.Button("Re-run extraction on its conversations", size="md", scale=0, min_width=340)
        secret = gr.Button("Show webhook signing secret", size="md", scale=0, min_width=260)
        html("")
        delete = gr.Button("Delete", size="md", variant="stop", scale=0, min_width=100, elem_id="hl-config-delete")
        confirmed = gr.Textbox(visible=False)
    message = html(elem_id="hl-config-message")

    form = [tag, summary, summary_language, analytics_language, vocabulary, fields, success_url, error_url]

    def picker(selected: str | None) -> gr.Dropdown:
        choices = [(c.tag + (" (default)" if c.is_default else ""), c.configuration_id)
                   for c in engine.configurations.list()]
        return gr.Dropdown(choices=[*choices, ("+ New configuration", NEW)], value=selected or NEW)

    @friendly
    def load(selected: str | None) -> tuple[Any, ...]:
        configuration = engine.configurations.get(selected) if selected and selected != NEW else None
        return (*form_values(configuration), "")

    pick.input(load, inputs=[pick], outputs=[*form, message], api_visibility="private")

    def start_new() -> tuple[Any, ...]:
        return (gr.Dropdown(value=NEW), *form_values(None), "")

    new.click(start_new, outputs=[pick, *form, message], api_visibility="private")

    def add_examples(table: Any) -> Any:
        current = fields_from_table_lenient(table)
        names = {row[0] for row in current}
        return pd.DataFrame(current + [row for row in EXAMPLE_FIELDS if row[0] not in names], columns=FIELD_HEADERS)

    examples.click(add_examples, inputs=[fields], outputs=[fields], api_visibility="private")

    @friendly
    def add_row(table: Any) -> Any:
        rows = fields_from_table_lenient(table)
        if len(rows) >= MAX_EXTRACTION_FIELDS:
            raise ValidationError(f"A configuration holds at most {MAX_EXTRACTION_FIELDS} extraction fields.")
        return pd.DataFrame([*rows, ["", "string", ""]], columns=FIELD_HEADERS)

    add_field.click(add_row, inputs=[fields], outputs=[fields], api_visibility="private")

    @friendly
    def on_save(selected: str | None, *values: Any) -> tuple[Any, ...]:
        data = form_data(**dict(zip(("tag", "summary", "summary_language", "analytics_language", "vocabulary",
                                     "fields", "success_url", "error_url"), values, strict=True)))
        if selected and selected != NEW:
            configuration = engine.configurations.update(selected, data)
            note = alert(f"Saved “{configuration.tag}”. New conversations use it at once; use “Re-run "
                         "extraction” to apply changed fields to earlier ones.", "success")
        else:
            configuration, signing_secret = engine.configurations.create(data)
            note = (f'<div class="hl-alert hl-alert-success"><strong>Created “{esc(configuration.tag)}”.</strong> '
                    "Webhook signing secret (for verifying deliveries): "
                    f'<code class="hl-secret">{esc(signing_secret)}</code></div>')
        return (picker(configuration.configuration_id), *form_values(configuration), note,
                render_overview(engine.configurations.list()))

    save_event = save.click(on_save, inputs=[pick, *form], outputs=[pick, *form, message, overview],
                            api_visibility="private")
    ctx.configuration_events.append(save_event)

    @friendly
    def show_secret(selected: str | None) -> str:
        if not selected or selected == NEW:
            raise ValidationError("Save the configuration first.")
        value = engine.configurations.webhook_secret(selected)
        return (f'<div class="hl-alert hl-alert-info">Webhook signing secret: <code class="hl-secret">{esc(value)}'
                "</code> — deliveries are signed with it (Standard Webhooks).</div>") if value else alert(
            "This configuration has no signing secret.", "info")

    secret.click(show_secret, inputs=[pick], outputs=[message], api_visibility="private")

    @friendly
    def on_reprocess(selected: str | None) -> str:
        if not selected or selected == NEW:
            raise ValidationError("Pick a saved configuration first.")
        jobs = engine.jobs.reprocess_configuration(selected)
        return alert(f"Queued {len(jobs)} conversation{'s' if len(jobs) != 1 else ''} for extraction and "
                     "summary. Progress is shown in “Add conversations”.", "success")

    reprocess.click(on_reprocess, inputs=[pick], outputs=[message], api_visibility="private")

    @friendly
    def on_delete(selected: str | None, answer: str) -> tuple[Any, ...]:
        if answer != "yes":
            return tuple(gr.skip() for _ in range(len(form) + 3))
        if not selected or selected == NEW:
            raise ValidationError("Pick a saved configuration to delete.")
        tag_text = engine.configurations.get(selected).tag
        engine.configurations.delete(selected)
        return (picker(NEW), *form_values(None), alert(f"Deleted “{tag_text}”.", "success"),
                render_overview(engine.configurations.list()))

    delete_event = delete.click(on_delete, inputs=[pick, confirmed], outputs=[pick, *form, message, overview],
                                js=scripts.confirm("Delete this configuration?"), api_visibility="private")
    ctx.configuration_events.append(delete_event)

    def initial() -> tuple[Any, ...]:
        configurations = engine.configurations.list()
        first = configurations[0] if configurations else None
        return (render_overview(configurations), picker(first.configuration_id if first else NEW),
                *form_values(first))

    tab.select(lambda: render_overview(engine.configurations.list()), outputs=[overview], show_progress="hidden",
               api_visibility="private")
    ctx.loaders.append((initial, [overview, pick, *form]))


def fields_from_table_lenient(table: Any) -> list[list[str]]:
    """The table's non-blank rows as they are (no validation), for adding example rows."""
    if table is None:
        return []
    rows = table.values.tolist() if isinstance(table, pd.DataFrame) else list(table)
    cleaned = []
    for row in rows:
        cells = ["" if c is None or (isinstance(c, float) and pd.isna(c)) else str(c) for c in list(row)[:3]]
        cells += [""] * (3 - len(cells))
        if any(cell.strip() for cell in cells):
            cleaned.append(cells)
    return cleaned
