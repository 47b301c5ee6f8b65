"""Referrals created per second (issue 12): concurrent coordinators against the production server, on PostgreSQL.

Makes a scratch PostgreSQL database (``--database``, dropped and created fresh, dropped again at the end unless
``--keep``), migrates it and builds, through the services, a small world: a referring community organisation
with one care coordinator per client, a housing organisation with ``--intake`` intake staff whose directory
listing offers a housing service, and ``--families`` families per coordinator, each with her consent to send her
name and contact details (``identity``) and her social needs (``social_needs``) to the housing organisation for
care coordination. Then it starts what ``make serve`` starts — gunicorn (``kinfold.wsgi``, ``2 * cores + 1``
workers, the production settings: no debug, a secret key, whitenoise) and the django-tasks worker beside it —
with a real SMTP server on loopback for the notification emails, signs each client in through the sign-in page
(its own session and CSRF token) and has the clients POST ``/referrals/new/`` as the form does, for a fixed
time: first 1 client, then ``--clients`` (8) at once. Each referral is made, sent (a disclosure decided item by
item), audited, accounted, and its receiving organisation's intake staff are told in Kinfold and by email, all
within the request. Last, it checks that every referral exists exactly once with its events, audit events,
accounting entry, notices and emails, and that the audit chain is whole.

    uv run --frozen python bench/referrals.py [--clients 8] [--seconds 20] [--families 50] [--keep]

Exits non-zero if a request failed or a check did not hold; a missed goal is printed (MISSED), not an error.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import io
import os
import re
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import _common as c

GOAL_PER_SECOND = 300
SCRATCH_DATABASE = "kinfold_bench_referrals"
SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
NEED = "housing"
REFERRING_ORG = "Harbour Light Family Resource Center"
RECEIVING_ORG = "Riverside Housing Alliance"
GIVEN = ["Maria", "Keisha", "Ana", "Jessica", "Tran", "Amara", "Lucia", "Brianna", "Nadia", "Rosa", "Emily", "Fatima"]
FAMILY = ["Lopez", "Walker", "Nguyen", "Johnson", "Okafor", "Garcia", "Smith", "Haddad", "Reyes", "Brooks", "Kim"]
# The form's words; person-first, like everything the product says.
REASON = "She is looking for stable housing before the baby arrives; she is in recovery and doing well on MOUD."
HANDOFF = "Best reached by text in the afternoon. She would like her coordinator on the first call."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8, help="concurrent clients in the main run (8)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each timed run, seconds (20)")
    p.add_argument("--warmup-seconds", type=float, default=3.0, help="untimed run with all clients first (3)")
    p.add_argument("--families", type=int, default=50, help="families per coordinator (50)")
    p.add_argument("--intake", type=int, default=2, help="intake staff at the receiving organisation (2)")
    p.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers (2*cores+1)")
    p.add_argument(
        "--database-url",
        default=os.environ.get("KINFOLD_BENCH_DATABASE_URL") or os.environ.get("KINFOLD_DATABASE_URL") or SERVER_URL,
        help="any postgres:// URL on the server to use: only its server is used (KINFOLD_BENCH_DATABASE_URL, "
        f"KINFOLD_DATABASE_URL, else {SERVER_URL})",
    )
    p.add_argument(
        "--database",
        default=SCRATCH_DATABASE,
        help=f"the scratch database, dropped and created fresh; its name must contain 'bench' ({SCRATCH_DATABASE})",
    )
    p.add_argument("--keep", action="store_true", help="keep the scratch database afterwards (dropped by default)")
    p.add_argument(
        "--floor",
        action="store_true",
        help="also time the same clients on the same server doing no referral: a static file, and a signed-in "
        "GET /api/ (what the machine serves at most, whatever a referral does)",
    )
    return p


def scratch_url(server_url: str, name: str) -> str:
    if "bench" not in name:
        sys.exit(f"The scratch database is dropped and created fresh: refusing {name!r} (its name lacks 'bench').")
    parts = urllib.parse.urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit(f"The benchmark needs PostgreSQL; {server_url!r} is not a postgres:// URL.")
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


# --- the world ------------------------------------------------------------------------------------------------


@dataclass
class World:
    password: str
    coordinators: list[str]  # usernames, one per client
    families: dict[str, list[int]]  # username -> the families she coordinates
    intake: list[str]  # usernames of the receiving organisation's intake staff
    intake_emails: set[str]
    service_id: int
    family_names: set[str]


def build_world(*, clients: int, families: int, intake: int) -> World:
    """Organisations, staff, the directory listing and the families with their consents, through the services."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from kinfold import clock
    from kinfold.access.viewer import Viewer
    from kinfold.consent.services import ConsentTerms, consent_record
    from kinfold.directory.models import DirectoryOrganization, Service
    from kinfold.families.services import family_create
    from kinfold.organizations.models import Membership, Organization, OrganizationType, Role

    password = secrets.token_urlsafe(18)
    hashed = make_password(password)  # one Argon2 hash for every bench login
    users = get_user_model()._default_manager

    def person(username: str, first: str, last: str, org: Organization, title: str) -> Any:
        user = users.create(username=username, first_name=first, last_name=last, email=f"{username}@example.org")
        user.password = hashed
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, organization=org, role=Role.CARE_COORDINATOR, title=title)
        return user

    referring = Organization.objects.create(name=REFERRING_ORG, type=OrganizationType.COMMUNITY)
    receiving = Organization.objects.create(name=RECEIVING_ORG, type=OrganizationType.COMMUNITY)
    listing = DirectoryOrganization.objects.create(
        hsds_id="bench-riverside-housing",
        name=RECEIVING_ORG,
        organization=receiving,
        intake_contact_name="Hal Intake",
        intake_email="intake@riverside.example.org",
    )
    service = Service.objects.create(
        hsds_id="bench-riverside-housing-navigation",
        organization=listing,
        name="Family housing navigation",
        description="Help finding and keeping housing for pregnant and parenting families.",
        needs=[NEED],
        accepts_pregnant=True,
        parenting_programme=True,
        accepts_medicaid=True,
        languages=["en", "es"],
        assured_date=clock.today(),
    )
    intake_users = [
        person(f"bench.intake{i + 1}", "Intake", f"Worker{i + 1}", receiving, "Housing intake") for i in range(intake)
    ]
    coordinators = [
        person(f"bench.coord{i + 1}", "Coordinator", f"Bench{i + 1}", referring, "Care coordinator")
        for i in range(clients)
    ]
    print(f"  … {clients} coordinators, {intake} intake staff, a housing listing; now {clients * families:,} families")
    today = clock.today()
    by_coordinator: dict[str, list[int]] = {}
    names: set[str] = set()
    n = 0
    for user in coordinators:
        viewer = Viewer.of(users.select_related("membership__organization").get(pk=user.pk))
        ids = []
        for _ in range(families):
            given, surname = GIVEN[n % len(GIVEN)], f"{FAMILY[n % len(FAMILY)]}-{n}"
            n += 1
            family = family_create(
                viewer=viewer,
                given_name=given,
                family_name=surname,
                phone=f"555-01{n % 100:02d}",
                postal_code="40508",
                county="Lakeview County",
                born_on=date(1995, 1, 1) + timedelta(days=n % 3000),
                estimated_due_on=today + timedelta(days=30 + n % 150) if n % 2 else None,
            )
            assert family.parent is not None
            name = family.parent.display_name
            names.add(surname)
            consent_record(
                viewer=viewer,
                family=family,
                title="Sharing for a housing referral",
                terms=ConsentTerms(
                    discloser_orgs=[referring],
                    recipient_orgs=[receiving],
                    purposes=["care_coordination"],
                    kinds=["identity", "social_needs"],
                    expires_at=clock.now() + timedelta(days=365),
                    signer_name=name,
                    signature_typed=name,
                ),
            )
            ids.append(family.pk)
        by_coordinator[user.username] = ids
    return World(
        password=password,
        coordinators=[u.username for u in coordinators],
        families=by_coordinator,
        intake=[u.username for u in intake_users],
        intake_emails={u.email for u in intake_users},
        service_id=service.pk,
        family_names=names,
    )


# --- the servers ----------------------------------------------------------------------------------------------


@dataclass
class Sink:
    """An SMTP server's handler (aiosmtpd) that keeps what it is sent."""

    messages: list[tuple[list[str], str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content.decode("utf-8", "replace")))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, port: int, smtp_port: int) -> dict[str, str]:
    """The environment ``make serve`` gives gunicorn: production settings (no debug, no test mode), a secret."""
    env = {k: v for k, v in os.environ.items() if k not in ("KINFOLD_TESTING", "KINFOLD_DEBUG", "PYTEST_VERSION")}
    env.update(
        KINFOLD_SECRET_KEY=secrets.token_urlsafe(50),
        KINFOLD_DATABASE_URL=database_url,
        KINFOLD_EMAIL_HOST="127.0.0.1",
        KINFOLD_EMAIL_PORT=str(smtp_port),
        KINFOLD_SITE_URL=f"http://127.0.0.1:{port}",
        # The bench's synthetic staff sign in with a password once each; the second sign-in step costs one request
        # at sign-in, none per page, so it is left out here.
        KINFOLD_REQUIRE_MFA="0",
        DJANGO_SETTINGS_MODULE="kinfold.settings",
    )
    return env


@contextlib.contextmanager
def servers(database_url: str, *, workers: int) -> Iterator[tuple[int, subprocess.Popen[bytes], Sink]]:
    """gunicorn, the task worker and the audit sealer (as ``make serve``), an SMTP server: (port, gunicorn, sink)."""
    from aiosmtpd.controller import Controller

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = free_port()
    env = server_env(database_url, port, smtp_port)
    from django.core.management import call_command

    call_command("schedule_jobs", stdout=io.StringIO())  # as `make serve` does
    root = Path(__file__).resolve().parent.parent
    log = tempfile.NamedTemporaryFile(prefix="kinfold-bench-referrals-", suffix=".log", delete=False)  # noqa: SIM115
    print(f"Server log (gunicorn and the task worker): {log.name}", flush=True)
    out = {"env": env, "cwd": root, "stdout": log, "stderr": subprocess.STDOUT}
    worker = subprocess.Popen([sys.executable, "-m", "kinfold.cli", "db_worker"], **out)  # type: ignore[call-overload]
    sealer = subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "kinfold.cli", "audit", "seal", "--follow"], **out
    )
    web = subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "gunicorn", "kinfold.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"],
        **out,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if web.poll() is not None:
                sys.exit(f"gunicorn stopped at start (exit {web.returncode}); see {log.name}.")
            try:
                status, _, _ = Browser(port).request("GET", "/accounts/login/")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"gunicorn did not answer within 60 s; see {log.name}.")
            time.sleep(0.2)
        yield port, web, sink
    finally:
        for process in (web, worker, sealer):
            process.send_signal(signal.SIGTERM)
        for process in (web, worker, sealer):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        controller.stop()
        log.close()


# --- one client: a browser's session, without a browser ------------------------------------------------------------


class Browser:
    """One person's session over ``http.client``: its own cookies (session, CSRF), one connection at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, method: str, path: str, form: dict[str, Any] | None = None, accept: str = ""
    ) -> tuple[int, str, str]:
        """(status, Location, body)."""
        headers = {"Host": "127.0.0.1"}
        if accept:
            headers["Accept"] = accept
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()  # a server that closed a kept connection: once more on a new one
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        content = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if name == "messages":
                    continue  # the flash message is read by the page the browser goes to next, which we skip
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if response.will_close:
            self.conn.close()
        return response.status, response.headers.get("Location", ""), content


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(page: str) -> str:
    found = CSRF_FIELD.search(page)
    if found is None:
        raise RuntimeError("the page has no CSRF token")
    return html.unescape(found.group(1))


@dataclass
class Client:
    username: str
    families: list[int]
    browser: Browser
    token: str = ""
    sent: int = 0

    def sign_in(self, password: str) -> None:
        status, _, page = self.browser.request("GET", "/accounts/login/")
        if status != 200:
            raise RuntimeError(f"GET /accounts/login/ answered {status}")
        form = {"csrfmiddlewaretoken": csrf_token(page), "username": self.username, "password": password}
        status, location, _ = self.browser.request("POST", "/accounts/login/", form)
        if status != 302 or "/accounts/login/" in location:
            raise RuntimeError(f"{self.username} could not sign in ({status})")

    def open_form(self, service_id: int) -> None:
        """The referral form, as she opens it from the directory: it carries the CSRF token of her session."""
        path = f"/referrals/new/?family={self.families[0]}&service={service_id}"
        status, _, page = self.browser.request("GET", path)
        if status != 200 or "request_key" not in page:
            raise RuntimeError(f"GET {path} answered {status} without the referral form")
        self.token = csrf_token(page)


@dataclass
class Outcome:
    client: str
    key: str
    status: int
    referral_id: int | None
    started: float
    ms: float


REFERRAL_URL = re.compile(r"^(?:https?://[^/]+)?/referrals/(\d+)/$")


def refer(client: Client, service_id: int, key: str) -> Outcome:
    family = client.families[client.sent % len(client.families)]
    client.sent += 1
    form = {
        "csrfmiddlewaretoken": client.token,
        "family": family,
        "service": service_id,
        "need": NEED,
        "priority": "routine",
        "reason": REASON,
        "handoff_note": HANDOFF,
        "request_key": key,
    }
    started = time.perf_counter()
    status, location, _ = client.browser.request("POST", "/referrals/new/", form)
    ms = (time.perf_counter() - started) * 1000
    found = REFERRAL_URL.match(location) if status == 302 else None
    return Outcome(client.username, key, status, int(found.group(1)) if found else None, started, ms)


# The floor: what the same server and clients do with no referral at all (``--floor``). A static file is gunicorn,
# WSGI and whitenoise with no view; ``/api/`` as JSON is a signed-in request through every middleware (her session,
# her account and membership read, the request audited where it should be) whose view builds one small dict.
FLOORS = (
    ("a static file", "/static/kinfold/favicon.ico", ""),
    ("signed in: GET /api/ (JSON)", "/api/", "application/json"),
)


def visit(path: str, accept: str) -> Any:
    """A client's action that GETs ``path`` (an Outcome with ``referral_id`` 0 when answered 200)."""

    def action(client: Client, service_id: int, key: str) -> Outcome:
        started = time.perf_counter()
        status, _, _ = client.browser.request("GET", path, accept=accept)
        ms = (time.perf_counter() - started) * 1000
        return Outcome(client.username, key, status, 0 if status == 200 else None, started, ms)

    return action


# --- a timed run ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    clients: int
    outcomes: list[Outcome]
    seconds: float
    cpu_ms: dict[str, float]

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.referral_id is not None]

    @property
    def errors(self) -> int:
        return len(self.outcomes) - len(self.ok)

    @property
    def median(self) -> float:
        return statistics.median([o.ms for o in self.ok]) if self.ok else 0.0

    @property
    def rate(self) -> float:
        return len(self.ok) / self.seconds if self.seconds else 0.0

    def row(self) -> list[Any]:
        times = [o.ms for o in self.ok] or [0.0]
        per = max(1, len(self.ok))
        return [
            self.label,
            self.clients,
            len(self.ok),
            self.errors,
            round(self.seconds, 1),
            self.rate,
            statistics.median(times),
            c.percentile(times, 95),
            self.cpu_ms["web"] / per,
            self.cpu_ms["postgres"] / per,
            self.cpu_ms["bench"] / per,
        ]


RUN_HEADERS = (
    "run",
    "clients",
    "referrals",
    "errors",
    "seconds",
    "referrals/s",
    "median ms",
    "p95 ms",
    "web CPU ms",
    "PG CPU ms",
    "bench CPU ms",
)


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far (ms), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving the scratch database (gunicorn's and the task worker's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        return [row[0] for row in cursor.fetchall()]


def cpu_snapshot(web_pid: int, database: str) -> dict[str, dict[int, float]]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "web": {pid: cpu_ms(pid) for pid in [web_pid, *children(web_pid)]},
        "postgres": {pid: cpu_ms(pid) for pid in backends(database)},
        "bench": {0: (usage.ru_utime + usage.ru_stime) * 1000},
    }


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    # A backend that started during the run counts from zero (its whole life was in the run).
    return {part: sum(ms - before[part].get(pid, 0.0) for pid, ms in after[part].items()) for part in after}


def timed_run(
    label: str,
    clients: list[Client],
    *,
    seconds: float,
    service_id: int,
    prefix: str,
    web_pid: int,
    database: str,
    action: Any = None,
) -> Run:
    """Every client POSTs referrals (or does ``action``) back to back until ``seconds`` have passed since they all
    started."""
    act = action or refer
    results: list[list[Outcome]] = [[] for _ in clients]
    barrier = threading.Barrier(len(clients) + 1)
    crashed: list[BaseException] = []
    start = end = 0.0

    def work(i: int, client: Client) -> None:
        try:
            barrier.wait()
            n = 0
            while time.perf_counter() < end:
                results[i].append(act(client, service_id, f"{prefix}-{client.username}-{n}"))
                n += 1
        except BaseException as error:
            crashed.append(error)

    threads = [threading.Thread(target=work, args=(i, cl), daemon=True) for i, cl in enumerate(clients)]
    for thread in threads:
        thread.start()
    before = cpu_snapshot(web_pid, database)
    start = time.perf_counter()
    end = start + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    used = cpu_used(before, cpu_snapshot(web_pid, database))
    if crashed:
        raise RuntimeError(f"a client stopped: {crashed[0]!r}") from crashed[0]
    outcomes = [o for per_client in results for o in per_client]
    return Run(label, len(clients), outcomes, finished - start, used)


# --- the checks -------------------------------------------------------------------------------------------------


def check(outcomes: list[Outcome], world: World, sink: Sink, prefix: str) -> list[tuple[bool, str]]:
    """What must hold after the runs, each as (held, what)."""
    from kinfold.audit.models import AuditEvent
    from kinfold.audit.services import verify_chain
    from kinfold.consent.models import Disclosure
    from kinfold.referrals.models import Referral, ReferralEvent, ReferralNotice, ReferralStatus

    results: list[tuple[bool, str]] = []
    good = [o for o in outcomes if o.referral_id is not None]
    statuses = Counter(o.status for o in outcomes)
    results.append(
        (
            len(good) == len(outcomes),
            f"every POST answered 302 to the new referral: {len(good):,} of {len(outcomes):,} "
            f"(statuses {dict(statuses)})",
        )
    )
    referrals = {
        r.request_key: r for r in Referral.objects.filter(request_key__startswith=prefix).select_related("created_by")
    }
    ids = {r.pk for r in referrals.values()}
    matched = sum(1 for o in good if (r := referrals.get(o.key)) is not None and r.pk == o.referral_id)
    results.append(
        (
            matched == len(good) == len(referrals),
            f"each one exists exactly once, under its request key and at the page it redirected to: {matched:,} of "
            f"{len(good):,} (referrals in the database: {len(referrals):,})",
        )
    )
    poster = {o.key: o.client for o in outcomes}
    wrong = [
        r.pk
        for key, r in referrals.items()
        if r.status != ReferralStatus.REQUESTED
        or r.sent_at is None
        or r.due_at is None
        or r.due_at <= r.sent_at
        or r.created_by is None
        or r.created_by.username != poster.get(key or "")
        or {i["key"] for i in r.sent_items} != {"referral", "contact"}
    ]
    results.append(
        (
            not wrong,
            "each was sent by the coordinator who posted it, with a response deadline, carrying exactly the referral "
            f"and her contact details (her consent covers no more): {len(referrals) - len(wrong):,} of "
            f"{len(referrals):,}",
        )
    )
    events: dict[int, list[tuple[str, str]]] = {}
    for referral_id, frm, to in ReferralEvent.objects.filter(referral_id__in=ids).values_list(
        "referral_id", "from_status", "to_status"
    ):
        events.setdefault(referral_id, []).append((frm, to))
    expected_events = sorted([("", "draft"), ("draft", "requested")])
    good_events = sum(1 for pk in ids if sorted(events.get(pk, [])) == expected_events)
    results.append(
        (good_events == len(ids), f"each has its two status events (made, sent): {good_events:,} of {len(ids):,}")
    )
    # The audit events of one referral: its making (the status event and the timeline's write, both "create"),
    # its sending (the status event, "update"), and the disclosure ("export").
    audit: dict[str, Counter[str]] = {}
    for record_id, action in AuditEvent.objects.filter(
        record_type="Referral", record_id__in=[str(pk) for pk in ids]
    ).values_list("record_id", "action"):
        audit.setdefault(record_id, Counter())[action] += 1
    expected_audit = Counter({"create": 2, "update": 1, "export": 1})
    good_audit = sum(1 for pk in ids if audit.get(str(pk)) == expected_audit)
    results.append(
        (
            good_audit == len(ids),
            f"each has its audit events (2 create, update, export) and no more: {good_audit:,} of {len(ids):,}",
        )
    )
    accounted: Counter[int] = Counter()
    for records in Disclosure.objects.filter(channel="referral").values_list("records", flat=True):
        for record in records:
            if record.get("type") == "Referral" and record.get("id") in ids:
                accounted[record["id"]] += 1
    good_accounting = sum(1 for pk in ids if accounted[pk] == 1)
    results.append(
        (
            good_accounting == len(ids),
            f"each send is one entry in her accounting of disclosures: {good_accounting:,} of {len(ids):,}",
        )
    )
    notices: dict[int, list[tuple[str, bool]]] = {}
    for referral_id, username, emailed in ReferralNotice.objects.filter(referral_id__in=ids).values_list(
        "referral_id", "recipient__username", "emailed_at"
    ):
        notices.setdefault(referral_id, []).append((username, emailed is not None))
    intake = sorted(world.intake)
    good_notices = sum(1 for pk in ids if sorted((u, e) for u, e in notices.get(pk, [])) == [(u, True) for u in intake])
    results.append(
        (
            good_notices == len(ids),
            f"each told every intake worker once, in Kinfold and by email: {good_notices:,} of {len(ids):,}",
        )
    )
    total_notices = sum(len(v) for v in notices.values())
    to_intake = sum(1 for recipients, _ in sink.messages if set(recipients) <= world.intake_emails)
    results.append(
        (
            len(sink.messages) == total_notices == to_intake,
            f"the SMTP server received one email per notice, each to an intake worker: {len(sink.messages):,} "
            f"emails, {total_notices:,} notices",
        )
    )
    naming = sum(1 for _, text in sink.messages if any(name in text for name in world.family_names))
    results.append((naming == 0, f"no email names the family: {naming:,} do"))
    chain = verify_chain()
    whole = chain.reason or "every link holds"
    results.append((chain.ok, f"the audit chain is whole ({chain.checked:,} events): {whole}"))
    return results


# --- main ---------------------------------------------------------------------------------------------------------


def main() -> None:
    args = parser().parse_args()
    url = scratch_url(args.database_url, args.database)
    print(f"Scratch database {args.database}: creating and migrating …", flush=True)
    c.prepare_database(url, reseed=True)
    started = time.perf_counter()
    print(f"Building the world through the services ({args.clients * args.families:,} families) …", flush=True)
    world = build_world(clients=args.clients, families=args.families, intake=args.intake)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  … done in {time.perf_counter() - started:.0f} s", flush=True)

    title = "Referrals created per second (issue 12)"
    print(f"\n{title}\n{'=' * len(title)}")
    print(f"Machine: {c.machine()}")
    print(f"Load average before measuring (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"Server: gunicorn kinfold.wsgi, {args.workers} sync workers (as `make serve`: production settings), the "
        f"django-tasks worker beside it,\n"
        f"an SMTP server on loopback (in this process). World: {args.clients} coordinators at {REFERRING_ORG}, "
        f"{args.families} families each,\n"
        f"each with her consent to send identity and social needs to {RECEIVING_ORG} ({args.intake} intake staff) "
        f"for care coordination."
    )
    print(
        "Each request: POST /referrals/new/ as the form sends it (need housing, a reason, a hand-off note, a fresh\n"
        "request key) in the coordinator's own signed-in session; answered 302 to the referral. Within it the\n"
        "referral is made and sent (each item decided by the door), audited, entered in her accounting of\n"
        f"disclosures, and each intake worker gets a notice and an email. The redirect is not followed. Latency is\n"
        f"the client's wall time per POST (connect included); CPU ms are per referral: gunicorn's master and\n"
        f"workers, the PostgreSQL backends of the scratch database, and this process (clients and SMTP server).\n"
        f"Each run lasts {args.seconds:g} s after {args.warmup_seconds:g} s of warm-up with all clients.",
        flush=True,
    )

    prefix = f"bench{secrets.token_hex(4)}"
    failures: list[str] = []
    runs: list[Run] = []
    outcomes: list[Outcome] = []
    with servers(url, workers=args.workers) as (port, web, sink):
        clients = []
        for username in world.coordinators:
            client = Client(username, world.families[username], Browser(port))
            client.sign_in(world.password)
            client.open_form(world.service_id)
            clients.append(client)
        for label, group, seconds, tag in (
            ("warm-up", clients, args.warmup_seconds, "w"),
            ("1 client", clients[:1], args.seconds, "a"),
            (f"{len(clients)} clients", clients, args.seconds, "b"),
        ):
            run = timed_run(
                label,
                group,
                seconds=seconds,
                service_id=world.service_id,
                prefix=f"{prefix}-{tag}",
                web_pid=web.pid,
                database=args.database,
            )
            outcomes += run.outcomes
            if tag != "w":
                runs.append(run)
        floors: list[Run] = []
        for label, path, accept in FLOORS if args.floor else ():
            for group in (clients[:1], clients):
                floors.append(
                    timed_run(
                        f"{label}, {len(group)} client{'s' if len(group) > 1 else ''}",
                        group,
                        seconds=args.seconds / 2,
                        service_id=world.service_id,
                        prefix=f"{prefix}-floor",
                        web_pid=web.pid,
                        database=args.database,
                        action=visit(path, accept),
                    )
                )
        time.sleep(0.5)  # the last email's 250 reaches the client before aiosmtpd's handler returns
    print()
    print(c.table(RUN_HEADERS, [r.row() for r in runs]))
    if floors:
        print("\nThe floor: the same server and clients, no referral (CPU ms per request):\n")
        print(
            c.table(
                ("run", "clients", "requests", "errors", "seconds", "requests/s", *RUN_HEADERS[6:]),
                [r.row() for r in floors],
            )
        )
    best = runs[-1]
    verdict = "met" if best.rate >= GOAL_PER_SECOND else "MISSED"
    print(f"\nGoal: ≥ {GOAL_PER_SECOND} referrals/s with {best.clients} clients: {verdict} ({best.rate:,.1f}/s).")
    if best.clients > 1 and runs[0].rate and runs[0].median:
        print(
            f"{best.clients} clients make {best.rate / runs[0].rate:.1f} times the referrals of 1 client; the median "
            f"request takes {best.median / runs[0].median:.1f} times as long."
        )

    print(f"\nChecks ({len(outcomes):,} POSTs in all, warm-up included):")
    for held, what in check(outcomes, world, sink, prefix):
        print(f"  {'ok  ' if held else 'FAIL'} {what}")
        if not held:
            failures.append(what)

    if not args.keep:
        c.drop_scratch_database(url, args.database)
        print(f"\nDropped the scratch database {args.database} (--keep keeps it).")
    if failures:
        print(f"\nFAILED: {len(failures)} check(s) did not hold.")
        sys.exit(1)


if __name__ == "__main__":
    main()
