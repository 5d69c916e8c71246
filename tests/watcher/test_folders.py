"""Folders map to configurations: by tag, by folder.toml, else the default."""

from __future__ import annotations

from pathlib import Path

from heard_local.engine import Engine
from heard_local.watcher import WatchService
from tests.watcher.helpers import transcript, wait_failed, wait_processed


def test_folders_choose_their_configuration(engine: Engine, default_folder: Path) -> None:
    sales, _ = engine.configurations.create({"tag": "Sales"})
    support, _ = engine.configurations.create({"tag": "support-calls"})
    root = default_folder.parent
    for name in ("sales", "team-b", "misc"):
        (root / name).mkdir()
    (root / "team-b" / "folder.toml").write_text(
        '# files here are support calls from the Zendesk export\n'
        'configuration = "support-calls"\n\n[metadata]\nsource = "zendesk"\nchannel = "chat"\n'
        'agent_name = "Robin"\n', encoding="utf-8")
    engine.add_service(WatchService(engine))

    (root / "sales" / "s.txt").write_text(transcript(tag="sales"), encoding="utf-8")
    (root / "team-b" / "t.txt").write_text(transcript(tag="team-b"), encoding="utf-8")
    (root / "misc" / "m.txt").write_text(transcript(tag="misc"), encoding="utf-8")
    (default_folder / "d.txt").write_text(transcript(tag="default"), encoding="utf-8")

    by_tag = wait_processed(root / "sales", "s.txt")
    by_file = wait_processed(root / "team-b", "t.txt")
    unmatched = wait_processed(root / "misc", "m.txt")
    default = wait_processed(default_folder, "d.txt")

    default_id = engine.configurations.resolve(None).configuration_id
    assert by_tag["configuration_id"] == sales.configuration_id
    assert by_file["configuration_id"] == support.configuration_id
    assert unmatched["configuration_id"] == default_id
    assert default["configuration_id"] == default_id
    assert by_tag["metadata"]["source"] == "watch:sales"
    assert by_file["metadata"]["source"] == "zendesk"
    assert by_file["metadata"]["agent_name"] == "Robin"
    assert engine.transcriptions.get(by_file["transcription_id"]).to_api()["metadata"]["channel"] == "chat"


def test_same_content_in_two_configurations_is_two_transcriptions(engine: Engine, default_folder: Path) -> None:
    engine.configurations.create({"tag": "sales"})
    (default_folder.parent / "sales").mkdir()
    engine.add_service(WatchService(engine))
    text = transcript(tag="shared")
    (default_folder / "call.txt").write_text(text, encoding="utf-8")
    (default_folder.parent / "sales" / "call.txt").write_text(text, encoding="utf-8")

    one = wait_processed(default_folder, "call.txt")
    two = wait_processed(default_folder.parent / "sales", "call.txt")

    assert one["transcription_id"] != two["transcription_id"]
    assert not (default_folder.parent / "sales" / "processed" / "call.txt.duplicate.json").exists()


def test_broken_folder_settings_fail_files_with_a_clear_reason(engine: Engine, default_folder: Path) -> None:
    root = default_folder.parent
    (root / "typo").mkdir()
    (root / "typo" / "folder.toml").write_text('configuration = "no-such-thing"\n', encoding="utf-8")
    (root / "broken").mkdir()
    (root / "broken" / "folder.toml").write_text('configuration = \n', encoding="utf-8")
    (root / "badmeta").mkdir()
    (root / "badmeta" / "folder.toml").write_text('[metadata]\nchannel = "fax"\n', encoding="utf-8")
    engine.add_service(WatchService(engine))
    for name in ("typo", "broken", "badmeta"):
        (root / name / "call.txt").write_text(transcript(tag=name), encoding="utf-8")

    typo = wait_failed(root / "typo", "call.txt")
    broken = wait_failed(root / "broken", "call.txt")
    badmeta = wait_failed(root / "badmeta", "call.txt")

    assert typo["error"]["code"] == "NOT_FOUND"
    assert "no-such-thing" in typo["error"]["message"] and "folder.toml" in typo["error"]["message"]
    assert broken["error"]["code"] == "VALIDATION_ERROR"
    assert "broken/folder.toml is not valid TOML" in broken["error"]["message"]
    assert badmeta["error"]["code"] == "VALIDATION_ERROR"
    assert "channel" in badmeta["error"]["message"]
    assert engine.transcriptions.list().total == 0
