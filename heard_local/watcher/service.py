"""The watch-folder service: drop a file into ``watch_folders/<folder>/``, find its transcript beside it.

One thread owns all state. It turns file-system events into candidates, takes a candidate once it has
settled (stability.py), submits it to the engine (intake.py), follows its job, and writes the outcome
(outcomes.py). A startup scan and a periodic rescan pick up files dropped while heard-local was down or
whose events were lost; the journal reconnects files to jobs that were still queued at the last shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heard_local.domain import Job, JobStatus
from heard_local.domain.clock import utcnow
from heard_local.engine import Engine
from heard_local.errors import HeardError, InternalError, NotFoundError, ValidationError
from heard_local.watcher.events import DirectoryWatches, EventInbox, FsEvent
from heard_local.watcher.folder_rules import FolderRules
from heard_local.watcher.intake import submit_file
from heard_local.watcher.journal import Journal, JournalEntry
from heard_local.watcher.layout import FAILED, PROCESSED, Placement, WatchLayout, printable
from heard_local.watcher.outcomes import OutcomeWriter
from heard_local.watcher.stability import StabilityTracker

log = logging.getLogger(__name__)

DEFAULT_FOLDER = "default"
_JOB_CHECK_SECONDS = 0.25


@dataclass
class _Pending:
    placement: Placement
    entry: JournalEntry


class WatchService:
    """Start with ``engine.add_service(WatchService(engine))``; ``engine.close()`` stops it."""

    def __init__(self, engine: Engine):
        settings = engine.settings
        self.engine = engine
        self.layout = WatchLayout(settings.watch_dir)
        self.stable_seconds = settings.watch_stable_seconds
        self.rescan_seconds = max(1.0, settings.watch_rescan_seconds)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inbox = EventInbox(self._wake)
        self._watches = DirectoryWatches(self.layout.root, self._inbox, polling=settings.watch_polling,
                                         poll_interval=max(0.1, min(1.0, self.stable_seconds / 2)))
        self._journal = Journal(settings.data_dir / "watcher" / "journal.json")
        self._writer = OutcomeWriter(self.layout)
        self._rules = FolderRules(engine.configurations)
        self._tracker = StabilityTracker(self.stable_seconds)
        self._activity: dict[str, dict[str, Any]] = {}  # folder -> last file, outcome, time, counts
        self._pending: dict[Path, _Pending] = {}
        self._orphans: dict[str, JournalEntry] = {}  # job id -> entry of a file renamed while we were down
        self._stuck: dict[Path, tuple[int, int]] = {}  # files whose outcome could not be written, as they were
        self._warned: set[Path] = set()  # files dropped into the root, already reported
        self._thread: threading.Thread | None = None
        self._next_rescan = 0.0
        self._next_job_check = 0.0

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        root = self.layout.root
        try:
            (root / DEFAULT_FOLDER).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError(f"Cannot create the watch folder {root}: {exc.strerror}. Choose another with "
                                  "--watch-dir or HEARD_WATCH_DIR, or start with --no-watch.",
                                  field="watch_dir") from None
        self._stop.clear()
        self._watches.start()
        self._recover_journal()
        self._rescan()
        self._thread = threading.Thread(target=self._run, name="heard-watcher", daemon=True)
        self._thread.start()
        log.info("watching %s (%s; drop files into a folder inside it, e.g. %s)", root, self._watches.mode,
                 root / DEFAULT_FOLDER)

    def stop(self) -> None:
        """Stop watching. Files still being processed stay in the journal and finish after the next start."""
        self._watches.stop()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def status(self) -> dict[str, Any]:
        """``folders``: one entry per folder with its last activity (file, outcome, UTC time) and counts
        since start; ``settling``/``processing``: files still arriving / being processed."""
        folders = [{"name": p.name, **self._activity.get(p.name, {})} for p in self.layout.folders()]
        return {"watch_dir": str(self.layout.root), "mode": self._watches.mode, "folders": folders,
                "settling": len(self._tracker), "processing": len(self._pending)}

    def _note(self, placement: Placement, outcome: str) -> None:
        activity = self._activity.setdefault(placement.folder, {"processed": 0, "failed": 0, "queued": 0})
        activity.update(last_file=printable(placement.relative.as_posix()), last_outcome=outcome,
                        last_activity_at=utcnow().isoformat())
        if outcome in activity:
            activity[outcome] += 1

    # --- the loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # one bad moment must not end watching; the next step retries
                log.exception("watch: unexpected error")
                self._stop.wait(1.0)
            self._wake.wait(self._sleep_seconds())
            self._wake.clear()

    def _step(self) -> None:
        for event in self._inbox.drain():
            self._on_event(event)
        now = time.monotonic()
        if now >= self._next_rescan:
            self._rescan()
        for path in self._tracker.ready():
            if self._stop.is_set():
                return
            self._take(path)
        if self._pending and time.monotonic() >= self._next_job_check:
            self._check_jobs()

    def _sleep_seconds(self) -> float:
        now = time.monotonic()
        deadline = self._next_rescan
        if self._tracker:
            deadline = min(deadline, now + max(0.05, min(0.25, self.stable_seconds / 4)))
        if self._pending:
            deadline = min(deadline, self._next_job_check)
        return max(0.0, deadline - now)

    # --- finding files ----------------------------------------------------------------------------

    def _on_event(self, event: FsEvent) -> None:
        if event.is_directory and os.path.islink(event.dest or event.path):  # never entered: refused like a file
            event = FsEvent(event.kind, event.path, event.dest, is_directory=False)
        if event.kind == "moved":
            self._on_moved(event.path, event.dest, event.is_directory)
        elif event.is_directory:
            if event.kind == "deleted":
                self._watches.remove(event.path)
            elif event.kind == "created" and self.layout.is_watched_dir(event.path):
                self._scan(event.path)
        elif event.kind == "deleted":
            self._tracker.forget(event.path)
            self._drop_pending(event.path, "it was deleted")
        elif event.path not in self._pending and self.layout.place(event.path) is not None:
            self._tracker.touch(event.path)
        elif event.kind == "created":
            self._warn_if_stray(event.path)

    def _on_moved(self, src: Path, dest: Path | None, is_directory: bool) -> None:
        if is_directory:
            self._watches.remove(src)
            for path in [p for p in self._pending if src in p.parents]:
                self._repoint(path, dest / path.relative_to(src) if dest else None)
            if dest is not None and self.layout.is_watched_dir(dest):
                self._scan(dest)
            return
        self._tracker.forget(src)
        if src in self._pending:
            self._repoint(src, dest)
        elif dest is not None and dest not in self._pending and self.layout.place(dest) is not None:
            self._tracker.touch(dest)
        elif dest is not None:
            self._warn_if_stray(dest)

    def _warn_if_stray(self, path: Path) -> None:
        """A file dropped into the root itself, not into a folder: say where it should go (once)."""
        if path.parent != self.layout.root or path in self._warned or not self.layout.is_stray(path):
            return
        self._warned.add(path)
        log.warning("watch: %s is directly in %s and is not processed; move it into a folder, e.g. %s/",
                    path.name, self.layout.root, DEFAULT_FOLDER)

    def _repoint(self, old: Path, new: Path | None) -> None:
        """A file being processed was renamed or moved: follow it, or let it go if it left the folders."""
        placement = self.layout.place(new) if new is not None else None
        if new is None or placement is None:
            self._drop_pending(old, "it was moved out of the watch folders")
            return
        pending = self._pending.pop(old)
        self._pending[new] = _Pending(placement, pending.entry)
        self._journal.move(old, new)

    def _drop_pending(self, path: Path, why: str) -> None:
        if self._pending.pop(path, None) is not None:
            self._journal.remove(path)
            log.info("watch: no longer following %s: %s (its transcription stays in heard-local)", path, why)

    def _scan(self, top: Path) -> None:
        """Add every input file under ``top`` that is not known yet (without restarting known clocks)."""
        for directory in self.layout.input_dirs(top):
            self._watches.add(directory)
        for path in self.layout.input_files(top):
            if path in self._pending or path in self._tracker:
                continue
            if path in self._stuck:
                if self._stuck[path] == _fingerprint_or_none(path):
                    continue
                del self._stuck[path]
            self._tracker.touch(path)

    def _rescan(self) -> None:
        self._next_rescan = time.monotonic() + self.rescan_seconds
        self._watches.prune()
        self._scan(self.layout.root)
        with contextlib.suppress(OSError):
            for entry in self.layout.root.iterdir():
                self._warn_if_stray(entry)

    # --- taking a file ----------------------------------------------------------------------------

    def _recover_journal(self) -> None:
        """After a restart: entries whose file is gone either finished (the outcome was written and only the
        journal update was lost) or were renamed while we were down (kept to adopt by job id)."""
        for path, entry in self._journal.items():
            if path.exists():
                continue
            self._journal.remove(path)
            if entry.writing_as is None:
                self._orphans[entry.job_id] = entry

    def _take(self, path: Path) -> None:
        placement = self.layout.place(path)
        if placement is None or path in self._pending:
            return
        try:
            fingerprint = _fingerprint(path)
        except OSError:
            return
        entry = self._journal.get(path)
        if entry is not None and (entry.size, entry.mtime_ns) == fingerprint and self._job_exists(entry.job_id):
            self._pending[path] = _Pending(placement, entry)  # its job was queued before a restart
            log.info("watch: %s reconnected to job %s", placement.label, entry.job_id)
            self._next_job_check = 0.0
            return
        context: dict[str, Any] = {"folder": placement.folder}
        try:
            rule = self._rules.rule_for(self.layout.folder_dir(placement.folder))
            context["configuration_id"] = rule.configuration.configuration_id
            submission = submit_file(self.engine, path, rule.configuration, rule.metadata)
        except HeardError as exc:
            self._fail_now(path, placement, exc, context)
            return
        except OSError as exc:
            if not path.exists():
                return  # taken away while we read it
            self._fail_now(path, placement, ValidationError(f"Cannot read {printable(path.name)}: {exc.strerror}.",
                                                            field="file"), context)
            return
        job = submission.job
        duplicate = submission.duplicate
        if duplicate and job.job_id in self._orphans:
            duplicate = self._orphans.pop(job.job_id).duplicate  # the same file, renamed while we were down
        entry = JournalEntry(job_id=job.job_id, transcription_id=job.transcription_id, size=fingerprint[0],
                             mtime_ns=fingerprint[1], duplicate=duplicate)
        self._journal.put(path, entry)
        self._pending[path] = _Pending(placement, entry)
        self._next_job_check = 0.0
        self._note(placement, "queued")
        log.info("watch: %s queued as job %s (configuration %s, %s)%s", placement.label, job.job_id,
                 rule.configuration.tag, rule.reason, " — duplicate of an earlier file" if duplicate else "")

    def _job_exists(self, job_id: str) -> bool:
        try:
            self.engine.jobs.get(job_id)
            return True
        except NotFoundError:
            return False

    # --- outcomes ---------------------------------------------------------------------------------

    def _check_jobs(self) -> None:
        started = time.monotonic()
        jobs: dict[str, Job | None] = {}
        for path, pending in list(self._pending.items()):
            if self._stop.is_set():
                return
            job_id = pending.entry.job_id
            if job_id not in jobs:
                try:
                    jobs[job_id] = self.engine.jobs.get(job_id)
                except NotFoundError:
                    jobs[job_id] = None
            job = jobs[job_id]
            if job is None:
                self._finish_failed(path, pending, _error_body(InternalError(
                    "Its job was deleted before it finished (the transcription was deleted).")), None)
            elif job.status is JobStatus.COMPLETED:
                self._finish_processed(path, pending)
            elif job.status is JobStatus.FAILED:
                error = {"code": job.error_code or InternalError.code,
                         "message": job.last_error or "Processing failed.", "details": {}}
                self._finish_failed(path, pending, error, job)
        # One small query per job in flight: with a long backlog (a thousand recordings dropped at once)
        # checking less often keeps this thread under a fifth of a core.
        self._next_job_check = time.monotonic() + max(_JOB_CHECK_SECONDS, 4 * (time.monotonic() - started))

    def _finish_processed(self, path: Path, pending: _Pending) -> None:
        try:
            transcription = self.engine.transcriptions.get(pending.entry.transcription_id)
        except NotFoundError:
            self._finish_failed(path, pending, _error_body(InternalError(
                "Its transcription was deleted before the results could be written.")), None)
            return
        name = self._reserve_name(path, pending, PROCESSED)
        try:
            target = self._writer.processed(path, pending.placement, name, transcription,
                                            duplicate=pending.entry.duplicate)
        except OSError as exc:
            self._give_up_writing(path, pending, exc)
            return
        self._done(path)
        self._note(pending.placement, "processed")
        log.info("watch: %s -> %s (transcription %s%s)", pending.placement.label, target,
                 transcription.transcription_id, ", duplicate" if pending.entry.duplicate else "")

    def _finish_failed(self, path: Path, pending: _Pending, error: dict[str, Any], job: Job | None) -> None:
        context: dict[str, Any] = {"folder": pending.placement.folder, "job_id": pending.entry.job_id,
                                   "transcription_id": pending.entry.transcription_id}
        if job is not None:
            context.update(configuration_id=job.configuration_id, attempts=job.attempts)
        if pending.entry.duplicate:
            context["duplicate"] = True
        name = self._reserve_name(path, pending, FAILED)
        try:
            target = self._writer.failed(path, pending.placement, name, error, context)
        except OSError as exc:
            self._give_up_writing(path, pending, exc)
            return
        self._done(path)
        self._note(pending.placement, "failed")
        log.warning("watch: %s -> %s: %s", pending.placement.label, target, error["message"])

    def _fail_now(self, path: Path, placement: Placement, error: HeardError, context: dict[str, Any]) -> None:
        """A file the engine would not take at all (junk, empty, unreadable): straight to failed/."""
        try:
            target = self._writer.failed(path, placement, self._writer.free_name(placement, FAILED),
                                         _error_body(error), context)
        except OSError as exc:
            log.error("watch: cannot move %s to failed/ (%s); leaving it in place", placement.label, exc)
            self._remember_stuck(path)
            return
        self._note(placement, "failed")
        log.warning("watch: %s -> %s: %s", placement.label, target, error.message)

    def _reserve_name(self, path: Path, pending: _Pending, outcome: str) -> str:
        """The outcome name, recorded before anything is written so a crash half-way re-uses it."""
        entry = pending.entry
        if entry.writing_as is None:
            entry.writing_as = self._writer.free_name(pending.placement, outcome)
            self._journal.put(path, entry)
        return entry.writing_as

    def _give_up_writing(self, path: Path, pending: _Pending, exc: OSError) -> None:
        log.error("watch: cannot write the outcome of %s (%s). It stays where it is; it is retried when the file "
                  "changes or heard-local restarts.", pending.placement.label, exc)
        self._pending.pop(path, None)
        self._remember_stuck(path)

    def _remember_stuck(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            self._stuck[path] = _fingerprint(path)

    def _done(self, path: Path) -> None:
        self._pending.pop(path, None)
        self._journal.remove(path)


def _fingerprint(path: Path) -> tuple[int, int]:
    info = os.lstat(path)  # a link is refused, never followed
    return info.st_size, info.st_mtime_ns


def _fingerprint_or_none(path: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError):
        return _fingerprint(path)
    return None


def _error_body(error: HeardError) -> dict[str, Any]:
    return error.to_envelope()["error"]
