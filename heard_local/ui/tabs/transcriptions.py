"""Transcriptions: a searchable, filterable list (full-text search over what was said), paging, and
bulk review-group changes."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

import gradio as gr

from heard_local.domain import TranscriptionFilter, TranscriptionGroup, TranscriptionStatus
from heard_local.engine import Engine
from heard_local.errors import HeardError, ValidationError
from heard_local.ui import scripts
from heard_local.ui.context import UiContext, open_transcript
from heard_local.ui.errors import friendly
from heard_local.ui.format import GROUP_LABELS, alert, language_choices
from heard_local.ui.tables_html import customer_label, page_text, render_transcriptions
from heard_local.ui.widgets import html

PAGE_SIZE = 25
STATUS_CHOICES = [("Any status", ""), ("Completed", "COMPLETED"), ("Processing", "IN_PROGRESS"),
                  ("Queued", "PENDING"), ("Failed", "FAILED")]
GROUP_CHOICES = [("Any review state", "")] + [(label, value) for value, label in GROUP_LABELS.items()]
SET_GROUP_CHOICES = [(label, value) for value, label in GROUP_LABELS.items()] + [("No review group", "NONE")]
CHANNEL_CHOICES = [("Any channel", ""), ("Voice call", "voice"), ("Meeting", "meeting"), ("Chat", "chat"),
                   ("Email", "email")]
LANGUAGE_CHOICES = language_choices(("Any language", ""))


def parse_day(value: Any, *, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value)).astimezone()
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{field} must be a date like 2024-05-01", field=field) from None
    return moment if moment.tzinfo else moment.astimezone()


def build_filter(*, search: str, configuration_id: str, status: str, group: str, language: str, channel: str,
                 customer_id: str, created_from: Any, created_to: Any) -> TranscriptionFilter:
    start = parse_day(created_from, field="From")
    end = parse_day(created_to, field="To")
    if end is not None and end.hour == 0 and end.minute == 0:
        end = end + timedelta(days=1)  # "to 2024-05-01" includes that whole day
    return TranscriptionFilter(
        configuration_id=configuration_id or None,
        status=TranscriptionStatus(status) if status else None,
        group=TranscriptionGroup(group) if group else None,
        language=language or None,
        customer_id=customer_id or None,
        channel=channel or None,
        search=(search or "").strip()[:200] or None,
        created_from=start,
        created_to=end,
    )


def list_page(engine: Engine, flt: TranscriptionFilter, offset: int) -> tuple[str, str, int]:
    """(table html, page label, offset actually used)."""
    page = engine.transcriptions.list(flt, limit=PAGE_SIZE, offset=max(0, offset))
    if page.total and offset >= page.total:  # the page emptied (deletions, new filter): go back to the last one
        offset = max(0, (page.total - 1) // PAGE_SIZE * PAGE_SIZE)
        page = engine.transcriptions.list(flt, limit=PAGE_SIZE, offset=offset)
    customers = {}
    for customer_id in {i.get("customer_id") for i in page.items if i.get("customer_id")}:
        with contextlib.suppress(HeardError):
            customers[customer_id] = engine.customers.get(customer_id)
    return render_transcriptions(page.items, customers), page_text(page.total, offset, PAGE_SIZE), offset


def set_groups(engine: Engine, ids: list[str], group: str) -> tuple[int, list[str]]:
    changed = 0
    problems = []
    for transcription_id in ids:
        try:
            engine.transcriptions.set_group(transcription_id, None if group == "NONE" else group)
            changed += 1
        except HeardError as exc:
            problems.append(exc.message)
    return changed, problems


def build(ctx: UiContext, tab: gr.Tab) -> None:
    engine = ctx.engine
    html('<div class="hl-section-title">Conversations</div>')
    with gr.Row(equal_height=True, elem_classes="hl-filters"):
        search = gr.Textbox(label="Search", placeholder="Words said in the conversation, or its name",
                            scale=4, elem_id="hl-search", submit_btn=True)
        configuration = gr.Dropdown(label="Configuration", choices=[("All configurations", "")], value="", scale=2)
        status = gr.Dropdown(label="Status", choices=STATUS_CHOICES, value="", scale=2)
        group = gr.Dropdown(label="Review", choices=GROUP_CHOICES, value="", scale=2)
    with gr.Accordion("More filters", open=False), gr.Row(equal_height=True):
        language = gr.Dropdown(label="Language", choices=LANGUAGE_CHOICES, value="", filterable=True)
        channel = gr.Dropdown(label="Channel", choices=CHANNEL_CHOICES, value="")
        customer = gr.Dropdown(label="Customer", choices=[("Any customer", "")], value="", filterable=True)
        created_from = gr.DateTime(label="From", include_time=False, type="string")
        created_to = gr.DateTime(label="To", include_time=False, type="string")
    with gr.Row(equal_height=True, elem_classes="hl-toolbar"):
        bulk_group = gr.Dropdown(label="Set review group of the selected conversations", choices=SET_GROUP_CHOICES,
                                 value="PENDING_REVIEW", scale=3, elem_id="hl-bulk-group")
        bulk_apply = gr.Button("Apply to selected", size="md", scale=0, min_width=170, elem_id="hl-bulk-apply")
        selected_ids = gr.Textbox(visible=False)
        html("", scale=2)
        previous = gr.Button("← Previous", scale=0, min_width=110, size="sm", elem_id="hl-prev")
        page_label = html('<div class="hl-page-label">—</div>', scale=0, min_width=200, elem_id="hl-page-label")
        following = gr.Button("Next →", scale=0, min_width=90, size="sm", elem_id="hl-next")
    notice = html()
    table = html(elem_id="hl-list", js_on_load=scripts.LIST_TABLE)
    offset = gr.State(0)

    filters = [search, configuration, status, group, language, channel, customer, created_from, created_to]

    def current_filter(*values: Any) -> TranscriptionFilter:
        names = ("search", "configuration_id", "status", "group", "language", "channel", "customer_id",
                 "created_from", "created_to")
        return build_filter(**dict(zip(names, values, strict=True)))

    @friendly
    def refresh(offset_value: int, *values: Any) -> tuple[str, str, int]:
        html, label, used = list_page(engine, current_filter(*values), offset_value)
        return html, f'<div class="hl-page-label">{label}</div>', used

    @friendly
    def first_page(*values: Any) -> tuple[str, str, int, str]:
        html, label, used = list_page(engine, current_filter(*values), 0)
        return html, f'<div class="hl-page-label">{label}</div>', used, ""

    outputs = [table, page_label, offset]
    for component in filters:
        event = component.submit if component is search else component.change
        event(first_page, inputs=filters, outputs=[*outputs, notice], show_progress="hidden",
              api_visibility="private")

    def move(step: int) -> Any:
        @friendly
        def handler(offset_value: int, *values: Any) -> tuple[str, str, int]:
            return refresh(max(0, offset_value + step), *values)
        return handler

    previous.click(move(-PAGE_SIZE), inputs=[offset, *filters], outputs=outputs, api_visibility="private")
    following.click(move(PAGE_SIZE), inputs=[offset, *filters], outputs=outputs, api_visibility="private")

    @friendly
    def apply_group(group_value: str, offset_value: int, *rest: Any) -> tuple[str, str, int, str]:
        *values, ids_text = rest
        ids = [i for i in str(ids_text or "").split(",") if i]
        if not ids:
            raise ValidationError("Tick the conversations to change first (the boxes on the left of the table).")
        changed, problems = set_groups(engine, ids, group_value)
        html, label, used = list_page(engine, current_filter(*values), offset_value)
        label_html = f'<div class="hl-page-label">{label}</div>'
        target = {value: label for label, value in SET_GROUP_CHOICES}.get(group_value, group_value)
        message = alert(f"{changed} conversation{'s' if changed != 1 else ''} set to “{target}”."
                        + (f" {len(problems)} could not be changed: {problems[0]}" if problems else ""),
                        "success" if not problems else "warning")
        return html, label_html, used, message

    bulk_apply.click(apply_group, inputs=[bulk_group, offset, *filters, selected_ids],
                     outputs=[*outputs, notice], js=scripts.CHECKED_IDS, api_visibility="private")

    @friendly
    def on_click(evt: gr.EventData) -> tuple[Any, Any]:
        data = getattr(evt, "_data", None) or {}
        if data.get("transcription_id"):
            return open_transcript(str(data["transcription_id"]))
        return gr.skip(), gr.skip()

    ctx.open_events.append(table.click(on_click, outputs=[ctx.current_id, ctx.tabs], api_visibility="private"))
    ctx.customer_links.append(table)

    def customer_choices() -> gr.Dropdown:
        customers, _ = engine.customers.list(limit=500)
        return gr.Dropdown(choices=[("Any customer", "")] + [(customer_label(c), c.customer_id) for c in customers])

    tab.select(refresh, inputs=[offset, *filters], outputs=outputs, show_progress="hidden", api_visibility="private")
    tab.select(customer_choices, outputs=[customer], show_progress="hidden", api_visibility="private")
    ctx.configuration_dropdowns.append((configuration, True))
    ctx.loaders.append((lambda: refresh(0, *[""] * 7, None, None), outputs))
