"""Page views per second at 1, 8 and 32 concurrent clients (issue 15), against the production server on PostgreSQL,
with the audit trail on.

Builds the same scratch world as ``bench/referrals.py`` (coordinators at a community organisation, each with
``--families`` families made through the services), starts what ``make serve`` starts — gunicorn (production
settings, ``2 * cores + 1`` sync workers), the django-tasks worker and the audit sealer — signs each client in
through the sign-in page, and has every client read pages back to back for a fixed time: her caseload
(``/families/``), then each of her families' pages in turn (``/families/<id>/``). Every page view appends its
audit events and accounting rows as any request does; the sealer chains them beside the requests.

It prints, per run: page views per second, the median and p95 latency, and CPU per page view (gunicorn,
PostgreSQL, this process), with how busy the machine's cores were. A request that waited on a lock shows as
latency without CPU; a CPU-bound server shows cores near full. Last it checks that every page view was audited,
that the sealer caught up (nothing left unsealed) and that ``verify`` finds the chain whole.

    uv run --frozen python bench/concurrency.py [--clients 1,8,32] [--seconds 20] [--families 20] [--keep]

Exits non-zero if a request failed or a check did not hold.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import _common as c
import referrals as r

SCRATCH_DATABASE = "kinfold_bench_concurrency"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", default="1,8,32", help="the concurrent clients of each run (1,8,32)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each timed run, seconds (20)")
    p.add_argument("--warmup-seconds", type=float, default=3.0, help="untimed run with all clients first (3)")
    p.add_argument("--families", type=int, default=20, help="families per coordinator (20)")
    p.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers (2*cores+1)")
    p.add_argument(
        "--database-url",
        default=os.environ.get("KINFOLD_BENCH_DATABASE_URL") or os.environ.get("KINFOLD_DATABASE_URL") or r.SERVER_URL,
        help="any postgres:// URL on the server to use: only its server is used",
    )
    p.add_argument("--database", default=SCRATCH_DATABASE, help=f"the scratch database ({SCRATCH_DATABASE})")
    p.add_argument("--keep", action="store_true", help="keep the scratch database afterwards (dropped by default)")
    return p


@dataclass
class View:
    path: str
    status: int
    ms: float


PARENT_NAME = re.compile(r"<h1[^>]*>([^<]+)</h1>")


@dataclass
class Reader:
    username: str
    families: list[int]
    browser: r.Browser
    n: int = 0

    def next_path(self) -> str:
        """Her caseload, then each of her families' pages in turn, then her caseload again."""
        step = self.n % (len(self.families) + 1)
        self.n += 1
        return "/families/" if step == 0 else f"/families/{self.families[step - 1]}/"

    def view(self) -> View:
        path = self.next_path()
        started = time.perf_counter()
        status, _, body = self.browser.request("GET", path)
        ms = (time.perf_counter() - started) * 1000
        if status == 200 and path != "/families/" and not PARENT_NAME.search(body):
            status = 599  # a 200 without her family page is not a page view
        return View(path, status, ms)


@dataclass
class Run:
    clients: int
    views: list[View]
    seconds: float
    cpu_ms: dict[str, float]

    @property
    def ok(self) -> list[View]:
        return [v for v in self.views if v.status == 200]

    @property
    def rate(self) -> float:
        return len(self.ok) / self.seconds if self.seconds else 0.0

    def row(self) -> list[Any]:
        times = [v.ms for v in self.ok] or [0.0]
        per = max(1, len(self.ok))
        busy = sum(self.cpu_ms.values()) / (self.seconds * 1000 * (os.cpu_count() or 1))
        return [
            f"{self.clients} client{'s' if self.clients != 1 else ''}",
            len(self.ok),
            len(self.views) - len(self.ok),
            round(self.seconds, 1),
            self.rate,
            statistics.median(times),
            c.percentile(times, 95),
            self.cpu_ms["web"] / per,
            self.cpu_ms["postgres"] / per,
            f"{busy:.0%}",
        ]


HEADERS = (
    "run",
    "page views",
    "errors",
    "seconds",
    "views/s",
    "median ms",
    "p95 ms",
    "web CPU ms",
    "PG CPU ms",
    "cores busy",
)


def timed_run(readers: list[Reader], *, seconds: float, web_pid: int, database: str) -> Run:
    results: list[list[View]] = [[] for _ in readers]
    barrier = threading.Barrier(len(readers) + 1)
    crashed: list[BaseException] = []
    end = 0.0

    def work(i: int, reader: Reader) -> None:
        try:
            barrier.wait()
            while time.perf_counter() < end:
                results[i].append(reader.view())
        except BaseException as error:
            crashed.append(error)

    threads = [threading.Thread(target=work, args=(i, rd), daemon=True) for i, rd in enumerate(readers)]
    for thread in threads:
        thread.start()
    before = r.cpu_snapshot(web_pid, database)
    start = time.perf_counter()
    end = start + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    used = r.cpu_used(before, r.cpu_snapshot(web_pid, database))
    used.pop("bench", None)  # the clients' own CPU is not the server's
    if crashed:
        raise RuntimeError(f"a client stopped: {crashed[0]!r}") from crashed[0]
    return Run(len(readers), [v for per in results for v in per], finished - start, used)


def audited_views(since_id: int) -> int:
    from kinfold.audit.models import AuditEvent

    return AuditEvent.objects.filter(pk__gt=since_id, action="view", record_type="Family").count()


def main() -> None:
    args = parser().parse_args()
    sizes = sorted({int(x) for x in args.clients.split(",") if x.strip()})
    url = r.scratch_url(args.database_url, args.database)
    print(f"Scratch database {args.database}: creating and migrating …", flush=True)
    c.prepare_database(url, reseed=True)
    started = time.perf_counter()
    most = max(sizes)
    print(f"Building the world through the services ({most * args.families:,} families) …", flush=True)
    world = r.build_world(clients=most, families=args.families, intake=1)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  … done in {time.perf_counter() - started:.0f} s", flush=True)

    title = "Page views per second with the audit trail on (issue 15)"
    print(f"\n{title}\n{'=' * len(title)}")
    print(f"Machine: {c.machine()}")
    print(f"Load average before measuring (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"Server: gunicorn kinfold.wsgi, {args.workers} sync workers (as `make serve`: production settings), the\n"
        f"django-tasks worker and the audit sealer beside it. World: {most} coordinators, {args.families} families "
        f"each.\nEach client: one coordinator's own session, reading her caseload and then each of her families' "
        f"pages in turn,\nback to back; every page view is decided by the door, audited and accounted. Each run "
        f"lasts {args.seconds:g} s after\n{args.warmup_seconds:g} s of warm-up. CPU ms are per page view; "
        f"'cores busy' is the server's CPU (gunicorn and PostgreSQL)\nover the run's wall time and the machine's "
        f"{os.cpu_count()} cores.",
        flush=True,
    )
    from kinfold.audit.models import AuditEvent

    first_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    failures: list[str] = []
    runs: list[Run] = []
    with r.servers(url, workers=args.workers) as (port, web, _sink):
        readers = []
        for username in world.coordinators:
            client = r.Client(username, world.families[username], r.Browser(port))
            client.sign_in(world.password)
            readers.append(Reader(username, world.families[username], client.browser))
        timed_run(readers, seconds=args.warmup_seconds, web_pid=web.pid, database=args.database)
        for size in sizes:
            runs.append(timed_run(readers[:size], seconds=args.seconds, web_pid=web.pid, database=args.database))
        # The sealer chains the tail within a few of its intervals once the requests stop.
        deadline = time.monotonic() + 60
        from kinfold.audit.services import verify_chain

        while True:
            report = verify_chain()
            if report.unsealed == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    print()
    print(c.table(HEADERS, [run.row() for run in runs]))
    base = runs[0]
    for run in runs[1:]:
        if base.rate:
            print(
                f"{run.clients} clients: {run.rate / base.rate:.1f} times the page views of {base.clients} "
                f"(p95 {c.percentile([v.ms for v in run.ok] or [0.0], 95):.0f} ms)."
            )

    views = sum(len(run.ok) for run in runs)
    family_views = sum(1 for run in runs for v in run.ok if v.path != "/families/")
    audited = audited_views(first_event)
    print("\nChecks:")
    checks = [
        (all(len(run.ok) == len(run.views) for run in runs), f"every request answered 200 ({views:,} page views)"),
        (
            audited >= family_views,
            f"every family page view was audited ({audited:,} family views in the trail for {family_views:,} pages)",
        ),
        (report.unsealed == 0, f"the sealer caught up: {report.unsealed} event(s) left unsealed"),
        (
            report.ok,
            "`verify` finds the chain whole"
            + ("" if report.ok else f": event {report.first_broken_id}, {report.reason}"),
        ),
    ]
    for held, what in checks:
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
