"""Other patterns run on what clients and the LLM write take linear time (issue 15, item 1): a field
description's list of choices, a fenced JSON answer, a webhook URL. Each old expression is kept here
as the oracle and compared with its replacement on random short inputs."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heard_local.domain.configuration import Webhooks
from heard_local.pipeline.field_choices import _without_parentheses, parse_choices, split_choices
from heard_local.pipeline.structured import fenced_body

OLD_CHOICE_SEPARATOR = re.compile(r"\s*(?:,\s*(?:or\s+)?|;\s*|\|\s*|\s+or\s+)\s*", re.IGNORECASE)
OLD_PARENTHESIS = re.compile(r"\([^)]*\)")
OLD_CODE_FENCE = re.compile(r"^\s*```(?:json)?\s*(?P<body>.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


@settings(max_examples=800, deadline=None)
@given(st.text(st.sampled_from(list(" \t,;|orORab\u3000")), max_size=40))
def test_choice_separators_split_as_before(text: str) -> None:
    assert split_choices(text) == OLD_CHOICE_SEPARATOR.split(text)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(list("()a ")), max_size=30))
def test_parentheses_are_removed_as_before(text: str) -> None:
    assert _without_parentheses(text) == OLD_PARENTHESIS.sub("", text)


@settings(max_examples=1500, deadline=None)
@given(st.text(st.sampled_from(list("` \n\tjsonJSON{}x\u2028")), max_size=30))
def test_fenced_answers_are_read_as_before(text: str) -> None:
    old = OLD_CODE_FENCE.match(text)
    assert fenced_body(text) == (old["body"] if old else None)


def _cpu_seconds(call: Callable[[], object]) -> float:
    started = time.process_time()
    call()
    return time.process_time() - started


def test_a_description_padded_with_spaces_is_read_in_milliseconds() -> None:
    # 4,000 characters is the longest description; the old separator took minutes (cubic) on this.
    description = "Must be one of: " + " " * 3980 + "x"
    assert _cpu_seconds(lambda: parse_choices(description)) < 0.05
    assert _cpu_seconds(lambda: split_choices(" " * 200_000 + "x")) < 0.05
    assert parse_choices("Must be one of: A, B, or C") == ("A", "B", "C")
    assert _cpu_seconds(lambda: parse_choices("One of: " + "(" * 3990)) < 0.05


def test_an_answer_padded_with_spaces_is_read_in_milliseconds() -> None:
    # The old fence pattern took 6 s on 2,000 spaces; an answer can be as long as the model's output.
    assert _cpu_seconds(lambda: fenced_body("```json" + " " * 200_000 + "{}x")) < 0.05
    assert _cpu_seconds(lambda: fenced_body("```" + " " * 200_000 + "{}```" + " " * 200_000)) < 0.05
    assert fenced_body('```json\n{"a": 1}\n```') == '{"a": 1}'


def test_a_megabyte_webhook_url_is_refused_at_once() -> None:
    # The length was checked after a pattern that is quadratic on a URL ending in a space.
    url = "http://" + "a" * 1_000_000 + " "
    started = time.process_time()
    with pytest.raises(pydantic.ValidationError, match="2048"):
        Webhooks(success_url=url)
    assert time.process_time() - started < 0.5
    assert Webhooks(success_url="https://example.com/hook?x=1").success_url == "https://example.com/hook?x=1"
