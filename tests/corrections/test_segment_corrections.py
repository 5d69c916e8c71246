"""Corrections of real transcripts (the bundled Whisper model on ../shared/data) through the HTTP API:
edit a line, move it to another speaker, merge, split at a word, undo; persisted across a restart, in
the exports and in search, and what the LLM stage reads when re-run."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.domain import JobStatus
from heard_local.engine import Engine
from tests.corrections.conftest import Api
from tests.support.ollama_server import OllamaTestServer, user_text
from tests.support.real_calls import real_settings


def base(api: Api, name: str) -> str:
    return f"/api/v1/transcriptions/{api.ids[name]}"


def segments_of(api: Api, name: str) -> list[dict[str, Any]]:
    body = api.client.get(base(api, name), params={"words": "true"}, headers=api.headers).json()
    return list(body["details"]["conversation"]["segments"])


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and "details" in error


def test_a_corrected_line_keeps_the_timings_of_the_words_left_alone_and_survives_a_restart(api: Api) -> None:
    before = segments_of(api, "phone_call")
    index = next(i for i, s in enumerate(before) if len(s["words"]) >= 4)
    words = before[index]["words"]
    tokens = [w["word"].strip() for w in words]
    corrected = " ".join([*tokens[:-2], "Zanzibar", "quokka", tokens[-1]])  # one word replaced by two
    answer = api.client.patch(f"{base(api, 'phone_call')}/segments/{index}", json={"text": corrected},
                              headers=api.headers)
    assert answer.status_code == 200, answer.text
    after = answer.json()["details"]["conversation"]["segments"]
    assert after[index]["text"] == corrected
    assert [s["text"] for i, s in enumerate(after) if i != index] == [
        s["text"] for i, s in enumerate(before) if i != index]
    new_words = after[index]["words"]
    assert [(w["start"], w["end"]) for w in new_words[:-3]] == [(w["start"], w["end"]) for w in words[:-2]]
    assert new_words[-1]["start"] == words[-1]["start"] and new_words[-1]["probability"] == words[-1]["probability"]
    typed = new_words[-3:-1]
    assert [w["word"].strip() for w in typed] == ["Zanzibar", "quokka"]
    assert all(w["probability"] is None for w in typed)
    assert typed[0]["start"] == words[-2]["start"] and typed[1]["end"] == pytest.approx(words[-2]["end"], abs=0.002)

    # Search finds the corrected word; the exports show it; a restart keeps it.
    found = api.client.get("/api/v1/transcriptions", params={"search": "quokka"}, headers=api.headers).json()
    assert [t["transcription_id"] for t in found["transcriptions"]] == [api.ids["phone_call"]]
    srt = api.client.get(f"/api/v1/exports/transcriptions/{api.ids['phone_call']}", params={"format": "srt"},
                         headers=api.headers)
    assert srt.status_code == 200 and "quokka" in srt.text
    api.client.close()
    api.engine.close()
    with Engine.open(real_settings(api.data_dir)) as reopened:
        key = reopened.keys.create("after-restart")[1]
        with TestClient(create_app(reopened)) as client:
            body = client.get(f"/api/v1/transcriptions/{api.ids['phone_call']}", headers={"X-API-Key": key}).json()
            assert body["details"]["conversation"]["segments"][index]["text"] == corrected
            txt = client.get(f"/api/v1/exports/transcriptions/{api.ids['phone_call']}", params={"format": "txt"},
                             headers={"X-API-Key": key})
            assert "Zanzibar quokka" in txt.text
            undone = client.post(f"/api/v1/transcriptions/{api.ids['phone_call']}/segments/undo",
                                 headers={"X-API-Key": key})
            assert undone.status_code == 200
            assert undone.json()["details"]["conversation"]["segments"] == before  # words and all
            gone = client.get("/api/v1/transcriptions", params={"search": "quokka"},
                              headers={"X-API-Key": key}).json()
            assert gone["total"] == 0


def test_a_line_moves_to_the_other_speaker_and_the_subtitles_follow(api: Api) -> None:
    before = segments_of(api, "stereo_call")
    speakers = sorted({s["speaker"] for s in before})
    assert len(speakers) == 2
    index = 0
    other = next(s for s in speakers if s != before[index]["speaker"])
    api.engine.transcriptions.rename_speaker(api.ids["stereo_call"], other, "Bea")
    answer = api.client.patch(f"{base(api, 'stereo_call')}/segments/{index}", json={"speaker": other},
                              headers=api.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["details"]["conversation"]["segments"][index]["speaker"] == other
    assert body["details"]["num_speakers"] == 1  # everyone's lines are now Bea's
    vtt = api.client.get(f"/api/v1/exports/transcriptions/{api.ids['stereo_call']}", params={"format": "vtt"},
                         headers=api.headers).text
    assert all(line.startswith("<v Bea>") for line in vtt.split("\n") if line.startswith("<v "))


def test_split_at_a_word_and_merge_back_then_undo_everything(api: Api) -> None:
    before = segments_of(api, "phone_call")
    i = max(range(len(before)), key=lambda n: len(before[n]["words"]))  # the line with the most words
    words = before[i]["words"]
    assert len(words) >= 2
    at = len(words) // 2
    split = api.client.post(f"{base(api, 'phone_call')}/segments/{i}/split", json={"word_index": at},
                            headers=api.headers)
    assert split.status_code == 200, split.text
    parts = split.json()["details"]["conversation"]["segments"]
    assert len(parts) == len(before) + 1
    head, tail = parts[i], parts[i + 1]
    assert head["words"] == words[:at] and tail["words"] == words[at:]
    assert head["start"] == before[i]["start"] and head["end"] == words[at - 1]["end"]
    assert tail["start"] == words[at]["start"] and tail["end"] == before[i]["end"]
    assert f"{head['text']} {tail['text']}" == before[i]["text"]
    assert parts[:i] == before[:i] and parts[i + 2:] == before[i + 1:]

    merged = api.client.post(f"{base(api, 'phone_call')}/segments/{i}/merge", headers=api.headers)
    assert merged.status_code == 200, merged.text
    assert merged.json()["details"]["conversation"]["segments"] == before  # merging undoes the split exactly

    history = api.client.get(f"{base(api, 'phone_call')}/segments/edits", headers=api.headers).json()
    assert [(e["seq"], e["kind"], e["segment_index"]) for e in history["edits"]] == [(1, "split", i), (2, "merge", i)]
    assert history["original_segments"] == [{k: s[k] for k in ("text", "speaker", "start", "end")} for s in before]

    one = api.client.post(f"{base(api, 'phone_call')}/segments/undo", headers=api.headers).json()
    assert one["details"]["conversation"]["segments"] == parts
    everything = api.client.post(f"{base(api, 'phone_call')}/segments/undo", params={"all": "true"},
                                 headers=api.headers)
    assert everything.json()["details"]["conversation"]["segments"] == before
    assert_error(api.client.post(f"{base(api, 'phone_call')}/segments/undo", headers=api.headers), 409, "CONFLICT")


def test_bad_corrections_answer_in_the_error_envelope(api: Api) -> None:
    path = f"{base(api, 'phone_call')}/segments"
    before = segments_of(api, "phone_call")
    count = len(before)
    assert_error(api.client.patch(f"{path}/0", json={}, headers=api.headers), 400, "VALIDATION_ERROR")
    assert_error(api.client.patch(f"{path}/0", json={"text": "   "}, headers=api.headers), 400, "VALIDATION_ERROR")
    assert_error(api.client.patch(f"{path}/0", json={"speaker": "Bob"}, headers=api.headers), 400,
                 "VALIDATION_ERROR")
    assert_error(api.client.patch(f"{path}/0", json={"text": "x", "words": []}, headers=api.headers), 400,
                 "VALIDATION_ERROR")
    assert_error(api.client.patch(f"{path}/{count}", json={"text": "x"}, headers=api.headers), 404, "NOT_FOUND")
    assert_error(api.client.patch(f"{path}/-1", json={"text": "x"}, headers=api.headers), 400, "VALIDATION_ERROR")
    assert_error(api.client.post(f"{path}/{count - 1}/merge", headers=api.headers), 400, "VALIDATION_ERROR")
    assert_error(api.client.post(f"{path}/0/split", json={"word_index": 10_000}, headers=api.headers), 400,
                 "VALIDATION_ERROR")
    assert_error(api.client.post(f"{path}/0/split", json={"word_index": 0}, headers=api.headers), 400,
                 "VALIDATION_ERROR")
    missing = "/api/v1/transcriptions/00000000-0000-4000-8000-000000000000/segments/0"
    assert_error(api.client.patch(missing, json={"text": "x"}, headers=api.headers), 404, "NOT_FOUND")
    assert_error(api.client.patch(f"{path}/0", json={"text": "x"}), 401, "AUTH_ERROR")
    assert segments_of(api, "phone_call") == before  # nothing above changed it
    assert api.client.get(f"{path}/edits", headers=api.headers).json()["edits"] == []


def test_the_llm_stage_re_runs_on_the_corrected_text(api: Api) -> None:
    index = 0
    corrected = "The customer wants to close account number seventeen at Fjordbank."
    assert api.client.patch(f"{base(api, 'monologue')}/segments/{index}", json={"text": corrected},
                            headers=api.headers).status_code == 200
    api.client.close()
    api.engine.close()
    with OllamaTestServer() as server:
        with Engine.open(real_settings(api.data_dir, ollama_host=server.url)) as engine:
            tid = api.ids["monologue"]
            configuration = engine.transcriptions.get(tid).configuration_id
            engine.configurations.update(configuration, {"summary": True})
            job = engine.jobs.reprocess(tid)
            assert engine.jobs.wait(job.job_id, timeout=120).status is JobStatus.COMPLETED
        prompts = [user_text(request) for request in server.chat_requests]
    assert prompts and any("Fjordbank" in prompt for prompt in prompts)
    original_first_line = "This is the acoustic corpus"
    assert not any(original_first_line in prompt for prompt in prompts)
