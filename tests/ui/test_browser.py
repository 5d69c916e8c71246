"""The web UI in a real browser (headless Chromium) against a real ``heard-local serve``.

Each test arranges what it needs itself (through the UI, or over the HTTP API when the UI part is not
what it checks), so any one of them can run alone. Screenshots of every main view are written to
artifacts/ui/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import shared_data_path
from tests.ui.conftest import screenshot
from tests.ui.harness import (
    FIELD_ANSWERS,
    SUPPORT_FIELDS,
    UiServer,
    api_client,
    ensure_configuration,
    ingest_transcript,
    support_transcript,
    wait_for_job,
)

pytestmark = pytest.mark.browser

SUPPORT = "Support calls"
CHATS = "Chat transcripts"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def open_ui(page: Any, server: UiServer, query: str = "") -> None:
    """Open the UI the way a user does: through the sign-in link ``heard-local serve`` printed."""
    joined = ("&" + query.lstrip("?")) if query else ""
    page.goto(server.login_url + joined)
    page.wait_for_selector(".hl-brand-name")
    assert "token=" not in page.url  # the token does not stay in the address bar (or the history)


def go_to(page: Any, tab: str) -> None:
    page.locator(f"#hl-tab-{tab}-button").click()


def textbox(page: Any, elem_id: str) -> Any:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def choose(page: Any, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").first.click()
    page.get_by_role("option", name=option, exact=True).click()


def upload(page: Any, path: Path) -> None:
    page.locator("#hl-upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#hl-upload .uploading")).to_have_count(0)  # "Uploading 1 file..." has gone
    expect(page.locator("#hl-upload")).to_contain_text(path.stem)  # shown as "name .ext size"


def toast_text(page: Any) -> str:
    toasts = page.locator(".toast-body, [data-testid='toast-body']")
    expect(toasts.first).to_be_visible()
    return " ".join(toasts.all_inner_texts())


def assert_clean(page: Any) -> None:
    """Nothing left the machine, and no script broke."""
    assert page.watch.external_requests == [], page.watch.external_requests
    assert page.watch.console_errors == [], page.watch.console_errors


def chat_requests(server: UiServer) -> int:
    assert server.ollama is not None
    return sum(1 for request in server.ollama.requests if request.path == "/api/chat")


# --- the views -----------------------------------------------------------------------------------------------


def test_the_ui_asks_to_sign_in_and_the_printed_link_signs_in(page: Any, ui_server: UiServer) -> None:
    refused = page.goto(ui_server.url + "/")
    assert refused is not None and refused.status == 401
    expect(page.locator("h1")).to_contain_text("sign in to the web UI")
    expect(page.locator("body")).to_contain_text("heard-local url")
    screenshot(page, "00-sign-in-refused")
    open_ui(page, ui_server)  # the link serve printed
    cookie = next(c for c in page.context.cookies() if c["name"].startswith("heard_local_ui_"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # page scripts cannot read the session
    page.goto(ui_server.url + "/")  # later visits need no token
    page.wait_for_selector(".hl-brand-name")
    screenshot(page, "00-signed-in")


def test_every_view_opens_without_errors_or_network_access(page: Any, ui_server: UiServer) -> None:
    open_ui(page, ui_server)
    expect(page.locator("#hl-jobs")).to_contain_text("Nothing in the queue")
    screenshot(page, "01-add-conversations-empty")
    for tab, marker in [("transcriptions", "#hl-list"), ("transcript", "#hl-transcript-empty"),
                        ("configurations", "#hl-config-overview"), ("analytics", "#hl-analytics-config"),
                        ("customers", "#hl-customers"), ("settings", "#hl-status")]:
        go_to(page, tab)
        expect(page.locator(marker)).to_be_visible()
    expect(page.locator("#hl-status")).to_contain_text("Running")  # the scripted Ollama answers
    expect(page.locator("#hl-status")).to_contain_text("Watch folders")
    assert_clean(page)


def test_create_a_configuration_with_fields_and_see_limits_explained(page: Any, ui_server: UiServer) -> None:
    open_ui(page, ui_server)
    go_to(page, "configurations")
    page.locator("#hl-config-new").click()
    expect(page.locator("#hl-config-pick input").first).to_have_value("+ New configuration")
    expect(textbox(page, "hl-config-tag")).to_have_value("")
    textbox(page, "hl-config-tag").fill("Sales calls")
    page.locator("#hl-config-summary input").check()
    textbox(page, "hl-config-vocabulary").fill("Northwind\nTCK")

    def put(row: int, column: int, text: str) -> None:
        cell = page.locator(f'#hl-config-fields [data-testid="cell-{row}-{column}"]')
        cell.dblclick()
        editor = cell.locator("textarea, input").first  # the cell's editor, once edit mode has opened
        editor.fill(text)
        editor.press("Enter")
        expect(cell).to_contain_text(text)

    put(0, 0, "9lives")  # not an identifier: the engine's message must reach the user as is
    put(0, 1, "string")
    put(0, 2, "A ticket number")
    expect(page.locator('#hl-config-fields [data-testid="cell-0-0"]')).to_contain_text("9lives")
    page.locator("#hl-config-save").click()
    message = toast_text(page)
    assert "must start with a letter" in message
    assert "Traceback" not in message
    put(0, 0, "ticket_id")
    expect(page.locator('#hl-config-fields [data-testid="cell-0-0"]')).to_contain_text("ticket_id")
    page.locator("#hl-config-examples").click()
    expect(page.locator('#hl-config-fields [data-testid="cell-2-0"]')).to_contain_text("issue_resolved")
    page.locator("#hl-config-save").click()
    expect(page.locator("#hl-config-message")).to_contain_text("Created “Sales calls”")
    expect(page.locator("#hl-config-message .hl-secret")).to_contain_text("whsec_")
    expect(page.locator("#hl-config-overview")).to_contain_text("ticket_id, sentiment, issue_resolved")
    screenshot(page, "05-configurations")

    with api_client(ui_server) as api:
        stored = next(c for c in api.get("/configurations").json()["configurations"] if c["tag"] == "Sales calls")
    assert [f["name"] for f in stored["extraction_fields"]] == ["ticket_id", "sentiment", "issue_resolved"]
    assert stored["vocabulary"] == ["Northwind", "TCK"]
    assert stored["summary"] is True
    # The new configuration is offered where conversations are added, without reloading the page.
    go_to(page, "ingest")
    page.locator("#hl-ingest-config input").first.click()
    expect(page.get_by_role("option", name="Sales calls", exact=True)).to_be_visible()
    assert_clean(page)


def test_paste_a_transcript_and_upload_a_recording_and_watch_them_complete(page: Any, ui_server: UiServer) -> None:
    recording = shared_data_path("faster-whisper", "stereo_diarization.wav")
    with api_client(ui_server) as api:
        ensure_configuration(api, SUPPORT, SUPPORT_FIELDS, summary=True)
    open_ui(page, ui_server)
    choose(page, "hl-ingest-config", SUPPORT)
    page.get_by_role("tab", name="Paste transcript").click()
    textbox(page, "hl-transcript-input").fill(support_transcript("Jane Whitfield"))
    page.locator("#hl-ingest-details").click()
    textbox(page, "hl-ingest-name").fill("Declined card — Jane")
    textbox(page, "hl-ingest-customer").fill("Jane Doe")
    textbox(page, "hl-ingest-phone").fill("+1 415 555 0100")
    assert ui_server.ollama is not None
    ui_server.ollama.delay = 2.0  # a slow LLM: the job stays in its extraction stage long enough to watch
    try:
        page.locator("#hl-submit").click()
        expect(page.locator("#hl-ingest-result")).to_contain_text("Pasted transcript: queued")
        live = page.locator(".hl-job", has_text="Declined card — Jane")
        expect(live.locator('.hl-stage[data-stage="extract"]')).to_have_attribute("data-state", "active")
        expect(live).to_have_attribute("data-state", "IN_PROGRESS")
        expect(live.locator('.hl-stage[data-stage="parse"]')).to_have_attribute("data-state", "done")
        screenshot(page, "02-add-conversations-processing")
    finally:
        ui_server.ollama.delay = 0.0

    page.get_by_role("tab", name="Upload recordings").click()
    upload(page, recording)
    textbox(page, "hl-ingest-name").fill("Stereo call recording")
    page.locator("#hl-submit").click()
    expect(page.locator("#hl-ingest-result")).to_contain_text("stereo_diarization.wav: queued")

    for title in ("Declined card — Jane", "Stereo call recording"):
        card = page.locator(".hl-job", has_text=title)
        expect(card).to_have_attribute("data-state", "COMPLETED", timeout=90_000)
        states = card.locator(".hl-stage").evaluate_all("nodes => nodes.map(n => n.dataset.state)")
        assert states and set(states) == {"done"}, (title, states)
    audio_card = page.locator(".hl-job", has_text="Stereo call recording")
    stages = audio_card.locator(".hl-stage").evaluate_all("nodes => nodes.map(n => n.dataset.stage)")
    assert stages[:3] == ["decode", "transcribe", "diarize"]
    screenshot(page, "03-add-conversations-completed")

    # Both are in the list, and the full-text search finds the transcript by what was said.
    go_to(page, "transcriptions")
    expect(page.locator("#hl-list")).to_contain_text("Stereo call recording")
    textbox(page, "hl-search").fill("goodbye jane whitfield")
    textbox(page, "hl-search").press("Enter")
    expect(page.locator("#hl-list tbody tr")).to_have_count(1)
    expect(page.locator("#hl-list")).to_contain_text("Declined card — Jane")
    assert_clean(page)


def test_transcript_view_seeks_highlights_evidence_and_keeps_a_renamed_speaker(page: Any,
                                                                                 ui_server: UiServer) -> None:
    with api_client(ui_server) as api:
        configuration_id = ensure_configuration(api, SUPPORT, SUPPORT_FIELDS, summary=True)
        transcription_id = ingest_transcript(api, configuration_id, "Rename me", customer_name="Jane Doe",
                                             customer_phone="+1 415 555 0100")
    open_ui(page, ui_server, f"?t={transcription_id}")
    conversation = page.locator("#hl-conversation")
    expect(conversation.locator(".hl-seg").first).to_be_visible()
    expect(page.locator("#hl-transcript-header")).to_contain_text("Rename me")
    # Speakers in distinct colours, in order of appearance.
    classes = conversation.locator(".hl-seg").evaluate_all("nodes => nodes.slice(0, 2).map(n => n.className)")
    assert re.search(r"hl-spk-0\b", classes[0]) and re.search(r"hl-spk-1\b", classes[1]), classes
    # Extracted fields with their evidence quotes highlighted in the conversation.
    fields = page.locator("#hl-fields")
    expect(fields).to_contain_text("TCK-4821")
    expect(fields).to_contain_text("NEUTRAL")
    marks = conversation.locator("mark.hl-evidence").all_inner_texts()
    assert FIELD_ANSWERS["ticket_id"][1] in marks
    expect(page.locator("#hl-summary")).to_contain_text("replacement")
    screenshot(page, "04-transcript")

    choose(page, "hl-speaker-pick", "Agent (SPEAKER_00)")
    textbox(page, "hl-speaker-name").fill("Sarah (agent)")
    textbox(page, "hl-speaker-name").press("Enter")
    expect(conversation.locator(".hl-seg").first.locator(".hl-speaker")).to_have_text("Sarah (agent)")
    page.reload()
    expect(page.locator("#hl-conversation .hl-seg").first.locator(".hl-speaker")).to_have_text("Sarah (agent)")
    expect(page.locator("#hl-speakers")).to_contain_text("Sarah (agent)")

    # Downloads carry the new name.
    with page.expect_download() as download:
        page.locator("#hl-transcript-header a.hl-download", has_text="Text").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].startswith("Sarah (agent): Thank you for calling Northwind Bank")
    with api_client(ui_server) as api:
        stored = api.get(f"/transcriptions/{transcription_id}").json()
    assert stored["details"]["speakers"]["SPEAKER_00"]["name"] == "Sarah (agent)"
    assert_clean(page)


def test_recording_plays_from_the_segment_clicked(page: Any, ui_server: UiServer) -> None:
    recording = shared_data_path("faster-whisper", "stereo_diarization.wav")
    with api_client(ui_server) as api:
        with recording.open("rb") as handle:
            answer = api.post("/ingest/audio", files={"audio_file": (recording.name, handle, "audio/wav")},
                              data={"metadata": '{"name": "Seek test"}'})
        answer.raise_for_status()
        transcription_id = answer.json()["transcription_id"]
        assert wait_for_job(api, answer.json()["job_id"])["status"] == "completed"
    open_ui(page, ui_server, f"?t={transcription_id}")
    player = page.locator("#hl-audio")
    expect(player).to_be_attached()
    page.wait_for_function("document.getElementById('hl-audio').readyState >= 1")
    segment = page.locator("#hl-conversation .hl-seg[data-start]").last
    start = float(segment.get_attribute("data-start") or "0")
    segment.click()
    position = page.evaluate("document.getElementById('hl-audio').currentTime")
    assert position >= start - 0.05, (position, start)
    assert_clean(page)


def test_the_word_being_played_is_highlighted(page: Any, ui_server: UiServer) -> None:
    recording = shared_data_path("faster-whisper", "stereo_diarization.wav")
    with api_client(ui_server) as api:
        with recording.open("rb") as handle:
            answer = api.post("/ingest/audio", files={"audio_file": (recording.name, handle, "audio/wav")},
                              data={"metadata": '{"name": "Word test"}'})
        answer.raise_for_status()
        transcription_id = answer.json()["transcription_id"]
        assert wait_for_job(api, answer.json()["job_id"])["status"] == "completed"
        stored = api.get(f"/transcriptions/{transcription_id}", params={"words": "true"}).json()
    open_ui(page, ui_server, f"?t={transcription_id}")
    page.wait_for_function("document.getElementById('hl-audio').readyState >= 1")
    segment = page.locator("#hl-conversation .hl-seg[data-words]").last  # the one playing from its start on
    index = int(segment.get_attribute("data-index") or "0")
    words = stored["details"]["conversation"]["segments"][index]["words"]
    word = words[len(words) // 2]
    shown = page.evaluate("""(at) => {
        const player = document.getElementById('hl-audio');
        player.pause();
        player.currentTime = at;
        player.dispatchEvent(new Event('timeupdate'));
        const marked = CSS.highlights.get('hl-word');
        return marked ? [...marked][0].toString() : null;
    }""", word["start"] + 0.01)
    assert shown == word["word"].strip()
    assert_clean(page)


def test_inline_corrections_edit_split_merge_move_and_undo(page: Any, ui_server: UiServer) -> None:
    with api_client(ui_server) as api:
        configuration_id = ensure_configuration(api, "Corrections", [], summary=False)
        transcription_id = ingest_transcript(
            api, configuration_id, "Corrections", "Agent: Hello, thanks for calling.\n"
            "Customer: My name is Jo and I need help today.\nAgent: Sure.\n")

        def texts() -> list[tuple[str, str]]:
            body = api.get(f"/transcriptions/{transcription_id}").json()
            return [(s["speaker"], s["text"]) for s in body["details"]["conversation"]["segments"]]

        original = texts()
        open_ui(page, ui_server, f"?t={transcription_id}")
        second = page.locator("#hl-conversation .hl-seg").nth(1)
        second.hover()
        second.locator("button[data-edit=edit]").click()
        line = second.locator(".hl-seg-text")
        line.fill("My name is Joanne and I need help today.")
        second.locator("button[data-edit=save]").click()
        expect(page.locator("#hl-conversation .hl-undo-bar")).to_contain_text("1 correction")
        assert texts()[1] == (original[1][0], "My name is Joanne and I need help today.")

        second = page.locator("#hl-conversation .hl-seg").nth(1)
        second.hover()
        second.locator("button[data-edit=edit]").click()
        page.evaluate("""() => {  // the cursor inside "and"
            const text = document.querySelectorAll('#hl-conversation .hl-seg-text')[1].firstChild;
            const range = document.createRange();
            range.setStart(text, 'My name is Joanne an'.length);
            window.getSelection().removeAllRanges();
            window.getSelection().addRange(range);
        }""")
        second.locator("button[data-edit=split]").click()
        expect(page.locator("#hl-conversation .hl-seg")).to_have_count(4)
        assert [t for _, t in texts()[1:3]] == ["My name is Joanne", "and I need help today."]

        third = page.locator("#hl-conversation .hl-seg").nth(2)
        third.locator("select[data-edit=speaker]").select_option(original[0][0])
        expect(page.locator("#hl-conversation .hl-undo-bar")).to_contain_text("3 corrections")
        assert texts()[2] == (original[0][0], "and I need help today.")
        first = page.locator("#hl-conversation .hl-seg").nth(0)
        first.hover()
        first.locator("button[data-edit=merge]").click()
        expect(page.locator("#hl-conversation .hl-seg")).to_have_count(3)
        assert texts()[0][1] == "Hello, thanks for calling. My name is Joanne"

        page.locator("#hl-conversation button[data-edit=undo]").click()
        expect(page.locator("#hl-conversation .hl-seg")).to_have_count(4)
        page.locator("#hl-conversation button[data-edit=undo-all]").click()
        expect(page.locator("#hl-conversation .hl-undo-bar")).to_have_count(0)
        assert texts() == original
    assert_clean(page)


def test_bulk_review_group_change(page: Any, ui_server: UiServer) -> None:
    with api_client(ui_server) as api:
        configuration_id = ensure_configuration(api, SUPPORT, SUPPORT_FIELDS, summary=True)
        first = ingest_transcript(api, configuration_id, "Bulk one", text="Agent: Hello there.\nCustomer: Bulk one.")
        second = ingest_transcript(api, configuration_id, "Bulk two", text="Agent: Hello again.\nCustomer: Bulk two.")
    open_ui(page, ui_server)
    go_to(page, "transcriptions")
    textbox(page, "hl-search").fill("Bulk")
    textbox(page, "hl-search").press("Enter")
    expect(page.locator("#hl-list tbody tr")).to_have_count(2)
    page.locator("#hl-list .hl-check-all").check()
    choose(page, "hl-bulk-group", "Under review")
    page.locator("#hl-bulk-apply").click()
    expect(page.get_by_text("2 conversations set to “Under review”.")).to_be_visible()
    expect(page.locator("#hl-list")).to_contain_text("Under review")
    screenshot(page, "06-conversations")
    with api_client(ui_server) as api:
        groups = {api.get(f"/transcriptions/{i}").json()["group"] for i in (first, second)}
    assert groups == {"UNDER_REVIEW"}
    assert_clean(page)


def test_analytics_plots_render_with_the_written_analysis(page: Any, ui_server: UiServer) -> None:
    with api_client(ui_server) as api:
        # its own configuration: other tests add recordings (with durations) to the shared "Support calls"
        configuration_id = ensure_configuration(api, CHATS, SUPPORT_FIELDS, summary=True)
        ingest_transcript(api, configuration_id, "Analytics sample")
    open_ui(page, ui_server)
    go_to(page, "analytics")
    choose(page, "hl-analytics-config", CHATS)
    expect(page.locator("#hl-kpis")).to_contain_text("Conversations")
    for plot in ("#hl-plot-volume", "#hl-plot-languages", "#hl-plot-field"):
        # Vega draws the bars as SVG paths or on a canvas; either way, something is drawn.
        expect(page.locator(f"{plot} canvas, {plot} svg .mark-rect path, {plot} svg path").first).to_be_attached()
    # A pasted transcript has no durations: that plot says so instead of drawing an empty 0 axis.
    expect(page.locator("#hl-plot-durations-empty")).to_contain_text("No data yet")
    expect(page.locator("#hl-plot-durations")).to_be_hidden()
    expect(page.locator("#hl-plot-volume-empty")).to_be_hidden()
    expect(page.locator("#hl-field-table")).to_contain_text("sentiment")
    expect(page.locator("#hl-narrative")).to_contain_text("Notify customers by SMS", timeout=30_000)
    screenshot(page, "07-analytics")
    assert_clean(page)


def test_customers_and_api_keys(page: Any, ui_server: UiServer) -> None:
    with api_client(ui_server) as api:
        configuration_id = ensure_configuration(api, SUPPORT, SUPPORT_FIELDS, summary=True)
        ingest_transcript(api, configuration_id, "Customer history", customer_name="Rita Customer",
                          customer_email="rita@example.com")
    open_ui(page, ui_server)
    go_to(page, "customers")
    row = page.locator("#hl-customers tbody tr", has_text="Rita Customer")
    expect(row).to_contain_text("rita@example.com")
    row.locator("a[data-customer]").click()
    expect(page.locator("#hl-customer-detail")).to_contain_text("Customer history")
    screenshot(page, "08-customers")
    page.locator("#hl-customer-detail a[data-open]").first.click()
    expect(page.locator("#hl-transcript-header")).to_contain_text("Customer history")

    go_to(page, "settings")
    textbox(page, "hl-key-name").fill("CRM integration")
    page.locator("#hl-key-create").click()
    key = textbox(page, "hl-new-key")
    expect(key).to_have_value(re.compile(r"^sk_local_"))
    secret = key.input_value()
    expect(page.locator("#hl-keys")).to_contain_text("CRM integration")
    screenshot(page, "09-settings")
    assert httpx.get(ui_server.url + "/api/v1/configurations", headers={"X-API-Key": secret}).status_code == 200
    page.locator("#hl-key-revoke-pick input").first.click()
    page.get_by_role("option", name=re.compile(r"^CRM integration")).click()
    page.locator("#hl-key-revoke").click()
    expect(page.locator("#hl-keys")).to_contain_text("Revoked")
    assert httpx.get(ui_server.url + "/api/v1/configurations", headers={"X-API-Key": secret}).status_code == 401
    assert_clean(page)


def test_a_bad_file_gets_a_readable_message(page: Any, ui_server: UiServer, tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio at all " * 20)
    open_ui(page, ui_server)
    upload(page, fake)
    page.locator("#hl-submit").click()
    result = page.locator("#hl-ingest-result")
    expect(result).to_contain_text("notes.wav: Audio format not recognized")
    assert "Traceback" not in result.inner_text()
    page.locator("#hl-upload input[type=file]").set_input_files([])
    page.locator("#hl-submit").click()  # nothing to submit
    assert "Add a recording" in toast_text(page)
    assert_clean(page)



def test_review_group_rerun_and_delete_from_the_transcript_view(page: Any, ui_server: UiServer) -> None:
    with api_client(ui_server) as api:
        configuration_id = ensure_configuration(api, SUPPORT, SUPPORT_FIELDS, summary=True)
        transcription_id = ingest_transcript(api, configuration_id, "Short lived")
        chats_before = chat_requests(ui_server)
    open_ui(page, ui_server, f"?t={transcription_id}")
    expect(page.locator("#hl-transcript-header")).to_contain_text("Short lived")

    choose(page, "hl-group", "Under review")
    expect(page.locator("#hl-transcript-header")).to_contain_text("Under review")

    page.locator("#hl-rerun").click()
    assert "will be re-run" in toast_text(page)
    # The re-run shows its own progress card, then the view refreshes by itself when it is done.
    deadline = time.monotonic() + 30
    while chat_requests(ui_server) == chats_before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert chat_requests(ui_server) > chats_before  # extraction and summary really asked the LLM again
    expect(page.locator("#hl-transcript-status")).to_be_hidden(timeout=30_000)
    expect(page.locator("#hl-fields")).to_contain_text("TCK-4821")

    page.locator("#hl-delete").click()  # the confirmation dialog is accepted by the fixture
    expect(page.locator("#hl-tab-transcriptions-button")).to_have_attribute("aria-selected", "true")
    with api_client(ui_server) as api:
        assert api.get(f"/transcriptions/{transcription_id}").status_code == 404
        assert api.get(f"/transcriptions/{transcription_id}").json()["error"]["code"] == "NOT_FOUND"
    expect(page.locator("#hl-list")).not_to_contain_text("Short lived")
    assert_clean(page)
