"""The UI's pure parts: HTML rendering (escaping, speaker colours, evidence), job progress per stage,
form parsing, request guards. No browser needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import gradio as gr
import pandas as pd
import pytest

from heard_local.config import Settings
from heard_local.domain import (
    Conversation,
    Details,
    Evidence,
    Fields,
    FieldValue,
    Segment,
    SpeakerInfo,
    Transcription,
    TranscriptionStatus,
)
from heard_local.engine import Engine
from heard_local.errors import NotFoundError, ValidationError
from heard_local.ui.analytics_view import field_frame, histogram_order, per_day_frame, render_narrative
from heard_local.ui.errors import friendly, user_message
from heard_local.ui.format import esc, value_text
from heard_local.ui.jobs_html import JobCard, ProgressMemory, render_job, stage_states, stages_for, time_left
from heard_local.ui.routes import content_disposition
from heard_local.ui.security import LocalOriginGuard, host_name, is_loopback_host, is_remote_fetch
from heard_local.ui.tables_html import render_transcriptions
from heard_local.ui.tabs.configurations import fields_from_table, vocabulary_from_text
from heard_local.ui.tabs.ingest import build_metadata
from heard_local.ui.tabs.transcriptions import build_filter
from heard_local.ui.transcript_html import find_highlights, render_conversation, render_fields, speaker_colors
from tests.support.engine_internals import models_of


def transcription(segments: list[Segment], **details: Any) -> Transcription:
    return Transcription(
        transcription_id="t-1", status=TranscriptionStatus.COMPLETED, configuration_id="c-1",
        details=Details(conversation=Conversation(segments=segments), **details),
    )


# --- transcript HTML -----------------------------------------------------------------------------------------


def test_user_text_can_neither_inject_markup_nor_template_code() -> None:
    hostile = '<img src=x onerror="alert(1)"> ${alert(2)} {{value}} `x`'
    html = render_conversation(transcription([Segment(text=hostile, speaker="SPEAKER_00", start=0.0, end=1.0)],
                                             speakers={"SPEAKER_00": SpeakerInfo(name="<b>Eve</b>")}))
    assert "<img" not in html and "<b>Eve" not in html
    assert "${" not in html and "{{" not in html and "`" not in html
    assert "&lt;img src=x" in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert esc("a&b") == "a&amp;b"


def test_speakers_get_distinct_colours_in_order_of_appearance_and_segments_seek() -> None:
    t = transcription([
        Segment(text="Hello", speaker="SPEAKER_01", start=0.0, end=1.0),
        Segment(text="Hi", speaker="SPEAKER_00", start=1.5, end=2.0),
        Segment(text="Bye", speaker="SPEAKER_01", start=2.5, end=3.0),
    ])
    assert speaker_colors(t) == {"SPEAKER_01": 0, "SPEAKER_00": 1}
    html = render_conversation(t, has_media=True)
    assert html.count('class="hl-seg hl-spk-0 hl-seekable"') == 2
    assert 'data-start="1.500"' in html
    assert 'src="ui/media/t-1"' in html


def test_untimed_segments_do_not_offer_seeking_and_no_player_without_media() -> None:
    html = render_conversation(transcription([Segment(text="Hello", speaker="SPEAKER_00")]), has_media=False)
    assert "data-start" not in html and "hl-seekable" not in html and "<audio" not in html


def test_evidence_is_highlighted_once_without_overlaps() -> None:
    text = "My card TCK-4821 was declined at the store"
    found = find_highlights(text, [("card tck-4821", "ticket"), ("TCK-4821 was", "other"), ("declined", "status"),
                                   ("not in the text", "missing")])
    assert [(text[h.start:h.end], h.field) for h in found] == [("card TCK-4821", "ticket"), ("declined", "status")]


def test_fields_show_values_and_link_their_evidence_to_segments() -> None:
    t = transcription(
        [Segment(text="Your reference is TCK-1.", speaker="SPEAKER_00", start=3.0, end=4.0)],
        fields=Fields(fields=[
            FieldValue(name="ticket_id", value="TCK-1",
                       evidence=[Evidence(quote="reference is TCK-1", segment_index=0)]),
            FieldValue(name="resolved", value=None),
            FieldValue(name="products", value=["card", "app"]),
        ]),
    )
    html = render_fields(t, {"ticket_id": "string"})
    assert 'data-seg="0"' in html and "“reference is TCK-1”" in html and "0:03" in html
    assert "Not mentioned" in html and "card, app" in html
    assert '<mark class="hl-evidence"' in render_conversation(t)
    assert value_text(True) == "Yes" and value_text(3.0) == "3"


# --- job progress --------------------------------------------------------------------------------------------


def view(state: str, step: str = "queued", fraction: float | None = None, **extra: Any) -> dict[str, Any]:
    return {"job_id": "job_1", "state": state, "kind": "audio", "transcription_id": "t-1",
            "progress": {"step": step, "fraction": fraction}, "created_at": datetime.now(UTC).isoformat(), **extra}


def test_stages_follow_the_pipeline_and_parallel_stages_stay_active() -> None:
    stages = stages_for("audio", extract=True, summarize=False)
    assert stages == ["decode", "transcribe", "diarize", "extract"]
    memory = ProgressMemory()
    transcribing = view("IN_PROGRESS", "transcribe", 0.4)
    card = JobCard(transcribing, "Call", stages, memory.update(transcribing))
    assert stage_states(card) == [("decode", "done", 1.0), ("transcribe", "active", 0.4),
                                  ("diarize", "waiting", 0.0), ("extract", "waiting", 0.0)]
    # Diarization reports while transcription is still running: both are shown as active.
    diarizing = view("IN_PROGRESS", "diarize/embeddings", 0.5)
    card = JobCard(diarizing, "Call", stages, memory.update(diarizing))
    assert [s[1] for s in stage_states(card)] == ["done", "active", "active", "waiting"]
    done = JobCard(view("COMPLETED", "done", 1.0), "Call", stages)
    assert {s[1] for s in stage_states(done)} == {"done"}
    failed = JobCard(view("FAILED", "transcribe", 0.2, error={"message": "Audio format not recognized"}), "Call",
                     stages)
    assert stage_states(failed)[1][1] == "failed"
    assert "Audio format not recognized" in render_job(failed)


def test_queue_position_and_time_left_are_spelled_out() -> None:
    assert time_left(view("PENDING", queue_position=0, estimated_duration_seconds=12)).startswith("Next in line")
    assert time_left(view("PENDING", queue_position=2)) == "2 jobs ahead"
    started = datetime.now(UTC) - timedelta(seconds=10)
    assert time_left(view("IN_PROGRESS", estimated_duration_seconds=40, started_at=started.isoformat())) \
        .startswith("About 30 s")
    html = render_job(JobCard(view("IN_PROGRESS", "transcribe", 0.25), "Call <1>", ["decode", "transcribe"]))
    assert "Call &lt;1&gt;" in html and "Transcribe 25%" in html


# --- forms ---------------------------------------------------------------------------------------------------


def test_extraction_fields_from_the_table() -> None:
    table = pd.DataFrame([["ticket_id", "", "The ticket"], ["", "", ""], ["amount", "Number", "Amount"]],
                         columns=["name", "type", "description"])
    assert fields_from_table(table) == [{"name": "ticket_id", "type": "string", "description": "The ticket"},
                                        {"name": "amount", "type": "number", "description": "Amount"}]
    with pytest.raises(ValidationError, match="type must be one of string, number, boolean, array"):
        fields_from_table([["x", "date", "d"]])
    with pytest.raises(ValidationError, match="describe what to extract"):
        fields_from_table([["x", "string", ""]])
    assert vocabulary_from_text("Northwind, TCK\n\n  Sarah ") == ["Northwind", "TCK", "Sarah"]


def test_ingest_metadata_leaves_out_empty_fields() -> None:
    metadata = build_metadata(name=" Call ", channel="voice", source="", customer_name="", phone="+1 415 555 0100",
                              email="", agent_name="Sarah", recorded_at="2024-05-01 14:30:00", language="",
                              num_speakers=0)
    assert metadata["name"] == "Call" and metadata["source"] == "web-ui" and metadata["channel"] == "voice"
    assert metadata["customer_phone"] == "+1 415 555 0100" and metadata["agent_name"] == "Sarah"
    assert metadata["recorded_at"].startswith("2024-05-01T14:30:00")
    assert "customer_email" not in metadata and "num_speakers" not in metadata and "language" not in metadata
    with pytest.raises(ValidationError, match="Recorded at"):
        build_metadata(name="", channel="", source="", customer_name="", phone="", email="", agent_name="",
                       recorded_at="yesterday", language="", num_speakers=None)


def test_date_filter_includes_the_whole_last_day() -> None:
    flt = build_filter(search=" card ", configuration_id="", status="COMPLETED", group="", language="en",
                       channel="", customer_id="", created_from="2024-05-01", created_to="2024-05-02")
    assert flt.search == "card" and flt.status is not None and flt.language == "en" and flt.group is None
    assert flt.created_to - flt.created_from == timedelta(days=2)  # type: ignore[operator]


# --- errors, downloads, guards -------------------------------------------------------------------------------


def test_errors_become_messages_never_tracebacks() -> None:
    assert user_message(NotFoundError("Transcription x not found")) == ("Not found", "Transcription x not found")
    assert user_message(ValidationError("extraction_fields.0.name: must start with a letter"))[1] == \
        "Extraction field 1, name: must start with a letter"
    assert user_message(ValidationError("webhooks.success_url: must be an http:// or https:// URL"))[1] == \
        "Webhooks success url: must be an http:// or https:// URL"
    assert user_message(ValidationError("Add a recording first."))[1] == "Add a recording first."
    title, message = user_message(KeyError("boom"))
    assert title == "Something went wrong"
    assert "KeyError" in message and "Traceback" not in message and "boom" not in message

    @friendly
    def failing() -> str:
        raise ValidationError("Tag must not be blank")

    # Outside a running page Gradio turns the toast into a Python warning; the page is left as it was.
    with pytest.warns(UserWarning, match="Tag must not be blank"):
        assert failing() == gr.skip()


def test_download_names_survive_any_characters() -> None:
    header = content_disposition('Réunion "équipe"/../x', "txt")
    assert header.startswith('attachment; filename="R_union')
    assert "filename*=UTF-8''R%C3%A9union" in header
    header.encode("latin-1")  # a header must be latin-1 encodable


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("[::1]", True),
                                               ("app.localhost", True), ("127.0.0.2", True),
                                               ("192.168.1.5", False), ("attacker.example", False)])
def test_loopback_host_names(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_request_guard() -> None:
    guard = LocalOriginGuard(app=None, bind_host="127.0.0.1")  # type: ignore[arg-type]

    def problem(method: str, path: str, **headers: str) -> str | None:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return guard.problem({"type": "http", "method": method, "path": path, "headers": raw})

    assert host_name("[::1]:8000") == "[::1]" and host_name("127.0.0.1:8000") == "127.0.0.1"
    assert problem("GET", "/", host="127.0.0.1:8000") is None
    assert problem("POST", "/gradio_api/queue/join", host="127.0.0.1:8000", origin="http://127.0.0.1:8000") is None
    assert problem("POST", "/gradio_api/queue/join", host="127.0.0.1:8000", origin="https://evil.example")
    assert problem("GET", "/", host="evil.example:8000")
    assert is_remote_fetch("/gradio_api/file=https://example.com/a") and is_remote_fetch("/gradio_api/proxy=x")
    assert not is_remote_fetch("/gradio_api/file=/tmp/heard-local-ui-1/a.wav")
    lan = LocalOriginGuard(app=None, bind_host="0.0.0.0")  # type: ignore[arg-type]
    assert lan.problem({"type": "http", "method": "GET", "path": "/", "headers": [(b"host", b"10.0.0.2:8000")]}) \
        is None


# --- analytics -----------------------------------------------------------------------------------------------


REPORT = {
    "deterministic": {
        "conversations": {"total": 3},
        "duration_seconds": {"histogram": [{"label": "< 1 min", "count": 2}, {"label": "1–2 min", "count": 1}]},
        "per_day": [{"date": "2025-10-01", "count": 2}, {"date": "2025-10-02", "count": 1}],
        "fields": [{"name": "resolved", "type": "boolean", "values": [{"value": True, "count": 2},
                                                                      {"value": False, "count": 1}]}],
    },
    "narrative": {"status": "unavailable", "reason": "Ollama is not running at http://127.0.0.1:11434."},
}


def test_analytics_report_becomes_plot_data_and_says_why_the_narrative_is_missing() -> None:
    numbers = REPORT["deterministic"]
    assert per_day_frame(numbers)["conversations"].tolist() == [2, 1]
    assert histogram_order(numbers) == ["< 1 min", "1–2 min"]
    assert field_frame(numbers, "resolved").to_dict("records") == [{"value": "Yes", "conversations": 2},
                                                                   {"value": "No", "conversations": 1}]
    assert "Ollama is not running" in render_narrative(REPORT)


def test_conversation_list_escapes_names_and_offers_selection_only_in_the_main_list() -> None:
    item = {"transcription_id": "t-9", "name": "<script>x</script>", "status": "FAILED", "group": "ARCHIVED",
            "configuration_tag": "Support", "customer_id": None, "language": "de", "duration": 75.0,
            "created_at": "2024-05-01T10:00:00+00:00", "kind": "audio", "channel": "voice",
            "error_message": "Audio format not recognized", "llm_status": "not_requested"}
    main = render_transcriptions([item])
    assert "<script>x" not in main and "&lt;script&gt;x" in main
    assert 'class="hl-row-check" value="t-9"' in main and 'data-open="t-9"' in main
    assert "Archived" in main and "German" in main and "1 min 15 s" in main and "Audio format not recognized" in main
    history = render_transcriptions([item], history=True)
    assert "hl-row-check" not in history and "Configuration" not in history


def test_the_settings_tab_shows_the_bundled_whisper_model_in_use_and_why(nothing_downloaded: None,
                                                                          settings: Settings) -> None:
    from heard_local.ui.tabs.settings import render_status

    with Engine.open(settings) as engine:
        assert "Bundled fallback" not in render_status(engine)  # not known before the model loads
        models_of(engine).transcriber.get()
        page = render_status(engine)
    assert "Bundled fallback" in page
    assert "tiny.en (bundled, English only)" in page
    assert "could not be loaded" in page and "HEARD_WHISPER_MODEL" in page
    assert esc(settings.whisper_model) in page


def test_the_settings_tab_names_the_diarizer_that_separates_speakers(settings: Settings) -> None:
    from heard_local.ui.tabs.settings import diarizer_name

    assert diarizer_name(settings) is None  # the suite's settings: HEARD_DIARIZER=off
    no_pipeline = diarizer_name(settings.model_copy(update={"diarizer": "auto"}))
    assert no_pipeline is not None and no_pipeline.startswith("built-in diarizer")
    community = diarizer_name(settings.model_copy(update={"diarizer": "auto",
                                                          "diarization_model": "pyannote/community"}))
    assert community is not None and community.startswith("pyannote/community") and "built-in" in community
    strict = settings.model_copy(update={"diarizer": "pyannote", "diarization_model": "pyannote/community"})
    assert diarizer_name(strict) == "pyannote/community"
