"""Browser tests: real headless Chromium (Debian's package) driven by Playwright against
the live test server, on organisation sites at <slug>.localhost:<port>.

Each step can be saved as a screenshot under test-results/<test>/ so that a failing run
can be looked at; every page is checked with axe-core (no serious or critical violations)
and must log no console error.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

# Playwright's sync API runs an event loop in the test's thread; Django's ORM, used by the
# tests for set-up and checks, would otherwise refuse to run there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
DOCS = ROOT / "docs" / "screenshots"  # the README's, refreshed with DOCS_SCREENSHOTS=1
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_axe = Axe()


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail(
            "Chromium is needed for the browser tests: install Debian's package "
            "(apt-get install -y chromium; .ci/run does it) or set CHROMIUM=/path/to/chromium."
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Walk:
    """A tab in Chromium, with the checks every page gets and numbered screenshots."""

    page: Page
    folder: Path
    allowed_console: tuple[str, ...] = ()
    console_errors: list[str] = field(default_factory=list)
    steps: int = 0

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if not any(re.search(pattern, message.text) for pattern in self.allowed_console):
            self.console_errors.append(message.text)

    def check(self, name: str, page: Page | None = None, *, accessibility: bool = True) -> Page:
        """Screenshot the page and check its accessibility (our pages; Django's admin
        pages are Django's)."""
        page = page or self.page
        page.wait_for_load_state()
        self.steps += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.folder / f"{self.steps:02d}-{name}.png"), full_page=True)
        if not accessibility:
            return page
        results = _axe.run(page)
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], f"accessibility problems on {name}: {serious}"
        return page

    def finish(self) -> None:
        assert self.console_errors == [], self.console_errors

    def for_docs(self, prefix: str, names: tuple[str, ...] = (), *, numbered: bool = True) -> None:
        """With DOCS_SCREENSHOTS set, copy the steps ``names`` (every step when none) to the
        README's screenshots as ``<prefix><number>-<name>.png`` (or ``<prefix><name>.png``)."""
        if not os.environ.get("DOCS_SCREENSHOTS"):
            return
        DOCS.mkdir(parents=True, exist_ok=True)
        for shot in sorted(self.folder.glob("*.png")):
            name = shot.stem.split("-", 1)[1]
            if not names or name in names:
                shutil.copy(shot, DOCS / f"{prefix}{shot.name if numbered else name + '.png'}")


@pytest.fixture
def walk(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Any]:
    contexts = []

    def start(
        locale: str = "ja",
        width: int = 1280,
        height: int = 900,
        allowed_console: tuple[str, ...] = (),
        touch: bool = False,
    ) -> Walk:
        context = browser.new_context(
            locale=locale,
            viewport={"width": width, "height": height},
            has_touch=touch,
            is_mobile=touch,
            reduced_motion="reduce",  # no animation half-way when checked
        )
        contexts.append(context)
        page = context.new_page()
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        folder = RESULTS / f"{name}-{len(contexts)}"
        shutil.rmtree(folder, ignore_errors=True)
        walker = Walk(page, folder, allowed_console)
        walker.watch(page)
        return walker

    yield start
    for context in contexts:
        context.close()
