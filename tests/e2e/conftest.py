"""Fixtures of the end-to-end tests: medsign served as a process, and a real browser.

Starting ``medsign serve`` (and ``medsign org create`` beside it) costs several seconds
of CPU, so each database kind is served once for this package, with its own SMTP server
and SMS gateway (tests.support.served.serve_with_peers), and tests keep apart by
using their own documents, envelopes and contacts. ``served`` is the SQLite one;
``served_each_db`` runs a test on SQLite and on PostgreSQL where one answers
(tests.support.databases.postgres_url).

Package scope, not session scope: the servers and the browser stop once the e2e tests
are done. Playwright's sync API keeps an asyncio loop running in the main thread while
it lives, where ``asyncio.run`` in later (integration) tests would fail.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from tests.support.databases import postgres_url
from tests.support.served import ServedStack, serve_with_peers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 360, "height": 740}  # a cheap phone (DESIGN.md)
SERVED_DB_KINDS = ["sqlite"] + (["postgresql"] if postgres_url() else [])
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()

expect.set_options(timeout=15_000)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell a failed test."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    call = request.node.stash.get(_REPORTS, {}).get("call")
    return call is not None and call.failed


class ServedPool:
    """One served stack per database kind, started on first use, stopped at the end."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._exit = ExitStack()
        self._stacks: dict[str, ServedStack] = {}
        self._broken: dict[str, str] = {}

    def get(self, kind: str) -> ServedStack:
        """The stack serving ``kind``; a start that failed once is not retried."""
        if kind in self._broken:
            pytest.fail(
                f"medsign could not be served on {kind} (see the first error):\n"
                + self._broken[kind][-2000:]
            )
        if kind not in self._stacks:
            try:
                self._stacks[kind] = self._exit.enter_context(
                    serve_with_peers(self._root / kind, kind)
                )
            except AssertionError as exc:
                self._broken[kind] = str(exc)
                raise
        return self._stacks[kind]

    def close(self) -> None:
        """Stop every process and peer."""
        self._exit.close()


@pytest.fixture(scope="package")
def served_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPool]:
    """The served stacks of the e2e tests."""
    pool = ServedPool(tmp_path_factory.mktemp("served"))
    yield pool
    pool.close()


def _use(pool: ServedPool, kind: str, request: pytest.FixtureRequest) -> Iterator[ServedStack]:
    stack = pool.get(kind)
    yield stack
    if _failed(request):
        print(f"--- medsign ({kind}) output, end of {stack.app.log_file} ---")
        print(stack.app.output_tail(4000))
    code = stack.app.process.poll()
    assert code is None, (
        f"medsign serve ({kind}) exited with {code} during the test\n{stack.app.output_tail()}"
    )


@pytest.fixture
def served(served_pool: ServedPool, request: pytest.FixtureRequest) -> Iterator[ServedStack]:
    """medsign served on SQLite, with its SMTP server and SMS gateway."""
    yield from _use(served_pool, "sqlite", request)


@pytest.fixture(params=SERVED_DB_KINDS)
def served_each_db(
    served_pool: ServedPool, request: pytest.FixtureRequest
) -> Iterator[ServedStack]:
    """medsign served on each database kind (SQLite; PostgreSQL where it answers)."""
    yield from _use(served_pool, str(request.param), request)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser context at 360x740; on failure its screenshot and HTML are kept."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    if _failed(request) and not opened.is_closed():
        opened.screenshot(path=tmp_path / "failure.png", full_page=True)
        (tmp_path / "failure.html").write_text(opened.content(), encoding="utf-8")
        print(f"browser state kept in {tmp_path}/failure.png and failure.html")
    context.close()
