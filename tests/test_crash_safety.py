"""Nothing lost when the server dies (issue 16): a crash drill against the production server on PostgreSQL.

Coordinators (threads, tests/crash_clients.py) sign in through the sign-in page and create and change families
through the real forms of gunicorn (``kinfold.wsgi``, as ``make serve`` runs it), while the drill kills gunicorn,
its master and its workers, with SIGKILL several times (restarting it each time) and restarts PostgreSQL once
under load. Then it reads the database and checks what a coordinator relies on:

- every write the server acknowledged (its redirect to the family's page) is there, exactly once;
- no write is there by half: each family has its parent, its care team and coordinator, its pregnancy, and the
  timeline lines and audit events of every write that made or changed it, whether or not its writer heard back;
- the audit trail's hash chain is intact (``kinfold audit verify``).

It restarts PostgreSQL, so it runs alone (``-m crash -p no:xdist``, after the PostgreSQL pass), in a database of
its own that it drops afterwards. ``KINFOLD_CRASH_SEED`` replays a drill's timings; ``KINFOLD_CRASH_PG_MODE``
(``fast`` by default, or ``immediate``) chooses how PostgreSQL is stopped.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
import pytest
from django.db import connection, connections
from psycopg import sql

from tests.crash_clients import (
    CREATED_DUE_IN_DAYS,
    Browser,
    DrillClient,
    Unanswered,
    Write,
    csrf_token,
)

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 6
WORKERS = 2
KILLS = 4
PG_RESTART_AFTER_KILL = 2  # PostgreSQL restarts once, between the 2nd and the 3rd kill of gunicorn
READY_TIMEOUT = 30.0
PG_MODE = os.environ.get("KINFOLD_CRASH_PG_MODE", "fast")

SEED_STAFF = """
import os
from django.contrib.auth import get_user_model
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role

org = Organization.objects.create(name="Crash Drill Family Network", type=OrganizationType.COMMUNITY)
for i in range(int(os.environ["CRASH_STAFF"])):
    user = get_user_model().objects.create_user(
        f"crash.coordinator{i}", password=os.environ["CRASH_PASSWORD"], first_name="Drill", last_name=f"Coordinator{i}"
    )
    Membership.objects.create(user=user, organization=org, role=Role.CARE_COORDINATOR)
print("seeded", Membership.objects.count())
"""


def _db_url() -> str:
    return os.environ.get("KINFOLD_DATABASE_URL", "")


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


ON_POSTGRES = pytest.mark.skipif(
    not _is_postgres(), reason="the crash drill restarts PostgreSQL: it runs on PostgreSQL only"
)
ALONE = pytest.mark.skipif(
    "PYTEST_XDIST_WORKER" in os.environ,
    reason="the crash drill restarts PostgreSQL under every other test: run it alone, with -p no:xdist -m crash",
)


# --- PostgreSQL ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    version: str
    cluster: str

    def url(self, dbname: str) -> str:
        secret = f":{self.password}" if self.password else ""
        return f"postgres://{self.user}{secret}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ready = subprocess.run(["pg_isready", "-q", "-h", self.host, "-p", str(self.port)], check=False)
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"PostgreSQL did not answer within {timeout:.0f} s of its restart")
            time.sleep(0.1)

    def restart(self) -> float:
        """Restart the cluster under load; the seconds until it answers again."""
        started = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", "-m", PG_MODE, self.version, self.cluster, "restart"],
            check=True,
            timeout=120,
            capture_output=True,
        )
        self.wait_ready()
        return time.monotonic() - started


def _local_postgres() -> Postgres | None:
    """The Debian cluster behind KINFOLD_DATABASE_URL, if this machine runs it and may restart it."""
    config = dj_database_url.parse(_db_url())
    host, port = str(config.get("HOST") or "127.0.0.1"), int(config.get("PORT") or 5432)
    if host not in ("127.0.0.1", "localhost") or not (shutil.which("pg_ctlcluster") and shutil.which("pg_isready")):
        return None
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == str(port) and parts[3].startswith("online"):
            return Postgres(
                host=host,
                port=port,
                user=str(config.get("USER") or "postgres"),
                password=str(config.get("PASSWORD") or ""),
                version=parts[0],
                cluster=parts[1],
            )
    return None


# --- the production server -----------------------------------------------------------------------------------------


@dataclass
class Gunicorn:
    """``gunicorn kinfold.wsgi`` in a process group of its own, so that one SIGKILL kills master and workers."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)  # seconds from start until it answered

    def start(self) -> None:
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "kinfold.wsgi",
                    "--workers",
                    str(WORKERS),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                ],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + READY_TIMEOUT
        probe = Browser(self.port)
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn stopped at start (exit {self.process.returncode}):\n{self.tail()}")
            try:
                if probe.request("GET", "/accounts/login/")[0] == 200:
                    break
            except Unanswered:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer within {READY_TIMEOUT:.0f} s:\n{self.tail()}")
            time.sleep(0.05)
        self.starts.append(time.monotonic() - started)

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: no graceful anything."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """Production settings, as ``make serve`` gives them: no test mode, no debug, a secret of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST_") and k not in ("KINFOLD_TESTING", "KINFOLD_DEBUG", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        KINFOLD_DATABASE_URL=database_url,
        KINFOLD_SECRET_KEY=secrets.token_urlsafe(50),
        KINFOLD_REQUIRE_MFA="0",
        KINFOLD_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="kinfold.settings",
    )
    return env


def _kinfold(
    env: dict[str, str], *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``kinfold <args>`` (Django's management commands) with the drill's environment."""
    return subprocess.run(
        [sys.executable, "-m", "kinfold.cli", *args],
        env={**env, **(extra_env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def postgres() -> Postgres:
    pg = _local_postgres()
    if pg is None:
        pytest.skip(
            "the crash drill restarts PostgreSQL with pg_ctlcluster: it needs the Debian cluster behind "
            "KINFOLD_DATABASE_URL on this machine (127.0.0.1), pg_ctlcluster and pg_isready"
        )
    return pg


@pytest.fixture
def drill_database(postgres: Postgres) -> Iterator[str]:
    """A database of the drill's own, dropped afterwards whatever happened (after PostgreSQL answers again)."""
    name = f"kinfold_crash_{os.getpid()}"
    with postgres.connect() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        postgres.wait_ready()
        with postgres.connect() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        # This process's own connections (pytest-django's) did not survive the restart: later tests reconnect.
        for alias in connections:
            with contextlib.suppress(Exception):
                connections[alias].close()


# --- the drill ----------------------------------------------------------------------------------------------------


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _writes(clients: list[DrillClient]) -> list[Write]:
    return [write for client in clients for write in list(client.ledger.writes)]


@pytest.mark.crash
@ON_POSTGRES
@ALONE
def test_nothing_acknowledged_is_lost_when_the_server_dies(
    postgres: Postgres, drill_database: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    began = time.monotonic()
    seed = int(os.environ.get("KINFOLD_CRASH_SEED") or secrets.randbelow(10**6))
    rng = random.Random(seed)
    env = _server_env(postgres.url(drill_database), tmp_path / "var")
    migrated = _kinfold(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    password = f"drill {secrets.token_urlsafe(12)} passphrase"
    seeded = _kinfold(
        env, "shell", "-c", SEED_STAFF, extra_env={"CRASH_STAFF": str(CLIENTS + 1), "CRASH_PASSWORD": password}
    )
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr

    port = _free_port()
    server = Gunicorn(env=env, port=port, log=tmp_path / "gunicorn.log")
    stop = threading.Event()
    today = date.today()
    clients = [
        DrillClient(
            n,
            port=port,
            username=f"crash.coordinator{n}",
            password=password,
            today=today,
            seed=seed * 100 + n,
            stop=stop,
        )
        for n in range(1, CLIENTS + 1)
    ]
    threads = [threading.Thread(target=c.run, name=f"crash-client-{c.number}", daemon=True) for c in clients]
    kill_times: list[float] = []
    pg_restart_seconds = 0.0
    try:
        server.start()
        blank = _form_with_an_error_is_refused(port, password)

        for thread in threads:
            thread.start()

        def acknowledged() -> int:
            return sum(1 for w in _writes(clients) if w.outcome == "acknowledged")

        _wait_for(lambda: acknowledged() >= CLIENTS, 20, "the clients' first acknowledged writes")
        for kill in range(1, KILLS + 1):
            time.sleep(rng.uniform(1.0, 3.0))
            server.kill()
            kill_times.append(time.monotonic() - began)
            server.start()
            if kill == PG_RESTART_AFTER_KILL:
                time.sleep(rng.uniform(1.0, 3.0))
                pg_restart_seconds = postgres.restart()
        recovered_at = time.monotonic()
        # After the last crash, the server takes writes again: every client is acknowledged at least once more.
        _wait_for(
            lambda: all(
                any(w.outcome == "acknowledged" and w.sent_at > recovered_at for w in list(c.ledger.writes))
                for c in clients
            ),
            20,
            "every client's first acknowledged write after the last crash",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        server.stop()

    for client in clients:
        assert client.error is None, f"client {client.number} failed: {client.error!r}"
    assert not any(t.is_alive() for t in threads), "a client did not stop"

    writes = _writes(clients)
    state = _read_database(postgres, drill_database)
    problems = _check(writes, state, blank_marker=blank, today=today)
    # The drill's server ran without the sealer: its events are the chain's unsealed tail until sealed now.
    sealed = _kinfold(env, "audit", "seal")
    verified = _kinfold(env, "audit", "verify")

    outcomes = Counter((w.kind, w.outcome) for w in writes)
    figures = {
        "seed": seed,
        "clients": CLIENTS,
        "gunicorn_workers": WORKERS,
        "kills": len(kill_times),
        "kill_times_s": [round(t, 1) for t in kill_times],
        "gunicorn_start_s": [round(s, 2) for s in server.starts],
        "pg_restart_mode": PG_MODE,
        "pg_restart_s": round(pg_restart_seconds, 2),
        "acknowledged": sum(n for (_, o), n in outcomes.items() if o == "acknowledged"),
        "unacknowledged": sum(n for (_, o), n in outcomes.items() if o != "acknowledged"),
        "by_kind": {f"{k}/{o}": n for (k, o), n in sorted(outcomes.items())},
        "sign_ins": sum(c.ledger.sign_ins for c in clients),
        "unanswered_pages": sum(c.ledger.unanswered_pages for c in clients),
        "why_unacknowledged": dict(Counter(_why(w) for w in writes if w.outcome != "acknowledged")),
        "families_in_database": len(state.families),
        "lost_writes_kept": state.lost_kept,
        "audit_sealed": sealed.stdout.strip() or sealed.stderr.strip()[-300:],
        "audit_verify": verified.stdout.strip() or verified.stderr.strip()[-300:],
        "wall_s": round(time.monotonic() - began, 1),
    }
    print("\nCrash drill:")
    for key, value in figures.items():
        print(f"  {key}: {value}")
        record_property(f"crash_{key}", value)

    assert figures["acknowledged"] > 0
    assert not problems, (
        f"{len(problems)} problem(s) after the drill (seed {seed}; server log {server.log}):\n"
        + "\n".join(problems[:30])
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Audit chain intact" in verified.stdout, verified.stdout
    assert sealed.returncode == 0 and "not sealed yet" not in verified.stdout, sealed.stderr + verified.stdout


def _why(write: Write) -> str:
    """A lost write's reason in a word: the HTTP status, or the error that ended its connection."""
    parts = write.detail.split(": ")
    return parts[1] if len(parts) >= 3 else write.detail


def _form_with_an_error_is_refused(port: int, password: str) -> str:
    """The drill's yardstick: a new-family form missing the last name is answered with the form and its error
    (400, no redirect) and counts as refused, not acknowledged. Signed in as the spare staff member."""
    probe = DrillClient(
        0,
        port=port,
        username="crash.coordinator0",
        password=password,
        today=date.today(),
        seed=0,
        stop=threading.Event(),
    )
    probe.sign_in()
    assert probe.signed_in, "the spare coordinator could not sign in"
    page = probe.open_form("/families/new/")
    assert page is not None and csrf_token(page)
    marker = "Blank-0-1"
    write = Write(0, "create_family", marker, None)
    probe.post(write, "/families/new/", page, {"given_name": marker, "family_name": "", "preferred_language": "en"})
    assert (write.outcome, write.status) == ("refused", 400), write
    assert "required" in write.detail or "Enter" in write.detail, write.detail
    return marker


# --- what the database holds ------------------------------------------------------------------------------------


@dataclass
class State:
    families: dict[int, int | None] = field(default_factory=dict)  # family -> parent person
    people: dict[int, tuple[int, str, str]] = field(default_factory=dict)  # person -> (family, given, last name)
    relationships: dict[int, tuple[int, int]] = field(default_factory=dict)  # relationship -> (family, person)
    teams: Counter[int] = field(default_factory=Counter)  # family -> care teams
    coordinators: Counter[int] = field(default_factory=Counter)  # family -> active designated coordinators
    places: Counter[int] = field(default_factory=Counter)  # family -> places on its team
    episodes: dict[int, list[tuple[int, int, date, int]]] = field(default_factory=lambda: defaultdict(list))
    lines: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))  # (verb, summary)
    events: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # (action, type, id, verb)
    lost_kept: int = 0


def _read_database(pg: Postgres, dbname: str) -> State:
    state = State()
    with pg.connect(dbname) as db:
        for family_id, parent_id in db.execute("SELECT id, parent_id FROM families_family"):
            state.families[family_id] = parent_id
        for person_id, family_id, given, last in db.execute(
            "SELECT id, family_id, given_name, family_name FROM families_person"
        ):
            state.people[person_id] = (family_id, given, last)
        for rel_id, family_id, person_id in db.execute(
            "SELECT id, family_id, person_id FROM families_familyrelationship"
        ):
            state.relationships[rel_id] = (family_id, person_id)
        for (family_id,) in db.execute("SELECT family_id FROM families_careteam"):
            state.teams[family_id] += 1
        for family_id, coordinates, active in db.execute(
            "SELECT t.family_id, m.is_coordinator, m.left_at IS NULL FROM families_careteammember m "
            "JOIN families_careteam t ON t.id = m.care_team_id"
        ):
            state.places[family_id] += 1
            if coordinates and active:
                state.coordinators[family_id] += 1
        for episode_id, family_id, person_id, due, version in db.execute(
            "SELECT id, family_id, person_id, estimated_due_on, version FROM families_pregnancyepisode"
        ):
            state.episodes[family_id].append((episode_id, person_id, due, version))
        for family_id, verb, summary in db.execute("SELECT family_id, verb, summary FROM families_familyactivity"):
            state.lines[family_id].append((verb, summary))
        for action, record_type, record_id, verb in db.execute(
            "SELECT action, record_type, record_id, coalesce(detail->>'verb', '') FROM audit_auditevent "
            "WHERE outcome = 'success'"
        ):
            state.events[(action, record_type, record_id, verb)] += 1
    return state


def _long_date(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


STALE_FORM = "Someone else changed this record"
CORRECTED_TO = re.compile(r" to (\d{1,2} \w+ \d{4})$")


def _check(writes: list[Write], state: State, *, blank_marker: str, today: date) -> list[str]:
    """Every problem found, in plain words (empty: nothing lost, nothing doubled, nothing half-written)."""
    problems: list[str] = []
    parents_by_name: dict[str, list[int]] = defaultdict(list)  # last name -> families whose parent bears it
    people_by_given: dict[str, list[int]] = defaultdict(list)
    people_by_last: Counter[str] = Counter()
    related = {person for _, person in state.relationships.values()}
    parents = {parent for parent in state.families.values() if parent is not None}
    for person_id, (_family_id, given, last) in state.people.items():
        people_by_given[given].append(person_id)
        people_by_last[last] += 1
        if person_id not in parents and person_id not in related:
            problems.append(f"person {person_id} ({given} {last}) belongs to no family: neither parent nor member")

    # 1. Each family is whole: every part one write makes, with its timeline lines and audit events.
    for family_id, parent_id in state.families.items():
        where = f"family {family_id}"
        if parent_id is None or state.people.get(parent_id, (None,))[0] != family_id:
            problems.append(f"{where} has no parent of its own")
            continue
        parents_by_name[state.people[parent_id][2]].append(family_id)
        if state.teams[family_id] != 1 or state.coordinators[family_id] != 1 or state.places[family_id] != 1:
            problems.append(
                f"{where}: {state.teams[family_id]} care team(s), {state.coordinators[family_id]} coordinator(s), "
                f"{state.places[family_id]} place(s); expected 1, 1, 1"
            )
        verbs = Counter(verb for verb, _ in state.lines[family_id])
        if verbs["family_created"] != 1:
            problems.append(f"{where}: {verbs['family_created']} 'family created' timeline lines")
        if state.events[("create", "Family", str(family_id), "family_created")] != 1:
            problems.append(f"{where}: no single audit event of its creation")
        episodes = state.episodes.get(family_id, [])
        if len(episodes) != 1:
            problems.append(f"{where}: {len(episodes)} pregnancies; its form made exactly one")
        else:
            episode_id, person_id, _, version = episodes[0]
            if person_id != parent_id:
                problems.append(f"{where}: its pregnancy is not its parent's")
            if verbs["pregnancy_recorded"] != 1:
                problems.append(f"{where}: {verbs['pregnancy_recorded']} 'pregnancy recorded' lines")
            if state.events[("create", "PregnancyEpisode", str(episode_id), "pregnancy_recorded")] != 1:
                problems.append(f"{where}: no single audit event of its pregnancy")
            corrections = state.events[("update", "PregnancyEpisode", str(episode_id), "due_date_corrected")]
            if not (verbs["due_date_corrected"] == corrections == version - 1):
                problems.append(
                    f"{where}: its due date changed {version - 1} time(s), with {verbs['due_date_corrected']} "
                    f"timeline line(s) and {corrections} audit event(s)"
                )
        members = [rel for rel, (fam, _) in state.relationships.items() if fam == family_id]
        if verbs["member_added"] != len(members):
            problems.append(f"{where}: {len(members)} member(s) but {verbs['member_added']} 'member added' lines")
        for rel in members:
            person = state.relationships[rel][1]
            if state.people.get(person, (None,))[0] != family_id:
                problems.append(f"{where}: member {rel} is a person of another family")
            if state.events[("create", "FamilyRelationship", str(rel), "member_added")] != 1:
                problems.append(f"{where}: member {rel} has no single audit event")

    # 2. Every acknowledged write is there exactly once; any other is there at most once; nothing unasked-for.
    created = {w.marker for w in writes if w.kind == "create_family"} | {blank_marker}
    added = {w.marker for w in writes if w.kind == "add_member"}
    for name in parents_by_name:
        if name not in created:
            problems.append(f"a family nobody asked for: parent's last name {name!r}")
    for given in people_by_given:
        if given.startswith("Kin-") and given not in added:
            problems.append(f"a member nobody asked for: {given!r}")
    lost_kept = 0
    for w in writes:
        if w.kind == "create_family":
            found = parents_by_name.get(w.marker, [])
            if people_by_last[w.marker] != len(found):
                problems.append(f"{w.marker}: {people_by_last[w.marker]} people with its name, {len(found)} families")
            if w.outcome == "acknowledged" and found != [w.family_id]:
                problems.append(f"{w.marker}: acknowledged as family {w.family_id}, found as {found}")
            elif w.outcome == "lost":
                lost_kept += len(found)
                if len(found) > 1:
                    problems.append(f"{w.marker}: sent once, kept {len(found)} times")
            elif w.outcome == "refused":
                problems.append(f"{w.marker}: a new family refused: {w.detail[:300]}")
        elif w.kind == "add_member":
            found = people_by_given.get(w.marker, [])
            families = [state.people[p][0] for p in found]
            if w.outcome == "acknowledged" and families != [w.family_id]:
                problems.append(f"{w.marker}: acknowledged in family {w.family_id}, found in {families}")
            elif w.outcome == "lost":
                lost_kept += len(found)
                if len(found) > 1 or any(f != w.family_id for f in families):
                    problems.append(f"{w.marker}: sent once to family {w.family_id}, kept in {families}")
            elif w.outcome == "refused":
                problems.append(f"{w.marker}: a new member refused: {w.detail[:300]}")
    if parents_by_name.get(blank_marker) or people_by_given.get(blank_marker):
        problems.append("the form with an error left a record behind")

    # 3. Every acknowledged due-date correction is there, once; the date is the last one she was told of, or
    # one she sent after it without hearing back.
    by_family: dict[int, list[Write]] = defaultdict(list)
    for w in writes:
        if w.kind == "correct_due_date" and w.family_id is not None:
            by_family[w.family_id].append(w)
    for family_id, corrections in by_family.items():
        episodes = state.episodes.get(family_id, [])
        if len(episodes) != 1:
            continue  # reported above
        due = episodes[0][2]
        told = Counter(
            m.group(1)
            for verb, s in state.lines[family_id]
            if verb == "due_date_corrected" and (m := CORRECTED_TO.search(s))
        )
        sent = {_long_date(date.fromisoformat(w.marker)) for w in corrections}
        for words in told:
            if words not in sent:
                problems.append(f"family {family_id}: a due-date correction to {words} nobody sent")
        for w in corrections:
            words = _long_date(date.fromisoformat(w.marker))
            if w.outcome == "acknowledged" and told[words] != 1:
                problems.append(f"family {family_id}: acknowledged correction to {words} is there {told[words]} times")
            elif w.outcome == "lost":
                lost_kept += told[words]
            elif w.outcome == "refused":
                if told[words]:
                    problems.append(f"family {family_id}: a refused correction to {words} was kept")
                # A correction sent on a form read before a lost one was kept is stale: refusing it is right.
                if STALE_FORM not in w.detail or not any(x.outcome == "lost" for x in corrections):
                    problems.append(f"family {family_id}: a due-date correction refused: {w.detail[:300]}")
        acknowledged = [i for i, w in enumerate(corrections) if w.outcome == "acknowledged"]
        start = acknowledged[-1] if acknowledged else 0
        possible = {date.fromisoformat(w.marker) for w in corrections[start:]}
        if not acknowledged:
            possible.add(today + timedelta(days=CREATED_DUE_IN_DAYS))
        if due not in possible:
            problems.append(f"family {family_id}: due date {due} is none of {sorted(possible)}")
    state.lost_kept = lost_kept
    return problems


# --- the drill's own yardstick -------------------------------------------------------------------------------------


def _one_whole_family(today: date) -> tuple[list[Write], State]:
    """What one acknowledged family, member and due-date correction leave behind, as the drill reads it."""
    corrected = today + timedelta(days=31)
    writes = [
        Write(1, "create_family", "Crash-1-1", 10, "acknowledged"),
        Write(1, "add_member", "Kin-1-2", 10, "acknowledged"),
        Write(1, "correct_due_date", corrected.isoformat(), 10, "acknowledged"),
    ]
    state = State()
    state.families[10] = 100
    state.people.update({100: (10, "Drill1", "Crash-1-1"), 101: (10, "Kin-1-2", "Drill")})
    state.relationships[500] = (10, 101)
    state.teams[10] = state.coordinators[10] = state.places[10] = 1
    state.episodes[10].append((700, 100, corrected, 2))
    state.lines[10] += [
        ("family_created", "Created the family of Drill1 Crash-1-1"),
        ("pregnancy_recorded", "Recorded a pregnancy"),
        ("member_added", "Added Kin-1-2 Drill to the family (my sister)"),
        ("due_date_corrected", f"Corrected the estimated due date from 1 May 2030 to {_long_date(corrected)}"),
    ]
    for event in (
        ("create", "Family", "10", "family_created"),
        ("create", "PregnancyEpisode", "700", "pregnancy_recorded"),
        ("create", "FamilyRelationship", "500", "member_added"),
        ("update", "PregnancyEpisode", "700", "due_date_corrected"),
    ):
        state.events[event] = 1
    return writes, state


def _no_care_team(writes: list[Write], state: State) -> None:
    state.teams[10] = state.coordinators[10] = state.places[10] = 0


def _no_audit_event_of_its_creation(writes: list[Write], state: State) -> None:
    del state.events[("create", "Family", "10", "family_created")]


def _no_pregnancy_line(writes: list[Write], state: State) -> None:
    state.lines[10] = [line for line in state.lines[10] if line[0] != "pregnancy_recorded"]


def _kept_twice(writes: list[Write], state: State) -> None:
    state.families[11] = 102
    state.people[102] = (11, "Drill1", "Crash-1-1")


def _acknowledged_member_missing(writes: list[Write], state: State) -> None:
    del state.people[101], state.relationships[500]
    state.lines[10] = [line for line in state.lines[10] if line[0] != "member_added"]


def _acknowledged_correction_missing(writes: list[Write], state: State) -> None:
    episode_id, person_id, _, _ = state.episodes[10][0]
    state.episodes[10] = [(episode_id, person_id, date.today() + timedelta(days=CREATED_DUE_IN_DAYS), 1)]
    state.lines[10] = [line for line in state.lines[10] if line[0] != "due_date_corrected"]
    del state.events[("update", "PregnancyEpisode", "700", "due_date_corrected")]


def _acknowledged_family_missing(writes: list[Write], state: State) -> None:
    writes.append(Write(1, "create_family", "Crash-1-3", 12, "acknowledged"))


@pytest.mark.crash
@pytest.mark.parametrize(
    "damage",
    [
        _no_care_team,
        _no_audit_event_of_its_creation,
        _no_pregnancy_line,
        _kept_twice,
        _acknowledged_member_missing,
        _acknowledged_correction_missing,
        _acknowledged_family_missing,
    ],
    ids=lambda damage: damage.__name__.strip("_"),
)
def test_the_drill_notices_a_write_lost_doubled_or_half_written(damage: Callable[[list[Write], State], None]) -> None:
    today = date.today()
    writes, state = _one_whole_family(today)
    assert _check(writes, state, blank_marker="Blank-0-1", today=today) == []
    damage(writes, state)
    assert _check(writes, state, blank_marker="Blank-0-1", today=today) != []
