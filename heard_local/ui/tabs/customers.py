"""Customers: people recognised across conversations by phone or email, with their history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from heard_local.engine import Engine
from heard_local.ui import scripts
from heard_local.ui.context import TAB_CUSTOMERS, UiContext, open_transcript
from heard_local.ui.errors import friendly
from heard_local.ui.format import empty_state
from heard_local.ui.tables_html import render_customer_card, render_customers, render_transcriptions
from heard_local.ui.widgets import html

PAGE = 200


def customer_detail(engine: Engine, customer_id: str) -> str:
    customer = engine.customers.get(customer_id)
    page = engine.customers.conversations(customer_id)
    history = render_transcriptions(page.items, {customer.customer_id: customer}, history=True)
    return (render_customer_card(customer) + '<div class="hl-subsection">Conversation history</div>' + history)


def build(ctx: UiContext, tab: gr.Tab) -> Callable[[Any], None]:
    """Build the tab; returns ``link(html_component)`` making that panel's customer links open here."""
    engine = ctx.engine
    html('<div class="hl-section-title">Customers</div><div class="hl-section-sub">Recognised across '
            "conversations from the phone number or email given with each one.</div>")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            search = gr.Textbox(label="Search", placeholder="Name, phone or email", submit_btn=True,
                                elem_id="hl-customer-search")
            table = html(elem_id="hl-customers", js_on_load=scripts.OPEN_LINKS)
        with gr.Column(scale=6):
            detail = html(empty_state("No customer selected", "Pick a customer to see their conversations."),
                             elem_id="hl-customer-detail", js_on_load=scripts.OPEN_LINKS)

    @friendly
    def listing(query: str) -> str:
        customers, _ = engine.customers.list(search=(query or "").strip() or None, limit=PAGE)
        return render_customers(customers)

    search.submit(listing, inputs=[search], outputs=[table], api_visibility="private")
    tab.select(listing, inputs=[search], outputs=[table], show_progress="hidden", api_visibility="private")

    @friendly
    def open_customer(evt: gr.EventData) -> tuple[Any, Any]:
        data = getattr(evt, "_data", None) or {}
        if not data.get("customer_id"):
            return gr.skip(), gr.skip()
        return customer_detail(engine, str(data["customer_id"])), gr.Tabs(selected=TAB_CUSTOMERS)

    @friendly
    def open_conversation(evt: gr.EventData) -> tuple[Any, Any]:
        data = getattr(evt, "_data", None) or {}
        if not data.get("transcription_id"):
            return gr.skip(), gr.skip()
        return open_transcript(str(data["transcription_id"]))

    ctx.open_events.append(detail.click(open_conversation, outputs=[ctx.current_id, ctx.tabs],
                                        api_visibility="private"))

    def link(panel: gr.HTML) -> None:
        panel.click(open_customer, outputs=[detail, ctx.tabs], api_visibility="private")

    link(table)
    link(detail)
    return link
