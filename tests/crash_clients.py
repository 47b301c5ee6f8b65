"""Clients for the crash drill (tests/test_crash_safety.py): coordinators at their browsers, without a browser.

Each client signs in through the real sign-in page and writes through the real forms: it opens the form (a GET,
as a browser does, which also gives it the CSRF token), then posts it. A write is *acknowledged* only when the
server answered the POST with its success response: a redirect to the family's page. Anything else is not:
the form sent back with errors to correct (4xx) is *refused*; a dropped connection, a timeout, a 5xx or any
other answer is *lost* (the server may or may not have kept it: the drill's checks allow both, but never half
of it). A POST is never resent: the next write is a new one, with its own marker, as a person would type it.

Every write carries a marker that names it in the database:
- a new family: the parent's last name ``Crash-<client>-<n>`` (with a pregnancy, so one write makes a family,
  its parent, its care team and coordinator, a pregnancy, two timeline lines and two audit events);
- a new family member: her first name ``Kin-<client>-<n>``;
- a corrected due date: the k-th correction of a family moves its due date to ``base + k`` days, so each
  correction's date is its own.
"""

from __future__ import annotations

import html
import http.client
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from typing import Literal

REQUEST_TIMEOUT = 10.0
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_FIELD = re.compile(r'name="version" value="(\d+)"')
FORM_ERRORS = 'id="form-error-summary"'  # the form page, sent back with what to correct
FIELD_ERROR = re.compile(r'class="usa-error-message"[^>]*>([^<]+)<')
FAMILY_PAGE = re.compile(r"^(?:https?://[^/]+)?/families/(\d+)/$")
PARENT_BORN_ON = date(1996, 3, 14)
CREATED_DUE_IN_DAYS = 200  # a new family's due date: today + 200 days
CORRECTED_DUE_FROM_DAYS = 30  # the k-th correction (k = 1, 2, …): today + 30 + k days

Outcome = Literal["acknowledged", "lost", "refused"]


class Unanswered(Exception):
    """No HTTP answer: the connection was refused, dropped or timed out."""


def due_date_of_correction(today: date, k: int) -> date:
    return today + timedelta(days=CORRECTED_DUE_FROM_DAYS + k)


class Browser:
    """One person's cookies (session, CSRF) over a new connection per request; never follows redirects."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location, body), or ``Unanswered``."""
        headers = {"Host": f"127.0.0.1:{self.port}", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            raise Unanswered(f"{method} {path}: {type(error).__name__}: {error}") from error
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if name == "messages":
                    continue  # the flash message is read by the page a browser would open next, which we skip
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers.get("Location", ""), content


def csrf_token(page: str) -> str | None:
    found = CSRF_FIELD.search(page)
    return html.unescape(found.group(1)) if found else None


def to_sign_in(status: int, location: str) -> bool:
    return status in (301, 302) and "/accounts/login/" in location


@dataclass
class Write:
    """One POST of a form: what it was for, and how the server answered it."""

    client: int
    kind: Literal["create_family", "add_member", "correct_due_date"]
    marker: str  # the parent's last name, the member's first name, or the new due date (ISO)
    family_id: int | None  # the family written to (for a new family: from the acknowledgement, if any)
    outcome: Outcome = "lost"
    status: int | None = None
    detail: str = ""
    sent_at: float = 0.0


@dataclass
class Ledger:
    """Every write one client sent, in order, and how many pages (GETs, sign-ins) went unanswered."""

    writes: list[Write] = field(default_factory=list)
    sign_ins: int = 0
    unanswered_pages: int = 0


class DrillClient:
    """A coordinator who creates families and changes her own families until told to stop."""

    def __init__(
        self, number: int, *, port: int, username: str, password: str, today: date, seed: int, stop: threading.Event
    ) -> None:
        self.number = number
        self.username = username
        self.password = password
        self.today = today
        self.stop = stop
        self.browser = Browser(port)
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.signed_in = False
        self.n = 0
        # Her families the server acknowledged, and how many corrections of each she has sent.
        self.families: list[int] = []
        self.corrections: dict[int, int] = {}
        self.error: BaseException | None = None

    # --- the loop -----------------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    if not self.signed_in:
                        self.sign_in()
                    else:
                        self.one_write()
                except Unanswered:
                    self.ledger.unanswered_pages += 1
                    self.pause()
        except BaseException as error:  # a bug in the drill itself: the test reports it
            self.error = error

    def pause(self) -> None:
        self.stop.wait(self.rng.uniform(0.1, 0.3))

    def one_write(self) -> None:
        roll = self.rng.random()
        if not self.families or roll < 0.45:
            self.create_family()
        elif roll < 0.75:
            self.add_member(self.rng.choice(self.families))
        else:
            self.correct_due_date(self.rng.choice(self.families))

    # --- pages --------------------------------------------------------------------------------------------------

    def sign_in(self) -> None:
        self.browser.cookies.clear()
        status, _, page = self.browser.request("GET", "/accounts/login/")
        token = csrf_token(page) if status == 200 else None
        if token is None:
            self.ledger.unanswered_pages += 1
            self.pause()
            return
        form = {"csrfmiddlewaretoken": token, "username": self.username, "password": self.password}
        status, location, _ = self.browser.request("POST", "/accounts/login/", form)
        if status == 302 and not to_sign_in(status, location):
            self.signed_in = True
            self.ledger.sign_ins += 1
        else:
            self.pause()

    def open_form(self, path: str) -> str | None:
        """The form's page, or None (signed out, or the server could not answer)."""
        status, location, page = self.browser.request("GET", path)
        if to_sign_in(status, location):
            self.signed_in = False
            return None
        if status != 200 or csrf_token(page) is None:
            self.ledger.unanswered_pages += 1
            self.pause()
            return None
        return page

    def post(self, write: Write, path: str, page: str, form: dict[str, str]) -> int | None:
        """Send the form once; record the answer; the id of the family the server redirected to, if it did."""
        form = {"csrfmiddlewaretoken": csrf_token(page) or "", **form}
        self.ledger.writes.append(write)
        write.sent_at = time.monotonic()
        try:
            status, location, body = self.browser.request("POST", path, form)
        except Unanswered as error:
            write.outcome, write.detail = "lost", str(error)
            self.pause()
            return None
        write.status = status
        success = FAMILY_PAGE.match(location) if status == 302 else None
        if success is not None:
            write.outcome = "acknowledged"
            return int(success.group(1))
        if to_sign_in(status, location):
            write.outcome, write.detail = "lost", "signed out"
            self.signed_in = False
        elif 400 <= status < 500 and FORM_ERRORS in body:
            errors = " | ".join(html.unescape(e).strip() for e in FIELD_ERROR.findall(body))
            write.outcome, write.detail = "refused", f"HTTP {status} {errors}"
        else:
            # A 5xx, or a 4xx that is not her form: the server could not say what became of the write. (Django
            # answers a bare 400 when saving the session fails after the write, e.g. as PostgreSQL stops.)
            write.outcome, write.detail = "lost", f"HTTP {status}" + ("" if status >= 500 else " without the form")
            self.pause()
        return None

    # --- writes -------------------------------------------------------------------------------------------------

    def create_family(self) -> None:
        page = self.open_form("/families/new/")
        if page is None:
            return
        self.n += 1
        marker = f"Crash-{self.number}-{self.n}"
        write = Write(self.number, "create_family", marker, None)
        family_id = self.post(
            write,
            "/families/new/",
            page,
            {
                "given_name": f"Drill{self.number}",
                "family_name": marker,
                "born_on": PARENT_BORN_ON.isoformat(),
                "preferred_language": "en",
                "estimated_due_on": (self.today + timedelta(days=CREATED_DUE_IN_DAYS)).isoformat(),
                "first_pregnancy": "",
                "insurance": "",
            },
        )
        if family_id is not None:
            write.family_id = family_id
            self.families.append(family_id)

    def add_member(self, family_id: int) -> None:
        path = f"/families/{family_id}/members/new/"
        page = self.open_form(path)
        if page is None:
            return
        self.n += 1
        marker = f"Kin-{self.number}-{self.n}"
        write = Write(self.number, "add_member", marker, family_id)
        answered = self.post(
            write,
            path,
            page,
            {"given_name": marker, "family_name": "Drill", "category": "sibling", "description": "my sister"},
        )
        if answered is not None and answered != family_id:
            write.outcome, write.detail = "refused", f"redirected to family {answered}, not {family_id}"

    def correct_due_date(self, family_id: int) -> None:
        status, location, family_page = self.browser.request("GET", f"/families/{family_id}/")
        if to_sign_in(status, location):
            self.signed_in = False
            return
        link = re.search(rf"/families/{family_id}/pregnancies/(\d+)/due-date/", family_page) if status == 200 else None
        if link is None:
            self.ledger.unanswered_pages += 1
            self.pause()
            return
        path = link.group(0)
        page = self.open_form(path)
        if page is None:
            return
        k = self.corrections.get(family_id, 0) + 1
        self.corrections[family_id] = k
        new_date = due_date_of_correction(self.today, k)
        write = Write(self.number, "correct_due_date", new_date.isoformat(), family_id)
        version = VERSION_FIELD.search(page)
        form = {"estimated_due_on": new_date.isoformat(), "version": version.group(1) if version else ""}
        answered = self.post(write, path, page, form)
        if answered is not None and answered != family_id:
            write.outcome, write.detail = "refused", f"redirected to family {answered}, not {family_id}"
