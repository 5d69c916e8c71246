"""Browser fixtures: one headless Chromium per session (Debian's, through Playwright), one real
``heard-local serve`` per test module, screenshots under artifacts/ui/ (not committed)."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.harness import REPO_ROOT, UiServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO_ROOT / "artifacts" / "ui"
VIEWPORT = {"width": 1440, "height": 1000}


def chromium_path() -> Path | None:
    found = CHROMIUM if CHROMIUM.exists() else None
    for name in ("chromium", "chromium-browser"):
        if found is None and shutil.which(name):
            found = Path(str(shutil.which(name)))
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None or importlib.util.find_spec("playwright") is None:
        pytest.skip("the browser tests need Playwright and a Chromium (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def ui_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Whisper (it says one known phrase), built offline in a few seconds."""
    from tests.support.tiny_whisper import build_tiny_whisper

    return build_tiny_whisper(tmp_path_factory.mktemp("ui-whisper"))


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, ui_whisper: Path) -> Iterator[UiServer]:
    server = UiServer(root=tmp_path_factory.mktemp("ui-server"), whisper_model=ui_whisper).start()
    try:
        yield server
    finally:
        server.stop()


class PageWatch:
    """What a page did that a test may want to assert on: console errors and requests leaving the machine."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def on_request(self, request: Any) -> None:
        if not request.url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:")):
            self.external_requests.append(request.url)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    watch = PageWatch()
    tab.on("console", watch.on_console)
    tab.on("request", watch.on_request)
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.watch = watch
    try:
        yield tab
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (artifacts/ui/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
