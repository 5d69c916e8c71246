"""HTML tables: the transcriptions list and the customers list. Pure functions of engine results."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from heard_local.domain import Customer
from heard_local.ui.format import (
    badge,
    date_text,
    duration_text,
    empty_state,
    esc,
    group_badge,
    language_text,
    relative_time,
    status_badge,
    table,
)

CHANNEL_LABELS = {"voice": "Voice call", "meeting": "Meeting", "chat": "Chat", "email": "Email"}
KIND_LABELS = {"audio": "Recording", "transcript": "Transcript"}


def _open_link(transcription_id: str, text: str) -> str:
    return (f'<a class="hl-link" href="?t={esc(quote(transcription_id, safe=""))}" '
            f'data-open="{esc(transcription_id)}">{esc(text)}</a>')


def row_title(item: dict[str, Any]) -> str:
    return item.get("name") or f"Conversation {str(item['transcription_id'])[:8]}"


def render_transcriptions(items: list[dict[str, Any]], customers: dict[str, Customer] | None = None, *,
                          history: bool = False) -> str:
    """The list as a table; ``items`` are ``engine.transcriptions.list(...).items``. ``history``: one
    customer's conversations (no selection boxes, no customer column)."""
    if not items:
        return empty_state("No conversations match", "Change the filters, or add conversations in the "
                                                      "“Add conversations” tab.")
    customers = customers or {}
    head = ["Conversation", "Status", "Review", "Configuration", "Customer", "Language", "Duration", "Received"]
    if history:
        head = ["Conversation", "Status", "Review", "Duration", "Received"]
    else:
        head.insert(0, '<input type="checkbox" class="hl-check-all" aria-label="Select all on this page">')
    rows = []
    for item in items:
        tid = str(item["transcription_id"])
        llm = ""
        if item.get("llm_status") == "pending":
            llm = " " + badge("LLM pending", "warning", title="Extraction/summary waits for Ollama")
        sub_bits = [CHANNEL_LABELS.get(str(item.get("channel") or ""), ""), KIND_LABELS.get(str(item.get("kind")), "")]
        if item.get("status") == "FAILED" and item.get("error_message"):
            sub_bits = [str(item["error_message"])[:120]]
        cells = {
            "Conversation": f'<div class="hl-row-title">{_open_link(tid, row_title(item))}{llm}</div>'
                            f'<div class="hl-row-sub">{esc(" · ".join(b for b in sub_bits if b))}</div>',
            "Status": status_badge(item.get("status")),
            "Review": group_badge(item.get("group")),
            "Configuration": esc(item.get("configuration_tag") or ""),
            "Customer": _customer_link(customers.get(item.get("customer_id") or "")),
            "Language": esc(language_text(item.get("language"))),
            "Duration": esc(duration_text(item.get("duration")) if item.get("duration") else "—"),
            "Received": f'<span title="{esc(date_text(item.get("created_at")))}">'
                        f"{esc(relative_time(item.get('created_at')))}</span>",
        }
        check = "" if history else (f'<td class="hl-col-check"><input type="checkbox" class="hl-row-check" '
                                    f'value="{esc(tid)}" aria-label="Select"></td>')
        tds = "".join(f'<td class="hl-num">{cells[h]}</td>' if h == "Duration" else f"<td>{cells[h]}</td>"
                      for h in head if h in cells)
        rows.append(f'<tr data-id="{esc(tid)}">{check}{tds}</tr>')
    return table(head, rows, elem_id="" if history else "hl-list-table", numeric={head.index("Duration")})


def _customer_link(customer: Customer | None) -> str:
    if customer is None:
        return '<span class="hl-muted">—</span>'
    return (f'<a class="hl-link" href="#" data-customer="{esc(customer.customer_id)}">'
            f"{esc(customer_label(customer))}</a>")


def page_text(total: int, offset: int, limit: int) -> str:
    if total == 0:
        return "0 conversations"
    last = min(total, offset + limit)
    return f"{offset + 1}–{last} of {total} conversation{'s' if total != 1 else ''}"


def customer_label(customer: Customer) -> str:
    return customer.name or (customer.phones[0] if customer.phones else "") or (
        customer.emails[0] if customer.emails else f"Customer {customer.customer_id[:8]}")


def render_customers(customers: list[Customer]) -> str:
    if not customers:
        return empty_state("No customers yet", "Customers are recognised from the phone number or email given "
                                               "with a conversation.")
    rows = []
    for customer in customers:
        contact = " · ".join([*customer.phones, *customer.emails])
        rows.append(
            f'<tr data-id="{esc(customer.customer_id)}">'
            f'<td><div class="hl-row-title"><a class="hl-link" href="#" data-customer="{esc(customer.customer_id)}">'
            f'{esc(customer_label(customer))}</a></div><div class="hl-row-sub">{esc(contact)}</div></td>'
            f'<td class="hl-num">{customer.conversation_count}</td>'
            f"<td>{esc(relative_time(customer.last_seen_at))}</td></tr>"
        )
    return table(["Customer", "Conversations", "Last seen"], rows, elem_id="hl-customers-table", numeric={1})


def render_customer_card(customer: Customer) -> str:
    facts = [("Phone", ", ".join(customer.phones) or "—"), ("Email", ", ".join(customer.emails) or "—"),
             ("Conversations", str(customer.conversation_count)), ("First seen", date_text(customer.created_at)),
             ("Last seen", date_text(customer.last_seen_at))]
    facts_html = "".join(f'<div class="hl-fact"><span class="hl-fact-label">{esc(k)}</span>'
                         f'<span class="hl-fact-value">{esc(v)}</span></div>' for k, v in facts)
    return (f'<div class="hl-card hl-header"><h2 class="hl-title">{esc(customer_label(customer))}</h2>'
            f'<div class="hl-facts">{facts_html}</div></div>')
