"""The ``heard-local`` command line.

Commands that read or write data open the engine in this process when no server runs; when a
``heard-local serve`` (or ``watch``) owns the data directory they talk to it over its local API
instead, so they work either way. Results go to stdout, messages to stderr (``KEY=$(heard-local keys
create --name ci)`` works).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from heard_local import __version__
from heard_local.cli.batch import add_batch_commands
from heard_local.cli.export import add_export_command
from heard_local.cli.session import open_client, settings_from_args
from heard_local.config import Settings
from heard_local.errors import HeardError, NotFoundError, ValidationError

_CHANNELS = ("voice", "email", "chat", "meeting")
_FORMATS = ("json", "txt", "srt", "vtt")


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _metadata(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "source": args.source, "customer_email": args.email, "customer_phone": args.phone,
        "customer_name": args.customer_name, "agent_name": args.agent_name, "recorded_at": args.recorded_at,
        "channel": args.channel, "language": args.language, "num_speakers": getattr(args, "num_speakers", None),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _resolve_configuration(client: Any, tag_or_id: str | None) -> str | None:
    if not tag_or_id:
        return None
    for configuration in client.configurations():
        if tag_or_id in (configuration["configuration_id"],) or configuration["tag"].lower() == tag_or_id.lower():
            return configuration["configuration_id"]
    raise NotFoundError(f"No configuration has the id or tag {tag_or_id!r}", field="configuration")


def _progress_printer() -> Any:
    interactive = sys.stderr.isatty()
    last = {"line": ""}

    def show(job: dict[str, Any]) -> None:
        progress = job.get("progress") or {}
        fraction = progress.get("fraction")
        line = f"  {job['job_id']}: {progress.get('step', '')}" + (f" {fraction:.0%}" if fraction is not None else "")
        if job.get("queue_position"):
            line += f" (queue position {job['queue_position']})"
        if line != last["line"]:
            _err(("\r" + line.ljust(78)) if interactive else line)
            last["line"] = line

    return show


def _wait_and_report(client: Any, submission: dict[str, Any], label: str) -> bool:
    if submission.get("duplicate"):
        _err(f"{label}: already submitted (same content and configuration) as job {submission['job_id']}")
    job = client.wait_for_job(submission["job_id"], on_progress=_progress_printer())
    if job["status"] == "failed":
        error = job.get("error") or {}
        _err(f"{label}: FAILED ({error.get('code')}): {error.get('message')}")
        return False
    _err(f"{label}: completed")
    return True


# --- commands ------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, *, ui: bool) -> int:
    from heard_local.server import serve

    settings = settings_from_args(args)
    return serve(settings, ui=ui and not args.no_ui and settings.enable_ui,
                 watcher=not args.no_watch and settings.enable_watcher,
                 insecure_no_auth=getattr(args, "insecure_no_auth", False))


def cmd_url(args: argparse.Namespace) -> int:
    from heard_local.runtime import running_server

    settings = settings_from_args(args)
    info = running_server(settings.data_dir)
    if info is None:
        _err(f"heard-local: no server is running for {settings.data_dir}. Start one with: heard-local serve")
        return 1
    if not info.ui_login_url:
        _err(f"The server at {info.url} runs without the web UI's sign-in (or without the web UI): {info.url}/")
        print(f"{info.url}/")
        return 0
    print(info.ui_login_url)
    if args.open:
        import webbrowser

        webbrowser.open(info.ui_login_url)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    with open_client(settings, workers=False) as client:
        if args.keys_command == "create":
            created = client.create_key(args.name)
            _err(f"Created API key {created['key_id']} ({created['name']}). It is shown only once:")
            print(created["key"])
        elif args.keys_command == "list":
            for key in client.list_keys():
                state = "revoked" if key["revoked_at"] else "active"
                print(f"{key['key_id']}  {key['prefix']}…  {state:8}  {key['name']}  created {key['created_at']}")
        else:
            revoked = client.revoke_key(args.key)
            _err(f"Revoked API key {revoked['key_id']} ({revoked['name']})")
    return 0


def cmd_ingest_transcript(args: argparse.Namespace) -> int:
    from heard_local.engine.intake import transcript_text  # read as the watcher and the UI read it

    settings = settings_from_args(args)
    ok = True
    with open_client(settings) as client:
        configuration_id = _resolve_configuration(client, args.configuration)
        submissions = []
        for name in args.files:
            if name == "-":
                text, label = sys.stdin.read(), "stdin"
            else:
                path = Path(name)
                try:
                    text = transcript_text(path.read_bytes(), str(path))
                except OSError as exc:
                    raise ValidationError(f"Cannot read {path}: {exc.strerror}", field="file") from None
                label = path.name
            metadata = _metadata(args)
            if label != "stdin":
                metadata.setdefault("name", label)
            submission = client.ingest_transcript(text, metadata=metadata, configuration_id=configuration_id)
            print(submission["transcription_id"], flush=True)
            submissions.append((label, submission))
        if not args.no_wait:
            for label, submission in submissions:
                ok = _wait_and_report(client, submission, label) and ok
    return 0 if ok else 1


def cmd_ingest_audio(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    ok = True
    with open_client(settings) as client:
        configuration_id = _resolve_configuration(client, args.configuration)
        submissions = []
        for name in args.files:
            path = Path(name)
            if not path.is_file():
                raise ValidationError(f"{path} is not a file", field="file")
            submission = client.ingest_audio(path, metadata=_metadata(args), configuration_id=configuration_id)
            print(submission["transcription_id"], flush=True)
            submissions.append((path.name, submission))
        if not args.no_wait:
            for label, submission in submissions:
                ok = _wait_and_report(client, submission, label) and ok
    return 0 if ok else 1


def cmd_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    with open_client(settings, workers=False) as client:
        configuration_id = _resolve_configuration(client, args.configuration)
        page = client.transcriptions(status=args.status, configuration_id=configuration_id, search=args.search,
                                     group=args.group, limit=args.limit)
        if args.json:
            print(json.dumps(page, indent=2))
            return 0
        rows = page["transcriptions"]
        if not rows:
            _err("No transcriptions yet. Add one with: heard-local ingest-transcript FILE")
            return 0
        print(f"{'TRANSCRIPTION ID':36}  {'STATUS':11}  {'CREATED':19}  {'LANG':4}  {'DUR':>7}  NAME")
        for item in rows:
            duration = f"{item['duration']:.0f}s" if item.get("duration") is not None else "-"
            created = (item.get("created_at") or "")[:19].replace("T", " ")
            print(f"{item['transcription_id']:36}  {item['status']:11}  {created:19}  {item.get('language') or '-':4}  "
                  f"{duration:>7}  {item.get('name') or ''}")
        if page["total"] > len(rows):
            _err(f"({len(rows)} of {page['total']}; use --limit to see more)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from heard_local.domain import Transcription
    from heard_local.exports.transcript_formats import render

    settings = settings_from_args(args)
    with open_client(settings, workers=False) as client:
        data = client.transcription(args.transcription_id)
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    transcription = Transcription.model_validate(data)
    if transcription.details is None:
        _err(f"Transcription {args.transcription_id} is {transcription.status.value}; nothing to show yet.")
        return 1
    sys.stdout.write(render(transcription, args.format))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    with open_client(settings, workers=False) as client:
        print(json.dumps(client.status(), indent=2, default=str))
    return 0


# --- parser --------------------------------------------------------------------------------------------


def _add_location(parser: argparse.ArgumentParser, *, watch: bool = False) -> None:
    parser.add_argument("--data-dir", help="data directory (env HEARD_DATA_DIR)")
    if watch:
        parser.add_argument("--watch-dir", help="watch folder root (env HEARD_WATCH_DIR)")


def _add_metadata(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metadata")
    group.add_argument("--configuration", help="configuration tag or id (default: the default configuration)")
    group.add_argument("--source", help="label for the ingestion source")
    group.add_argument("--email", help="customer email (identity resolution)")
    group.add_argument("--phone", help="customer phone (identity resolution)")
    group.add_argument("--customer-name")
    group.add_argument("--agent-name")
    group.add_argument("--channel", choices=_CHANNELS)
    group.add_argument("--recorded-at", help="ISO 8601 time of the conversation")
    group.add_argument("--language", help="force the language (ISO code) instead of detecting it")
    parser.add_argument("--no-wait", action="store_true", help="return once queued instead of waiting")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heard-local", description="Private, local conversation intelligence.")
    parser.add_argument("--version", action="version", version=f"heard-local {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the engine, HTTP API, web UI and watch folders")
    _add_location(serve, watch=True)
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--no-ui", action="store_true", help="no web UI")
    serve.add_argument("--no-watch", action="store_true", help="do not watch folders")
    serve.add_argument("--insecure-no-auth", action="store_true",
                       help="no sign-in for the web UI (anyone who reaches the port can read and delete everything)")
    serve.set_defaults(func=lambda a: cmd_serve(a, ui=True))

    url = sub.add_parser("url", help="print the running server's web UI address with its sign-in token")
    _add_location(url)
    url.add_argument("--open", action="store_true", help="also open it in the browser")
    url.set_defaults(func=cmd_url)

    watch = sub.add_parser("watch", help="headless: engine, API and watch folders, no web UI")
    _add_location(watch, watch=True)
    watch.add_argument("--host", help="bind address for the API (default 127.0.0.1)")
    watch.add_argument("--port", type=int, help="API port (default 8000)")
    watch.set_defaults(func=lambda a: cmd_serve(a, ui=False), no_ui=True, no_watch=False)

    keys = sub.add_parser("keys", help="API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = keys_sub.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    _add_location(create)
    listing = keys_sub.add_parser("list", help="list keys")
    _add_location(listing)
    revoke = keys_sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key", help="key id, name or prefix")
    _add_location(revoke)
    keys.set_defaults(func=cmd_keys)

    transcript = sub.add_parser("ingest-transcript", help="ingest text transcripts ('-' reads stdin)")
    transcript.add_argument("files", nargs="+", metavar="FILE")
    _add_location(transcript)
    _add_metadata(transcript)
    transcript.set_defaults(func=cmd_ingest_transcript)

    audio = sub.add_parser("ingest-audio", help="ingest audio recordings")
    audio.add_argument("files", nargs="+", metavar="FILE")
    _add_location(audio)
    _add_metadata(audio)
    audio.add_argument("--num-speakers", type=int, help="number of speakers, when known")
    audio.set_defaults(func=cmd_ingest_audio)

    listing = sub.add_parser("list", help="recent transcriptions with their status")
    _add_location(listing)
    listing.add_argument("--status", choices=("PENDING", "IN_PROGRESS", "COMPLETED", "FAILED"))
    listing.add_argument("--configuration", help="configuration tag or id")
    listing.add_argument("--group", choices=("PENDING_REVIEW", "UNDER_REVIEW", "ARCHIVED"))
    listing.add_argument("--search", help="text in the transcript or name")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    listing.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="print one transcription")
    show.add_argument("transcription_id")
    show.add_argument("--format", choices=_FORMATS, default="txt")
    _add_location(show)
    show.set_defaults(func=cmd_show)

    status = sub.add_parser("status", help="queue, workers and models")
    _add_location(status)
    status.set_defaults(func=cmd_status)

    add_export_command(sub, add_location=_add_location)
    add_batch_commands(sub, add_location=_add_location)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command in ("serve", "watch"):
        logging.getLogger("heard_local").setLevel(logging.DEBUG if args.verbose else Settings().log_level)
    try:
        return int(args.func(args) or 0)
    except HeardError as exc:
        _err(f"heard-local: {exc.message}")
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
