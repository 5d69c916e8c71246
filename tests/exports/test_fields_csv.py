"""Fields as CSV (RFC 4180): quoting of commas, quotes, newlines; non-ASCII; spreadsheet safety."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from heard_local.errors import NotFoundError, ValidationError
from heard_local.exports.fields_csv import to_csv
from tests.exports.conftest import Filled
from tests.exports.helpers import store_fields

META = ["transcription_id", "name", "configuration_tag", "conversation_at", "customer_id", "language", "duration",
        "llm_status"]
TRICKY = {"reason": "refund, \"urgent\"\nsecond line — Zoë 日本", "resolved": False, "amount": -5,
          "products": ["a,b", "c\"d"]}


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_wide_layout_has_a_row_per_conversation_and_a_column_per_field(filled: Filled) -> None:
    table = rows(to_csv(filled.engine.exports.fields("Support")))
    header, *body = table
    assert header == [*META, "reason", "resolved", "amount", "products"]
    assert [r[0] for r in body] == filled.ids  # oldest conversation first
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    declined = by_name["Declined card"]
    assert (declined["reason"], declined["resolved"], declined["amount"], declined["products"]) == (
        "card declined", "true", "42.5", '["debit card"]')
    assert declined["conversation_at"] == "2024-03-01T09:15:00Z"
    assert declined["configuration_tag"] == "Support"
    assert by_name["Limit increase"]["amount"] == "5000"
    assert by_name["Close savings — Zoë"]["reason"] == 'close account, "savings"'
    assert by_name["Close savings — Zoë"]["amount"] == ""
    # A conversation whose fields are still pending (no LLM ran) keeps its row, with empty cells.
    pending = by_name["Card delivery"]
    assert (pending["reason"], pending["llm_status"]) == ("", "pending")


def test_commas_quotes_newlines_and_non_ascii_survive_the_round_trip(filled: Filled) -> None:
    store_fields(filled.engine, filled.ids[0], TRICKY)
    text = to_csv(filled.engine.exports.fields("Support"))
    header, first, *_ = rows(text)
    record = dict(zip(header, first, strict=True))
    assert record["reason"] == TRICKY["reason"]
    assert record["products"] == '["a,b", "c\\"d"]'
    assert record["amount"] == "-5"
    # RFC 4180: CRLF ends records; the newline inside the quoted value stays a bare LF.
    assert text.count("\r\n") == 1 + len(filled.ids)
    assert '"refund, ""urgent""\nsecond line — Zoë 日本"' in text
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert frame.loc[0, "reason"] == TRICKY["reason"]


def test_excel_mode_adds_a_bom_and_defuses_formulas(filled: Filled) -> None:
    store_fields(filled.engine, filled.ids[0], TRICKY)
    text = to_csv(filled.engine.exports.fields("Support"), excel=True)
    assert text.startswith("\ufeff")
    header, *body = rows(text.removeprefix("\ufeff"))
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    assert by_name["App crash"]["reason"] == "'=HYPERLINK(\"http://x\")"
    assert by_name["Declined card"]["amount"] == "-5"  # a number, not a formula: left alone
    frame = pd.read_csv(io.BytesIO(text.encode("utf-8")), encoding="utf-8-sig", keep_default_na=False)
    assert frame.columns[0] == "transcription_id"
    assert "Close savings — Zoë" in set(frame["name"])
    # Without excel=True the value is exported exactly as extracted.
    plain = {r[1]: dict(zip(header, r, strict=True)) for r in rows(to_csv(filled.engine.exports.fields()))[1:]}
    assert plain["App crash"]["reason"] == "=HYPERLINK(\"http://x\")"


def test_long_layout_has_a_row_per_field_value_with_evidence(filled: Filled) -> None:
    header, *body = rows(to_csv(filled.engine.exports.fields(), layout="long"))
    assert header == ["transcription_id", "name", "configuration_tag", "conversation_at", "field", "type", "value",
                      "evidence"]
    assert len(body) == 4 * 4  # four conversations with four fields each; the pending one has none
    declined = [r for r in body if r[1] == "Declined card"]
    assert [(r[4], r[5], r[6]) for r in declined] == [
        ("reason", "string", "card declined"), ("resolved", "boolean", "true"), ("amount", "number", "42.5"),
        ("products", "array", '["debit card"]')]


def test_configuration_filter_and_errors(filled: Filled) -> None:
    only_default = rows(to_csv(filled.engine.exports.fields("Default")))
    assert only_default == [META]  # nothing ingested with the default configuration
    with pytest.raises(NotFoundError):
        filled.engine.exports.fields("no such configuration")
    with pytest.raises(ValidationError):
        to_csv(filled.engine.exports.fields(), layout="diagonal")
