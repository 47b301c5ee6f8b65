"""Directory search at scale (issue 12): median and p95 of ``search_services`` over 100,000 services, on
PostgreSQL and on SQLite.

Each database gets its own scratch directory: PostgreSQL ``<benchmark database>_directory`` (created and
migrated like the other benchmarks' database, see ``_common.prepare_database``), SQLite
``var/bench/directory.sqlite3``. The first run fills it with ``--services`` synthetic services (seed 2026,
``bulk_create`` in batches), each with one or two locations at real ZIP codes of Kentucky, Ohio, Indiana,
Tennessee and West Virginia (cities weighted), then ``ANALYZE``; later runs find the marker organisation and
reuse it (``--reseed`` starts again). Everything in it is invented.

Measured: the wall time of ``kinfold.directory.search.search_services`` in this process (both SQL statements,
loading the page's 20 services with their locations, and the fit of each to a family), for groups of varied
searches (a different place, words and filters each time): text + radius + eligibility filters (the goal: p95 ≤
30 ms on PostgreSQL), the same with a typing mistake, "fits this family" only, a radius with filters and no words,
words alone over the whole directory, and filters alone. Then the search page itself (``django.test.Client``, the
whole middleware stack and template) for the first group.

    uv run --frozen python bench/directory.py [--services 100000] [--vendor both|postgresql|sqlite] [--reseed]
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import _common as c

SEED = 2026
MARKER = "bench-directory-marker"
STATES = ("KY", "OH", "IN", "TN", "WV")
CITY_PREFIXES = ("405", "402", "452", "432", "372", "462", "253", "379", "441")
BENCH_USER = "bench.directory"

# Places searched from (real ZIP codes), so every search has a different centre.
CENTRES = (
    "40502", "40202", "45202", "43215", "37203", "46204", "25301", "37902", "44113", "40601",
    "42101", "41101", "47150", "45402", "37040", "40475", "26003", "43604", "46802", "38103",
)  # fmt: skip
WORDS = (
    "buprenorphine", "methadone", "housing family", "prenatal care", "home visiting", "mental health",
    "childcare", "food pantry", "recovery coach", "parenting", "suboxone", "shelter", "counselling pregnancy",
    "transport", "legal aid", "postpartum support",
)  # fmt: skip
TYPOS = ("bupernorphine", "metadone", "pregnent", "housng", "prenatl", "counseling", "suboxen", "parentng")


def parser() -> Any:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--services", type=int, default=100_000, help="services in the scratch directory (100000)")
    p.add_argument("--vendor", choices=("both", "postgresql", "sqlite"), default="both")
    p.add_argument("--sqlite-path", default="", help="SQLite file (var/bench/directory.sqlite3)")
    return p


# --- the scratch databases ------------------------------------------------------------------------


def directory_url(url: str) -> str:
    """The benchmark database's URL with ``_directory`` added to its name: its own scratch database."""
    base, _, name = url.rpartition("/")
    name, _, query = name.partition("?")
    return f"{base}/{name}_directory" + (f"?{query}" if query else "")


def prepare_sqlite(path: Path, *, reseed: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if reseed:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["KINFOLD_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("KINFOLD_TESTING", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kinfold.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- the synthetic directory -----------------------------------------------------------------------


def _syllable_words(rng: random.Random, n: int) -> list[str]:
    onsets = ("b", "br", "c", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "st", "t", "v", "w")
    vowels = ("a", "e", "i", "o", "u", "ai", "ea", "ou")
    codas = ("", "n", "r", "l", "s", "th", "ck", "nd", "rt", "ll")
    words: set[str] = set()
    while len(words) < n:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.choice((1, 2, 2, 3))))
        words.add((word + rng.choice(codas)).capitalize())
    return sorted(words)


KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "food": (("Food Pantry", "Community Kitchen", "Grocery Help", "WIC Office"), "Groceries, hot meals and baby food"),
    "housing": (("Family Shelter", "Rapid Rehousing", "Housing Services", "Rent Help"), "Shelter and help with rent"),
    "mental_health": (("Counselling Center", "Behavioral Health", "Wellness Clinic"), "Therapy and counselling"),
    "sud_treatment": (("Recovery Center", "Treatment Services", "Residential Program"), "Treatment for substance use"),
    "moud": (("Opioid Treatment Program", "MOUD Clinic", "Medication Clinic"), "Medication for opioid use disorder"),
    "prenatal_care": (("Prenatal Clinic", "Women's Health", "Maternity Care"), "Prenatal visits and checkups"),
    "childcare": (("Child Care Center", "Early Learning", "Day Nursery"), "Care for babies and young children"),
    "parenting_support": (("Parenting Circle", "Family Resource Center"), "Parenting classes and groups"),
    "transport": (("Rides", "Transit Assistance"), "Rides to appointments"),
    "ipv_services": (("Safe House", "Domestic Violence Program"), "Safety and advocacy after violence at home"),
    "legal_aid": (("Legal Aid", "Law Clinic"), "Free legal help"),
    "peer_support": (("Peer Recovery", "Recovery Coaching"), "Peer recovery coaches"),
    "home_visiting": (("Home Visiting", "Nurse Home Visiting"), "Visits at home in pregnancy and after"),
}
NEED_WEIGHTS = {
    "food": 15, "housing": 12, "mental_health": 12, "sud_treatment": 10, "moud": 6, "prenatal_care": 8,
    "childcare": 8, "parenting_support": 8, "transport": 5, "ipv_services": 4, "legal_aid": 4, "peer_support": 4,
    "home_visiting": 4,
}  # fmt: skip
EXTRA_WORDS = (
    "free", "sliding scale", "bilingual", "same-day", "evening hours", "weekend hours", "confidential", "family",
    "pregnant", "postpartum", "infant", "toddler", "recovery", "trauma-informed", "peer", "nurse", "doctor",
    "case management", "telehealth", "group", "individual", "walk-in", "appointment", "referral", "Medicaid",
    "insurance", "uninsured", "veterans", "youth", "seniors", "rural", "county", "outreach", "support",
)  # fmt: skip


def generate(services: int) -> None:
    """Fill the scratch directory with ``services`` services (and about as many organisations / 5)."""
    from django.db import connection, transaction

    from kinfold import clock
    from kinfold.directory import geo
    from kinfold.directory.models import DirectoryOrganization, Location, Service, ServiceAtLocation, ServiceStatus
    from kinfold.directory.search import compose_search_text

    rng = random.Random(SEED)
    zips = []
    for code, (point, city, state, county) in sorted(geo._zip_index().items()):
        if state in STATES:
            weight = 5 if code.startswith(CITY_PREFIXES) else 1
            zips.extend([(code, point, city.title(), state, county)] * weight)
    names = _syllable_words(rng, 3000)
    needs_pool = list(NEED_WEIGHTS)
    weights = [NEED_WEIGHTS[n] for n in needs_pool]
    today = clock.today()
    started = time.perf_counter()
    batch = 2000
    made = 0
    org_n = 0
    while made < services:
        size = min(batch, services - made)
        orgs, rows = [], []
        places: list[tuple[str, tuple[float, float], str, str, str] | None] = []
        for i in range(size):
            k = made + i
            if k % 5 == 0:
                org_n += 1
                org_name = f"{rng.choice(names)} {rng.choice(('Community', 'Family', 'Health', 'Hope', 'Valley'))}"
                orgs.append(DirectoryOrganization(hsds_id=f"bench-org-{org_n}", name=f"{org_name} {org_n}"))
            need = rng.choices(needs_pool, weights)[0]
            needs = [need] + ([rng.choices(needs_pool, weights)[0]] if rng.random() < 0.3 else [])
            needs = list(dict.fromkeys(needs))
            kind_names, kind_words = KINDS[need]
            code, point, city, state, county = rng.choice(zips)
            place = rng.choice((city, rng.choice(names)))
            moud = need == "moud" or (need == "sud_treatment" and rng.random() < 0.4)
            status = rng.choices(
                [ServiceStatus.ACTIVE, ServiceStatus.TEMPORARILY_CLOSED, ServiceStatus.INACTIVE, ServiceStatus.DEFUNCT],
                [92, 4, 3, 1],
            )[0]
            service = Service(
                hsds_id=f"bench-svc-{k + 1}",
                name=f"{place} {rng.choice(kind_names)}",
                description=f"{kind_words}. " + ", ".join(rng.sample(EXTRA_WORDS, 6)) + ".",
                status=status,
                assured_date=today - timedelta(days=rng.randint(0, 730)),
                needs=needs,
                languages=["en"] + (["es"] if rng.random() < 0.35 else []) + (["ar"] if rng.random() < 0.03 else []),
                accepts_medicaid=rng.random() < 0.4 or need in ("moud", "prenatal_care"),
                accepts_pregnant=rng.random() < (0.7 if need in ("moud", "prenatal_care", "home_visiting") else 0.25),
                postpartum_programme=rng.random() < 0.15,
                parenting_programme=need == "parenting_support" or rng.random() < 0.1,
                moud_methadone=moud and rng.random() < 0.5,
                moud_buprenorphine=moud and rng.random() < 0.8,
                moud_naltrexone=moud and rng.random() < 0.3,
                moud_continued_in_hospital=moud and rng.random() < 0.3,
                residential_with_children=need == "sud_treatment" and rng.random() < 0.1,
                childcare_on_site=rng.random() < 0.08,
                transport_help=rng.random() < 0.12,
                walk_in=rng.random() < 0.2,
                accepting_new=rng.random() < 0.9,
                wait_days=rng.choice((0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60)) if rng.random() < 0.7 else None,
                counties=[county] if county and rng.random() < 0.4 else [],
                first_pregnancy_only=need == "home_visiting" and rng.random() < 0.3,
                enrol_before_week=28 if need == "home_visiting" and rng.random() < 0.5 else None,
                minimum_age=18 if rng.random() < 0.2 else None,
            )
            service.search_text = compose_search_text(
                service, organization_name=orgs[-1].name if orgs else "", term_names=(), cities=[city]
            )
            rows.append((service, len(orgs) - 1, org_n))
            jitter = (rng.uniform(-0.02, 0.02), rng.uniform(-0.02, 0.02))
            places.append((code, (point[0] + jitter[0], point[1] + jitter[1]), city, state, county))
            if rng.random() < 0.1:  # a second site nearby
                places.append((code, (point[0] - jitter[1], point[1] + jitter[0]), city, state, county))
            else:
                places.append(None)
        with transaction.atomic():
            DirectoryOrganization.objects.bulk_create(orgs)
            org_ids = dict(
                DirectoryOrganization.objects.filter(hsds_id__in=[o.hsds_id for o in orgs]).values_list("hsds_id", "pk")
            )
            for service, _index, n in rows:
                service.organization_id = org_ids.get(f"bench-org-{n}") or (
                    DirectoryOrganization.objects.values_list("pk", flat=True).get(hsds_id=f"bench-org-{n}")
                )
            created = Service.objects.bulk_create([r[0] for r in rows])
            if any(s.pk is None for s in created):  # a database that does not return the new ids
                hsds_ids = [s.hsds_id for s in created]
                ids = dict(Service.objects.filter(hsds_id__in=hsds_ids).values_list("hsds_id", "pk"))
                for s in created:
                    s.pk = ids[s.hsds_id]
            locations, links = [], []
            for j, service in enumerate(created):
                for m, spot in enumerate((places[2 * j], places[2 * j + 1])):
                    if spot is None:
                        continue
                    code, (lat, lon), city, state, county = spot
                    locations.append(
                        Location(
                            hsds_id=f"{service.hsds_id}-loc-{m}",
                            organization_id=service.organization_id,
                            address_1=f"{rng.randint(1, 9999)} {rng.choice(names)} Street",
                            city=city,
                            county=county,
                            state_province=state,
                            postal_code=code,
                            latitude=round(lat, 6),
                            longitude=round(lon, 6),
                        )
                    )
                    links.append((service.pk, f"{service.hsds_id}-loc-{m}"))
            Location.objects.bulk_create(locations)
            location_ids = dict(
                Location.objects.filter(hsds_id__in=[h for _s, h in links]).values_list("hsds_id", "pk")
            )
            ServiceAtLocation.objects.bulk_create(
                [ServiceAtLocation(hsds_id=f"{h}-at", service_id=sid, location_id=location_ids[h]) for sid, h in links]
            )
        made += size
        if made % 20000 == 0 or made == services:
            print(f"  … {made:,} services ({time.perf_counter() - started:.0f} s)", flush=True)
    DirectoryOrganization.objects.create(
        hsds_id=MARKER, name="Benchmark marker", extra={"services": services, "seed": SEED}
    )
    with connection.cursor() as cursor:  # as autovacuum would (visibility maps let indexes answer alone)
        if connection.vendor == "postgresql":
            for table in ("directory_service", "directory_location", "directory_serviceatlocation"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


def ensure_directory(services: int) -> None:
    from django.contrib.auth import get_user_model

    from kinfold.directory.models import DirectoryOrganization, Service

    marker = DirectoryOrganization.objects.filter(hsds_id=MARKER).first()
    if marker is not None and marker.extra.get("services") == services and marker.extra.get("seed") == SEED:
        return
    if marker is not None or Service.objects.exists():
        sys.exit("The scratch directory holds other data (or another size). Run again with --reseed.")
    print(f"Generating {services:,} services (seed {SEED}) …", flush=True)
    generate(services)
    users = get_user_model()._default_manager
    if not users.filter(username=BENCH_USER).exists():
        users.create_user(BENCH_USER, email="bench.directory@example.org", password=None)


# --- the searches ----------------------------------------------------------------------------------


def searches() -> dict[str, list[dict[str, Any]]]:
    """Groups of varied searches: keyword arguments for ``search_services``."""
    from kinfold.directory import geo
    from kinfold.directory.fit import FamilyFit
    from kinfold.directory.search import SearchFilters

    rng = random.Random(SEED + 1)
    centres = [geo.point_for(z) for z in CENTRES]
    filters = [
        SearchFilters(accepts_pregnant=True),
        SearchFilters(accepts_pregnant=True, accepts_medicaid=True),
        SearchFilters(language="es", accepts_medicaid=True),
        SearchFilters(accepts_pregnant=True, moud=("buprenorphine",)),
        SearchFilters(walk_in=True),
        SearchFilters(accepting_new=True, max_wait_days=14),
        SearchFilters(need="housing", parenting_programme=True),
        SearchFilters(postpartum_programme=True, accepts_medicaid=True),
    ]
    fits = [
        FamilyFit(gestational_weeks=w, first_pregnancy=f, county="", language=lang, medicaid=True, moud=m, age=a)
        for w, f, lang, m, a in ((20, True, "es", "buprenorphine", 24), (31, False, "en", "methadone", 30),
                                 (12, None, "", "", None), (26, True, "en", "buprenorphine", 19))
    ]  # fmt: skip

    def pick(seq: Any) -> Any:
        return rng.choice(seq)

    n = 40
    return {
        "text + radius + eligibility": [
            {"query": pick(WORDS), "near": pick(centres), "radius_miles": pick((10, 15, 25)), "filters": pick(filters)}
            for _ in range(n)
        ],
        "typo + radius + eligibility": [
            {"query": pick(TYPOS), "near": pick(centres), "radius_miles": pick((10, 15, 25)), "filters": pick(filters)}
            for _ in range(n)
        ],
        "text + radius, fits her only": [
            {"query": pick(WORDS), "near": pick(centres), "radius_miles": 25, "fit": pick(fits), "fits_only": True}
            for _ in range(n)
        ],
        "radius + filters, no words": [
            {"near": pick(centres), "radius_miles": pick((10, 25, 50)), "filters": pick(filters)} for _ in range(n)
        ],
        "text only, whole directory": [{"query": pick(WORDS)} for _ in range(n)],
        "filters only, whole directory": [{"filters": pick(filters)} for _ in range(n)],
        "text + filters, page 5": [{"query": pick(WORDS), "filters": pick(filters), "page": 5} for _ in range(n)],
    }


def measure(label: str, calls: list[dict[str, Any]], *, requests: int, warmup: int) -> list[Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kinfold.directory.search import search_services

    for kwargs in calls[:warmup]:
        search_services(**kwargs)
    times, totals = [], []
    for i in range(requests):
        kwargs = calls[i % len(calls)]
        started = time.perf_counter()
        page = search_services(**kwargs)
        times.append((time.perf_counter() - started) * 1000)
        totals.append(min(page.total, 1001))
    # Then once more each, untimed, for the statements' own time (capturing slows them a little).
    sql_ms, statements = [], []
    for kwargs in calls[: min(len(calls), requests)]:
        with CaptureQueriesContext(connection) as captured:
            search_services(**kwargs)
        sql_ms.append(sum(float(q["time"]) * 1000 for q in captured.captured_queries))
        statements.append(len(captured.captured_queries))
    return [
        label,
        statistics.median(times),
        c.percentile(times, 95),
        max(times),
        statistics.median(sql_ms),
        c.percentile(sql_ms, 95),
        statistics.median(statements),
        statistics.median(totals),
    ]


def measure_page(calls: list[dict[str, Any]], *, requests: int, warmup: int) -> list[Any]:
    from urllib.parse import urlencode

    client = c.client_for(BENCH_USER)
    urls = []
    for kwargs in calls:
        f = kwargs.get("filters")
        params: dict[str, Any] = {"q": kwargs.get("query", ""), "radius": kwargs.get("radius_miles", "")}
        near = kwargs.get("near")
        if near is not None:
            from kinfold.directory import geo

            params["near"] = next(z for z in CENTRES if geo.point_for(z) == near)
        if f is not None:
            params.update({k: "on" for k in ("accepts_pregnant", "accepts_medicaid", "walk_in") if getattr(f, k)})
            if f.language:
                params["language"] = f.language
        urls.append("/directory/?" + urlencode(params))
    for url in urls[:warmup]:
        c.get(client, url)
    times = []
    for i in range(requests):
        started = time.perf_counter()
        response = client.get(urls[i % len(urls)])
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"GET {urls[i % len(urls)]} answered {response.status_code}")
    queries = c.count_queries(client, urls[0])
    return ["search page (text + radius + filters)", statistics.median(times), c.percentile(times, 95), max(times),
            queries.total]  # fmt: skip


def run_one(args: Any) -> None:
    if args.vendor == "postgresql":
        url = directory_url(args.database_url)
        c.prepare_database(url, reseed=args.reseed)
        where = f"PostgreSQL ({url.rpartition('/')[2]})"
    else:
        path = Path(args.sqlite_path or Path(__file__).resolve().parent.parent / "var" / "bench" / "directory.sqlite3")
        prepare_sqlite(path, reseed=args.reseed)
        where = f"SQLite {sqlite3.sqlite_version} ({path})"
    ensure_directory(args.services)

    from django.db import connection

    from kinfold.directory.models import Location, Service

    title = f"Directory search (issue 12) on {connection.vendor}"
    print(f"\n{title}\n{'=' * len(title)}")
    print(f"Database: {where}")
    print(f"Machine: {os.cpu_count()} cores; load average (1/5/15 min): "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    print(f"Directory: {Service.objects.count():,} services, {Location.objects.count():,} locations (seed {SEED}).")
    print(
        f"search_services(): wall time in this process (SQL, loading the page's 20 services and their locations, the\n"
        f"fit of each); {args.requests} searches per group after {args.warmup} warm-up, each a different place, words\n"
        f"and filters (40 variants, cycled). 'SQL' is the statements' own time (Django rounds each to the ms), from\n"
        f"one more untimed pass (SQLite does most of its work while rows are fetched, which this leaves out);\n"
        f"'matches' is the median count (capped at 1,001). On a busy machine the wall time grows with the load."
    )
    rows = [measure(label, calls, requests=args.requests, warmup=args.warmup) for label, calls in searches().items()]
    print()
    headers = ("searches", "median ms", "p95 ms", "max ms", "SQL median", "SQL p95", "statements", "matches")
    print(c.table(headers, rows))
    page = measure_page(searches()["text + radius + eligibility"], requests=args.requests, warmup=args.warmup)
    print()
    print(c.table(("page", "median ms", "p95 ms", "max ms", "queries"), [page]))


def main() -> None:
    args = parser().parse_args()
    if args.vendor != "both":
        run_one(args)
        return
    passed = [a for a in sys.argv[1:] if not a.startswith("--vendor")]
    failed = False
    for vendor in ("postgresql", "sqlite"):
        env = {**os.environ, "KINFOLD_TESTING": "1"}
        result = subprocess.run([sys.executable, __file__, *passed, "--vendor", vendor], env=env, check=False)
        failed = failed or result.returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
