"""Shared by the benchmark scripts: the benchmark database, the seeded region, timing and query counting.

The region is seeded once into a dedicated PostgreSQL database and reused while its marker (the
``SyntheticRegion`` audit event with the benchmark's seed and size, and the benchmark's named people) is
there; ``--reseed`` drops and recreates the database first. Server time is the wall time around
``django.test.Client.get`` in this process: URL routing, middleware, the view, its SQL and template
rendering, with no network, no WSGI server and no browser.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kinfold_bench"
BENCH_SEED = 2026
DEFAULT_FAMILIES = 100_000
BIG_COORDINATOR = "ana.rivera"  # 60 families (demo/region.py)
SMALL_COORDINATOR = "bench.small"  # 10 families, added by the benchmark
POLICY_COORDINATOR = "bench.policy"  # coordinates the access-policy families (access_policy.py)
HOST = "localhost"  # in ALLOWED_HOSTS; the test client's default "testserver" is not


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--families",
        type=int,
        default=DEFAULT_FAMILIES,
        help="families in the region (100000); each size has its own database (kinfold_bench_10000 …)",
    )
    p.add_argument("--reseed", action="store_true", help="drop and recreate the benchmark database first")
    p.add_argument("--requests", type=int, default=50, help="timed requests per page (50)")
    p.add_argument("--warmup", type=int, default=5, help="untimed requests per page first (5)")
    p.add_argument("--show-sql", action="store_true", help="print every SQL statement of each measured page")
    p.add_argument(
        "--database-url",
        default=os.environ.get("KINFOLD_BENCH_DATABASE_URL") or os.environ.get("KINFOLD_DATABASE_URL") or DEFAULT_URL,
        help=(
            "PostgreSQL database to use (KINFOLD_BENCH_DATABASE_URL, KINFOLD_DATABASE_URL, else "
            f"{DEFAULT_URL} for 100,000 families and {DEFAULT_URL}_<families> for any other size)"
        ),
    )
    return p


def database_url(args: argparse.Namespace) -> str:
    """The benchmark database for ``--families``: a region of another size lives in its own database."""
    families = getattr(args, "families", DEFAULT_FAMILIES)
    if args.database_url != DEFAULT_URL or families == DEFAULT_FAMILIES:
        return str(args.database_url)
    return f"{DEFAULT_URL}_{families}"


# --- database and Django -----------------------------------------------------------------------


def prepare_database(url: str, *, reseed: bool) -> None:
    """Create the database if missing (dropping it first with ``reseed``), then set Django up and migrate."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"The benchmarks need PostgreSQL; {url!r} is not a postgres:// URL.")
    name = str(config["NAME"])
    with psycopg.connect(
        host=str(config.get("HOST") or "127.0.0.1"),
        port=int(config.get("PORT") or 5432),
        user=str(config.get("USER") or "postgres"),
        password=str(config.get("PASSWORD") or ""),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if reseed:
            if "bench" not in name:
                sys.exit(f"--reseed drops the database: refusing for {name!r} (its name does not contain 'bench').")
            print(f"Dropping database {name} …", flush=True)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"Creating database {name} …", flush=True)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    os.environ["KINFOLD_DATABASE_URL"] = url
    os.environ.setdefault("KINFOLD_TESTING", "1")  # settings need it for the secret key
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kinfold.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def ensure_region(families: int) -> None:
    """Seed the benchmark region (``families`` families with the demo's named people) unless it is there."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from kinfold.audit.models import AuditEvent
    from kinfold.demo import region
    from kinfold.demo.synthetic import NamedStaff, generate_region
    from kinfold.families.models import Family
    from kinfold.organizations.models import Role

    users = get_user_model()._default_manager
    marker = AuditEvent.objects.filter(
        record_type="SyntheticRegion", detail__seed=BENCH_SEED, detail__families=families
    ).exists()
    if marker and users.filter(username=SMALL_COORDINATOR).exists():
        return
    if Family.objects.exists() or users.exists():
        sys.exit(
            "The benchmark database holds other data (or a region of another size). "
            "Run again with --reseed to drop it and seed a fresh region."
        )
    bench_staff = (
        NamedStaff(
            SMALL_COORDINATOR,
            "Noor",
            "Haddad",
            "Bright Futures Family Network",
            Role.CARE_COORDINATOR,
            "Care coordinator",
            families=10,
            coordinates=10,
        ),
        NamedStaff(
            POLICY_COORDINATOR,
            "Tess",
            "Whitfield",
            "Bright Futures Family Network",
            Role.CARE_COORDINATOR,
            "Care coordinator",
        ),
    )
    print(f"Seeding {families:,} families (seed {BENCH_SEED}); this takes about 2 minutes per 100,000 …", flush=True)
    summary = generate_region(
        families=families,
        seed=BENCH_SEED,
        region="Lakeview County",
        organizations=region.ORGANIZATIONS,
        staff=(*region.STAFF, *bench_staff),
        progress=lambda message: print(f"  … {message}", flush=True),
    )
    for line in summary.lines():
        print(line)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would give a live database


def user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model()._default_manager.select_related("membership__organization").get(username=username)


def client_for(username: str) -> Any:
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    client.force_login(user(username))
    return client


# --- the raw-SQL floor of a page ---------------------------------------------------------------

FLOOR_DIR = Path(__file__).parent / "floor"


@dataclass
class Floor:
    """What a page needs from the database as raw SQL (``bench/floor/*.sql``), with nothing decided, built or
    rendered: timed beside the page, alternately, in the same process and over the same connection."""

    statements: list[tuple[str, dict[str, Any]]]

    @classmethod
    def of(cls, *named: tuple[str, dict[str, Any]]) -> Floor:
        return cls([(floor_sql(name), params) for name, params in named])

    def __call__(self) -> int:
        from django.db import connection

        rows = 0
        with connection.cursor() as cursor:
            for statement, params in self.statements:
                cursor.execute(statement, params)
                rows += len(cursor.fetchall())
        return rows


def floor_sql(name: str) -> str:
    """A floor statement without its comment lines (they document it; placeholders in them are not bound)."""
    text = (FLOOR_DIR / f"{name}.sql").read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip().rstrip(";")


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class QueryCount:
    total: int
    reads: int
    writes: int
    other: int
    sql_ms: float
    slowest: list[tuple[float, str]] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)


@dataclass
class PageResult:
    label: str
    url: str
    size: str
    queries: QueryCount
    times_ms: list[float]
    floor_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 95)

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor_ms) if self.floor_ms else None

    @property
    def floor_p95(self) -> float | None:
        return percentile(self.floor_ms, 95) if self.floor_ms else None

    @property
    def ratio(self) -> float | None:
        """The page's median over its floor's: how many times the raw SQL the page costs."""
        floor = self.floor_median
        return self.median / floor if floor else None


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def get(client: Any, url: str, expect: str = "") -> Any:
    response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"GET {url} answered {response.status_code}, not 200")
    if expect and expect not in response.content.decode():
        sys.exit(f"GET {url}: the page does not contain {expect!r}")
    return response


def count_queries(client: Any, url: str, expect: str = "") -> QueryCount:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        get(client, url, expect)
    reads = writes = other = 0
    timed: list[tuple[float, str]] = []
    statements = []
    for q in captured.captured_queries:
        text = q["sql"]
        statements.append(text)
        verb = verb_of(text)
        if verb == "SELECT":
            reads += 1
        elif verb in ("INSERT", "UPDATE", "DELETE"):
            writes += 1
        else:
            other += 1
        timed.append((float(q["time"]) * 1000, text))
    timed.sort(key=lambda t: t[0], reverse=True)
    return QueryCount(
        total=len(statements),
        reads=reads,
        writes=writes,
        other=other,
        sql_ms=sum(t for t, _ in timed),
        slowest=timed[:3],
        statements=statements,
    )


def time_page(
    client: Any, url: str, *, requests: int, warmup: int, expect: str = "", floor: Floor | None = None
) -> tuple[list[float], list[float]]:
    """The page's times, and its floor's, timed alternately (one page request, then its floor)."""
    for _ in range(warmup):
        get(client, url, expect)
        if floor is not None:
            floor()
    times, floor_times = [], []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"GET {url} answered {response.status_code}, not 200")
        if floor is not None:
            started = time.perf_counter()
            floor()
            floor_times.append((time.perf_counter() - started) * 1000)
    return times, floor_times


def measure_page(
    client: Any,
    label: str,
    url: str,
    size: str,
    *,
    requests: int,
    warmup: int,
    expect: str = "",
    floor: Floor | None = None,
) -> PageResult:
    times, floor_times = time_page(client, url, requests=requests, warmup=warmup, expect=expect, floor=floor)
    queries = count_queries(client, url, expect)  # separately: capturing slows every statement down
    return PageResult(label, url, size, queries, times, floor_times)


def time_call(fn: Callable[[], Any], *, repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


# --- printing ----------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1) -> str:
    """A plain-text table; the first ``left`` columns are left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def page_rows(results: Sequence[PageResult]) -> list[list[Any]]:
    return [
        [
            r.label,
            r.size,
            r.queries.total,
            f"{r.queries.reads}/{r.queries.writes}",
            r.median,
            r.p95,
            r.queries.sql_ms,
            "-" if r.floor_median is None else r.floor_median,
            "-" if r.floor_p95 is None else r.floor_p95,
            "-" if r.ratio is None else f"{r.ratio:.1f}x",
        ]
        for r in results
    ]


PAGE_HEADERS = (
    "page",
    "size",
    "queries",
    "read/write",
    "median ms",
    "p95 ms",
    "SQL ms",
    "floor median",
    "floor p95",
    "page/floor",
)


def print_sql(results: Sequence[PageResult], *, show_all: bool) -> None:
    for r in results:
        if show_all:
            print(f"\n-- {r.label} ({r.url}): {r.queries.total} statements")
            for statement in r.queries.statements:
                print(f"   {statement[:300]}")
    print("\nSlowest statement of each page (ms, from the one query-counting request):")
    for r in results:
        ms, statement = r.queries.slowest[0] if r.queries.slowest else (0.0, "")
        print(f"  {r.label}: {ms:.1f} ms  {statement[:160]}")


def verb_of(statement: str) -> str:
    """What a statement does: its first word (``(SELECT …) UNION …`` reads); a ``WITH`` that inserts writes."""
    text = statement.lstrip().lstrip("(")
    verb = text.split(" ", 1)[0].upper()
    if verb == "WITH":
        return "INSERT" if " INSERT INTO " in f" {text} " else "SELECT"
    return verb


def shape(statement: str) -> str:
    """``SELECT notes_note``, ``INSERT audit_auditevent``, ``BEGIN``: what a statement does, to what."""
    verb = verb_of(statement)
    marker = {"SELECT": ' FROM "', "INSERT": 'INTO "', "UPDATE": 'UPDATE "', "DELETE": 'FROM "'}.get(verb)
    if marker is None or marker not in statement:
        return verb
    table_name = statement.split(marker, 1)[1].split('"', 1)[0]
    return f"{verb} {table_name}"


def query_difference(a: QueryCount, b: QueryCount) -> str:
    """The statements one page made and the other did not (by shape), e.g. ``+1 SELECT x; -1 SELECT y``."""
    from collections import Counter

    left, right = Counter(shape(s) for s in a.statements), Counter(shape(s) for s in b.statements)
    more = [f"+{n} {k}" for k, n in sorted((right - left).items())]
    fewer = [f"-{n} {k}" for k, n in sorted((left - right).items())]
    return "; ".join(more + fewer) or "same statements"


def machine() -> str:
    from django.db import connection

    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    import django

    return (
        f"{date.today().isoformat()}; {os.cpu_count()} cores ({cpu}); PostgreSQL {pg.split()[0]} on 127.0.0.1; "
        f"Python {platform.python_version()}; Django {django.get_version()}"
    )


def header(title: str, families: int, requests: int, warmup: int) -> None:
    print(f"\n{title}")
    print("=" * len(title))
    print(f"Machine: {machine()}")
    print(f"Region: {families:,} synthetic families (seed {BENCH_SEED}).")
    print(f"Load average before measuring (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"Server time = wall time around django.test.Client.get in this process (routing, middleware, view, SQL,\n"
        f"templates; no network, no WSGI server, no browser): median and p95 of {requests} requests after "
        f"{warmup} warm-up."
    )


def drop_scratch_database(url: str, name: str) -> None:
    """Drop a benchmark's scratch database ``name`` on ``url``'s server (after closing Django's connections)."""
    import urllib.parse

    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    server = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
