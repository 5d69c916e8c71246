"""Watch folders: drop a recording or a transcript into ``watch_folders/<folder>/``, find the results
beside it. See watch_folders/README.md for what a user sees; service.py for how it works."""

from heard_local.watcher.service import WatchService

__all__ = ["WatchService"]
