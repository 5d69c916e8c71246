"""Summaries over HTTP: one call when the conversation fits, map-reduce when it does not."""

from __future__ import annotations

import re
from typing import Any

from heard_local.adapters.ollama import OllamaLlm
from heard_local.config import Settings
from heard_local.domain import Segment
from heard_local.pipeline.chunking import estimate_tokens
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import LlmContext
from tests.support.ollama_server import OllamaTestServer, Reply

SHORT = LlmContext(
    segments=[Segment(text="Guten Tag, ich möchte meinen Vertrag kündigen.", speaker="SPEAKER_00"),
              Segment(text="Das tut mir leid, ich helfe Ihnen gern.", speaker="SPEAKER_01")],
    language="de",
    speaker_labels={"SPEAKER_00": "Kunde", "SPEAKER_01": "Agent"},
)


def llm_for(server: OllamaTestServer, context_tokens: int = 8192) -> OllamaLlm:
    return OllamaLlm(Settings(ollama_host=server.url, ollama_timeout_seconds=5.0,
                              ollama_context_tokens=context_tokens))


def long_context(turns: int) -> LlmContext:
    sentence = "We went through the invoice line by line and checked every charge against the contract terms."
    return LlmContext(
        segments=[Segment(text=f"Turn {i}: {sentence} Item {i} was discussed.", speaker=f"SPEAKER_0{i % 2}")
                  for i in range(turns)],
        language="en",
        speaker_labels={"SPEAKER_00": "Agent", "SPEAKER_01": "Customer"},
    )


def test_a_short_conversation_is_summarised_in_one_call_in_the_asked_language(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.json({"summary": "Der Kunde möchte kündigen."}))
    summary = llm_for(ollama).summarize(SHORT, "de", null_hook)
    assert summary.summary == "Der Kunde möchte kündigen."
    (request,) = ollama.chat_requests
    assert request["format"]["required"] == ["summary"]
    prompt = request["messages"][-1]["content"]
    assert "Write in German." in prompt
    assert "[0] Kunde: Guten Tag, ich möchte meinen Vertrag kündigen." in prompt


def test_without_a_language_the_summary_follows_the_conversation(ollama: OllamaTestServer) -> None:
    llm_for(ollama).summarize(SHORT, None, null_hook)
    assert "Write in the same language as the conversation." in ollama.chat_requests[0]["messages"][-1]["content"]


def test_an_invalid_summary_is_asked_for_again(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.json({"summary": ""}), Reply.json({"summary": "Kündigung besprochen."}))
    assert llm_for(ollama).summarize(SHORT, "de", null_hook).summary == "Kündigung besprochen."
    assert '"summary" must be a non-empty text' in ollama.chat_requests[1]["messages"][-1]["content"]


def _part(request: dict[str, Any]) -> tuple[int, int] | None:
    found = re.search(r"This is part (\d+) of (\d+) of a long conversation", request["messages"][-1]["content"])
    return (int(found[1]), int(found[2])) if found else None


def test_a_long_conversation_is_chunked_and_reduced_not_truncated(ollama: OllamaTestServer) -> None:
    context_tokens = 2048

    def responder(request: dict[str, Any]) -> Any:
        part = _part(request)
        if part is not None:
            return {"summary": f"Partial summary {part[0]}."}
        return {"summary": "The whole call: the invoice was checked item by item."}

    ollama.responder = responder
    steps: list[str] = []
    summary = llm_for(ollama, context_tokens).summarize(
        long_context(120), "en", lambda step, artifact=None, *, completed=None, total=None: steps.append(step))
    assert summary.summary == "The whole call: the invoice was checked item by item."

    *maps, reduce = ollama.chat_requests
    assert len(maps) >= 3
    assert [_part(r) for r in maps] == [(i, len(maps)) for i in range(1, len(maps) + 1)]
    for request in ollama.chat_requests:  # every request fits the context it was planned for
        assert estimate_tokens("".join(m["content"] for m in request["messages"])) < context_tokens
        assert request["options"]["num_ctx"] == context_tokens
    sent = "\n".join(r["messages"][-1]["content"] for r in maps)
    for i in range(120):  # every turn went to exactly one map call
        assert sent.count(f"Turn {i}: ") == 1
    combine = reduce["messages"][-1]["content"]
    assert "one summary of the whole conversation" in combine
    assert [int(n) for n in re.findall(r"Partial summary (\d+)\.", combine)] == list(range(1, len(maps) + 1))
    assert "map" in steps and "reduce" in steps


def test_partial_summaries_too_long_to_combine_at_once_are_reduced_in_levels(ollama: OllamaTestServer) -> None:
    context_tokens = 1024
    long_partial = " ".join(["The customer questioned charge number"] * 60)

    def responder(request: dict[str, Any]) -> Any:
        prompt = request["messages"][-1]["content"]
        if _part(request) is not None:
            return {"summary": f"{long_partial} (part {_part(request)[0]})."}
        if "one shorter summary of these consecutive parts" in prompt:
            return {"summary": "Intermediate: several charges questioned."}
        return {"summary": "Final: the customer questioned many charges."}

    ollama.responder = responder
    summary = llm_for(ollama, context_tokens).summarize(long_context(40), "en", null_hook)
    assert summary.summary == "Final: the customer questioned many charges."
    prompts = [r["messages"][-1]["content"] for r in ollama.chat_requests]
    intermediate = [p for p in prompts if "one shorter summary of these consecutive parts" in p]
    finals = [p for p in prompts if "one summary of the whole conversation" in p]
    assert intermediate, "partials that do not fit one call must be combined in batches first"
    assert len(finals) == 1
    # Every partial summary went into exactly one intermediate combination.
    maps = [p for p in prompts if "of a long conversation. Summarise this part" in p]
    combined = "\n".join(intermediate)
    for number in range(1, len(maps) + 1):
        assert combined.count(f"(part {number}).") == 1
    assert prompts[-1] in finals
