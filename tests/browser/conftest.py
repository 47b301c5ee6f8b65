"""Fixtures for the real-browser journeys: Debian's Chromium driven by Playwright's sync API against
pytest-django's live server.

Every page is watched: each request URL is recorded (the pages must never reach a host other than the
live server), and console errors, uncaught script errors, Content-Security-Policy violations, failed
requests and failed sub-resources (CSS, scripts, fonts, images, htmx calls) are collected. A test ends
with ``browser_log.assert_clean()``; the ``page`` fixture checks again on teardown in case it did not.

Every page a journey shows passes axe-core: each ``shoot(name)`` (a page state a person sees) also runs
axe's WCAG 2.1 A and AA rules at the desktop viewport and at a phone's width, and whatever it finds is one
more problem that ``browser_log.assert_clean()`` reports. axe is vendored for the tests only
(tests/browser/vendor/, see its README.md); the site never serves it.

No browser is ever downloaded: the tests use ``/usr/bin/chromium`` (Debian's ``chromium`` package).
Without it they skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import set_audit_triggers

# Playwright's sync API keeps an asyncio event loop in the test thread for the whole session, so
# Django's async-safety check would refuse every ORM call the tests (and pytest-django's database
# flush) make while the browser is open. The live server's own threads have no loop and are unaffected.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

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
PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = PROJECT_DIR / "var" / "screenshots"
DEFAULT_TIMEOUT_MS = 10_000

# Schemes that never leave the browser (the favicon is ``data:,``).
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}

AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE_VIEWPORT = {"width": 375, "height": 812}
# Findings not to report, as narrowly as possible: (axe rule id, the element's selector as reported) -> the
# reason, e.g. a colour-contrast false positive on a purely decorative element. Never a whole rule. Empty:
# every page the journeys visit passes every WCAG 2.1 A/AA rule.
AXE_EXCLUSIONS: dict[tuple[str, str], str] = {}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class BrowserLog:
    """What one browser context did and what went wrong in it."""

    origin: str
    requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    aborted_requests: list[str] = field(default_factory=list)
    failed_subresources: list[str] = field(default_factory=list)
    documents_with_error_status: list[str] = field(default_factory=list)
    allowed_console_errors: list[re.Pattern[str]] = field(default_factory=list)
    accessibility_violations: list[str] = field(default_factory=list)
    checked: bool = False

    def on_request(self, request: Any) -> None:
        url = request.url
        self.requests.append(url)
        if urlsplit(url).scheme in LOCAL_SCHEMES:
            return
        if _origin(url) != self.origin:
            self.foreign_requests.append(url)

    def on_request_failed(self, request: Any) -> None:
        entry = f"{request.method} {request.url}: {request.failure}"
        # A request the browser dropped because the user moved on (clicked a link while an htmx section
        # was still loading) is the browser's ordinary behaviour, not a broken page.
        if "ERR_ABORTED" in str(request.failure):
            self.aborted_requests.append(entry)
        else:
            self.failed_requests.append(entry)

    def on_response(self, response: Any) -> None:
        if response.status < 400:
            return
        entry = f"{response.status} {response.request.method} {response.url}"
        # A page answered 400 (form errors) or 404 is the journey's business, asserted there; a
        # stylesheet, script, font, image or htmx call that fails means the page is broken.
        if response.request.resource_type == "document":
            self.documents_with_error_status.append(entry)
        else:
            self.failed_subresources.append(entry)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        location = message.location or {}
        entry = f"{text} ({location.get('url', '')}:{location.get('lineNumber', '')})"
        if "Content Security Policy" in text:
            self.csp_violations.append(entry)
        elif not any(p.search(text) for p in self.allowed_console_errors):
            self.console_errors.append(entry)

    def on_page_error(self, error: Any) -> None:
        self.page_errors.append(str(error))

    def on_csp_violation(self, _source: Any, description: str) -> None:
        self.csp_violations.append(description)

    def allow_console_error(self, pattern: str) -> None:
        """Chromium logs every 4xx document as a console error; a test that expects one says so."""
        self.allowed_console_errors.append(re.compile(pattern))

    def problems(self) -> list[str]:
        found = []
        for label, items in (
            (f"requests to hosts other than the live server {self.origin}", self.foreign_requests),
            ("Content-Security-Policy violations", self.csp_violations),
            ("console errors", self.console_errors),
            ("uncaught script errors", self.page_errors),
            ("failed requests", self.failed_requests),
            ("sub-resources answered with an error status", self.failed_subresources),
            ("axe-core accessibility violations (WCAG 2.1 A/AA)", self.accessibility_violations),
        ):
            if items:
                found.append(f"{label}:\n  " + "\n  ".join(items))
        return found

    def assert_clean(self) -> None:
        self.checked = True
        assert self.requests, "the browser made no request at all"
        problems = self.problems()
        assert not problems, "\n".join(problems)


# Reports a CSP violation to Python (a console message is not guaranteed for every kind of violation).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__kinfoldCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} on ${e.documentURI} ` +
      `(${e.sourceFile}:${e.lineNumber})`
  );
});
"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, shared by the whole session."""
    if not CHROMIUM.exists():
        reason = (
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium). "
            "The browser tests never download a browser."
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- the audit trail's append-only triggers versus pytest-django's flush ----------------------------
#
# transactional_db (which live_server needs) empties every table after each test with a flush: DELETE
# on SQLite, TRUNCATE on PostgreSQL. The audit trail's triggers (audit migration 0002) refuse both, on
# purpose. So, after each browser test and only for the flush, the triggers are switched off, and they
# are switched back on as soon as the flush is done, so later tests still meet an append-only table.


@dataclass
class _TriggerState:
    blocker: Any = None
    disabled: bool = False


_triggers = _TriggerState()


@pytest.fixture
def _audit_triggers_off_for_flush(transactional_db: None, django_db_blocker: Any) -> Iterator[None]:
    # Depends on transactional_db, so this teardown runs just before its flush.
    yield
    _triggers.blocker = django_db_blocker
    with django_db_blocker.unblock():
        set_audit_triggers(enabled=False)
    _triggers.disabled = True


def pytest_fixture_post_finalizer(fixturedef: Any, request: Any) -> None:
    """Right after pytest-django's database teardown (the flush), switch the audit triggers back on."""
    if fixturedef.argname == "_django_db_helper" and _triggers.disabled:
        _triggers.disabled = False
        with _triggers.blocker.unblock():
            set_audit_triggers(enabled=True)


# --- pages ----------------------------------------------------------------------------------------


@pytest.fixture
def browser_log(live_server: Any) -> BrowserLog:
    return BrowserLog(origin=_origin(live_server.url))


@contextmanager
def watched_page(browser: Any, live_server: Any, browser_log: BrowserLog) -> Iterator[Any]:
    """A page in a new browser context (no cookies) whose requests, console, script errors and CSP violations
    all go to ``browser_log``: the test's own page, or a second person's (someone opening an emailed link)."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        timezone_id="America/New_York",
        service_workers="block",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.on("request", browser_log.on_request)
    context.on("requestfailed", browser_log.on_request_failed)
    context.on("response", browser_log.on_response)
    context.expose_binding("__kinfoldCspViolation", browser_log.on_csp_violation)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.on("console", browser_log.on_console)
    page.on("pageerror", browser_log.on_page_error)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(
    _audit_triggers_off_for_flush: None,
    browser: Any,
    live_server: Any,
    transactional_db: None,
    browser_log: BrowserLog,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test, with base_url pointing at the live server."""
    with watched_page(browser, live_server, browser_log) as page:
        yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.passed and not browser_log.checked:
        browser_log.assert_clean()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# Runs axe on the whole document; the answer is kept small: what failed, how badly, and where.
AXE_RUN_JS = """
async (tags) => {
  const results = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.flat().join(" "),
      summary: (n.failureSummary || "").replace(/\\s+/g, " ").trim(),
    })),
  }));
}
"""


class Accessibility:
    """axe-core over the page as it is now, at the current (desktop) viewport and at a phone's width.

    Each violation becomes one readable line in ``browser_log.accessibility_violations``; the same rule on
    the same element of the same page is reported once, with every width and screenshot it was seen at.
    """

    def __init__(self, page: Any, log: BrowserLog) -> None:
        self.page, self.log = page, log
        self.source: str | None = None
        self.found: dict[tuple[str, str, str], dict[str, Any]] = {}

    def _inject(self) -> None:
        if self.page.evaluate("() => typeof window.axe === 'object'"):
            return
        if self.source is None:
            self.source = AXE_SCRIPT.read_text(encoding="utf-8")
        # Not page.add_script_tag: that inserts an inline <script>, which the site's Content-Security-Policy
        # (script-src 'self') rightly blocks and reports. An evaluation from the test is not a page script.
        self.page.evaluate("() => {\n" + self.source + "\n}")

    def _run(self, width_label: str, shot: str) -> None:
        self._inject()
        violations = self.page.evaluate(AXE_RUN_JS, AXE_TAGS)
        url = self.page.url
        for violation in violations:
            for node in violation["nodes"]:
                if (violation["id"], node["target"]) in AXE_EXCLUSIONS:
                    continue
                key = (violation["id"], node["target"], url)
                entry = self.found.setdefault(key, {"violation": violation, "node": node, "seen": []})
                entry["seen"].append(f"{width_label} ({shot})")

    def check(self, shot: str) -> None:
        desktop = self.page.viewport_size
        self._run(f"{desktop['width']}px", shot)
        self.page.set_viewport_size(PHONE_VIEWPORT)
        try:
            self.page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => resolve()))")
            self._run(f"{PHONE_VIEWPORT['width']}px", shot)
        finally:
            self.page.set_viewport_size(desktop)
        report = self.report()
        if len(report) > len(self.log.accessibility_violations):
            # Found after the test's own assert_clean(): let the page fixture's teardown check again.
            self.log.checked = False
        self.log.accessibility_violations[:] = report

    def report(self) -> list[str]:
        lines = []
        for (rule, target, url), entry in self.found.items():
            violation, node = entry["violation"], entry["node"]
            seen = ", ".join(dict.fromkeys(entry["seen"]))
            lines.append(
                f"[{violation['impact']}] {rule}: {violation['help']}\n"
                f"      at {target}\n      on {url} at {seen}\n      {node['summary']}"
            )
        return lines


class Screenshots:
    """Full-page screenshots under var/screenshots/, numbered in the order the journey takes them.

    Each page state shot is also checked with axe-core (see ``Accessibility``).
    """

    def __init__(
        self, page: Any, directory: Path, prefix: str = "", accessibility: Accessibility | None = None
    ) -> None:
        self.page, self.directory, self.prefix = page, directory, prefix
        self.accessibility = accessibility
        self.taken: list[Path] = []

    def __call__(self, name: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.prefix}{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if self.accessibility is not None:
            self.accessibility.check(path.stem)
        return path


@pytest.fixture
def shoot(page: Any, browser_log: BrowserLog) -> Screenshots:
    return Screenshots(page, SCREENSHOT_DIR, accessibility=Accessibility(page, browser_log))
