"""demo.py — the demo region's service directory: about ninety invented services at real ZIP codes around
Lexington, Kentucky (so distances are true), in the demo's "Lakeview County" (Lexington's ZIP codes) and four
invented neighbouring counties. Every name, street, phone number (555-01xx) and email (``.example``) is made up.

It holds what the demo's stories need: buprenorphine and methadone programmes that take pregnant people (one of
them Hope Recovery Center's, with its intake contact), perinatal mental health in Spanish, home visiting that
enrols before 28 weeks and a nurse home visiting programme for first pregnancies only, housing that takes
families (one of them Riverside Housing Alliance's, reached by its intake email), residential treatment where
children stay, and listings that are stale or temporarily closed. Rows are written as HSDS-shaped rows with the
ORM (the HSDS importer is ``hsds.py``); loading again updates the same rows (stable ``hsds_id``s), never
duplicates them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction

from kinfold import clock
from kinfold.directory.models import (
    DirectoryOrganization,
    Location,
    Moud,
    Need,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    TaxonomyTerm,
)
from kinfold.directory.search import compose_search_text
from kinfold.organizations.models import Organization

SEED = 2026
PREFIX = "kinfold-demo"
SOURCE = "Kinfold demo directory (synthetic)"
HOME_COUNTY = "Lakeview County"
# Real ZIP codes (centroids from the zipcodes package) → (town, the demo's county for it).
PLACES = {
    "40502": ("Lexington", HOME_COUNTY),
    "40503": ("Lexington", HOME_COUNTY),
    "40504": ("Lexington", HOME_COUNTY),
    "40505": ("Lexington", HOME_COUNTY),
    "40507": ("Lexington", HOME_COUNTY),
    "40508": ("Lexington", HOME_COUNTY),
    "40509": ("Lexington", HOME_COUNTY),
    "40510": ("Lexington", HOME_COUNTY),
    "40511": ("Lexington", HOME_COUNTY),
    "40513": ("Lexington", HOME_COUNTY),
    "40514": ("Lexington", HOME_COUNTY),
    "40515": ("Lexington", HOME_COUNTY),
    "40516": ("Lexington", HOME_COUNTY),
    "40517": ("Lexington", HOME_COUNTY),
    "40324": ("Georgetown", "Elk Run County"),
    "40356": ("Nicholasville", "Cedar Hollow County"),
    "40383": ("Versailles", "Cedar Hollow County"),
    "40391": ("Winchester", "Mill Creek County"),
    "40361": ("Paris", "Mill Creek County"),
    "40475": ("Richmond", "Stone Valley County"),
    "40403": ("Berea", "Stone Valley County"),
}
STREETS = (
    "Maple Ridge Road", "Harrodsburg Pike", "Larkspur Avenue", "Old Mill Lane", "Clearwater Street",
    "Bellweather Drive", "Juniper Court", "Foxglove Way", "Winding Creek Road", "Sycamore Avenue",
    "Station Street", "Meadowlark Boulevard", "Bluestem Lane", "Cardinal Way", "Tobacco Barn Road",
)  # fmt: skip
WEEKDAYS = "MO,TU,WE,TH,FR"

# The demo region's organisations (``demo/region.py``) that have listings they keep themselves.
HOPE = "Hope Recovery Center"
RIVERSIDE = "Riverside Housing Alliance"
HEALTH_DEPT = "Lakeview County Health Department"
SECOND_WIND = "Second Wind Peer Recovery"
BRIGHT_FUTURES = "Bright Futures Family Network"
WOMENS_HEALTH = "Lakeview Women's Health"


@dataclass
class Svc:
    name: str
    needs: list[str]
    description: str
    zips: tuple[str, ...] = ()
    stale: bool = False
    status: str = ServiceStatus.ACTIVE
    fields: dict[str, Any] = field(default_factory=dict)
    hours: tuple[str, str, str] = (WEEKDAYS, "08:00", "17:00")


@dataclass
class Org:
    name: str
    description: str
    services: list[Svc]
    kinfold_org: str = ""  # the demo organisation the listing is linked to (its staff keep it)
    intake_name: str = ""
    intake_email: str = ""
    website: str = ""


N = Need
M = Moud
PREG = {"accepts_pregnant": True}
MEDICAID = {"accepts_medicaid": True}
ES = {"languages": ["en", "es"]}
EN = {"languages": ["en"]}
HOME = {"counties": [HOME_COUNTY]}


def _orgs() -> list[Org]:
    """The region's organisations and their services (hand-written where a story needs them, then the rest)."""
    orgs = [
        Org(
            HOPE,
            "An opioid treatment programme for adults, with a clinic for pregnant and parenting people.",
            [
                Svc(
                    "Hope Recovery Center — Pregnancy and Parenting MOUD Clinic",
                    [N.MOUD, N.SUD_TREATMENT],
                    "Buprenorphine and methadone for pregnant and postpartum people, with counselling, prenatal "
                    "care coordination and a peer recovery coach. Medication is continued through delivery and any "
                    "NICU stay, in partnership with St. Brigid Birthing Hospital.",
                    ("40508",),
                    fields={
                        **PREG,
                        **MEDICAID,
                        **ES,
                        "moud_buprenorphine": True,
                        "moud_methadone": True,
                        "moud_continued_in_hospital": True,
                        "postpartum_programme": True,
                        "parenting_programme": True,
                        "walk_in": True,
                        "wait_days": 2,
                        "transport_help": True,
                        "minimum_age": 16,
                    },
                    hours=(WEEKDAYS, "06:00", "14:00"),
                ),
                Svc(
                    "Hope Recovery Center — Intensive Outpatient Programme",
                    [N.SUD_TREATMENT],
                    "Nine hours a week of group and individual counselling for substance use, mornings or evenings.",
                    ("40508",),
                    fields={**PREG, **MEDICAID, **EN, "wait_days": 7, "minimum_age": 18},
                ),
            ],
            kinfold_org=HOPE,
            intake_name="Intake desk (Marisol Vega, intake coordinator)",
            intake_email="intake@hope-recovery.example",
            website="https://hope-recovery.example",
        ),
        Org(
            RIVERSIDE,
            "Housing help for families in Lakeview County: rapid rehousing, rent help and a family shelter.",
            [
                Svc(
                    "Riverside Family Rapid Rehousing",
                    [N.HOUSING],
                    "Short-term rent help and a housing navigator for families with children or a baby on the way "
                    "who are homeless or about to be. Families in recovery are welcome.",
                    ("40505",),
                    fields={**PREG, **HOME, **ES, "parenting_programme": True, "wait_days": 14},
                ),
                Svc(
                    "Riverside Family Shelter",
                    [N.HOUSING],
                    "Emergency shelter rooms for parents with children, together. Pregnant people welcome.",
                    ("40505",),
                    fields={**PREG, **HOME, **EN, "walk_in": True, "childcare_on_site": True, "wait_days": 0},
                    hours=("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),
                ),
            ],
            # Not linked: it has no accounts in Kinfold, so referrals reach it by a one-time link to its intake email.
            intake_name="Family intake line",
            intake_email="intake@riverside-housing.example",
            website="https://riverside-housing.example",
        ),
        Org(
            HEALTH_DEPT,
            "The county health department: home visiting, WIC and immunisations.",
            [
                Svc(
                    "Healthy Starts Home Visiting",
                    [N.HOME_VISITING, N.PARENTING_SUPPORT],
                    "A family support worker visits at home during pregnancy and until the child is three. "
                    "Enrol before 28 weeks of pregnancy.",
                    ("40504",),
                    fields={
                        **PREG,
                        **HOME,
                        **ES,
                        "enrol_before_week": 28,
                        "postpartum_programme": True,
                        "parenting_programme": True,
                        "wait_days": 10,
                    },
                ),
                Svc(
                    "First Steps Nurse Home Visiting",
                    [N.HOME_VISITING, N.PRENATAL_CARE],
                    "A registered nurse visits first-time mothers at home from pregnancy until the child's second "
                    "birthday. For a first pregnancy only, enrolling before 28 weeks.",
                    ("40504",),
                    fields={
                        **PREG,
                        **HOME,
                        **EN,
                        "first_pregnancy_only": True,
                        "enrol_before_week": 28,
                        "postpartum_programme": True,
                        "wait_days": 7,
                        "accepts_medicaid": True,
                    },
                ),
                Svc(
                    "Lakeview County WIC",
                    [N.FOOD],
                    "Healthy food, breastfeeding help and nutrition advice for pregnant and postpartum people and "
                    "children under five.",
                    ("40504", "40517"),
                    stale=True,
                    fields={**PREG, **HOME, **ES, "postpartum_programme": True, "walk_in": True, "wait_days": 3},
                ),
            ],
            kinfold_org=HEALTH_DEPT,
            intake_name="Maternal and child health intake",
            intake_email="mch-intake@lakeview-health.example",
        ),
        Org(
            SECOND_WIND,
            "Peer recovery coaches with lived experience of recovery.",
            [
                Svc(
                    "Second Wind Peer Recovery Coaching",
                    [N.PEER_SUPPORT],
                    "A peer recovery coach meets parents where they are, goes with them to appointments and court, "
                    "and stays through the first year after birth.",
                    ("40511",),
                    fields={**PREG, **ES, "postpartum_programme": True, "transport_help": True, "wait_days": 3},
                ),
                Svc(
                    "Moms in Recovery Support Group",
                    [N.PEER_SUPPORT, N.PARENTING_SUPPORT],
                    "A weekly peer-led group for pregnant and parenting people in recovery. Childcare provided.",
                    ("40511",),
                    fields={**PREG, **EN, "childcare_on_site": True, "walk_in": True, "postpartum_programme": True},
                    hours=("TH", "18:00", "19:30"),
                ),
            ],
            kinfold_org=SECOND_WIND,
            intake_name="Peer coach on call",
            intake_email="coaches@second-wind.example",
        ),
        Org(
            WOMENS_HEALTH,
            "Obstetric and gynaecological care, with group prenatal care.",
            [
                Svc(
                    "Lakeview Women's Health — Group Prenatal Care",
                    [N.PRENATAL_CARE],
                    "Prenatal care in a small group of people due around the same time, with a certified "
                    "nurse-midwife; substance use screening with a clear, written process.",
                    ("40503",),
                    fields={**PREG, **MEDICAID, **ES, "enrol_before_week": 20, "wait_days": 7},
                ),
            ],
            kinfold_org=WOMENS_HEALTH,
            intake_email="scheduling@lakeview-womens-health.example",
        ),
        Org(
            BRIGHT_FUTURES,
            "A family resource network: care coordination, parenting classes and help with basics.",
            [
                Svc(
                    "Bright Futures Parenting Circle",
                    [N.PARENTING_SUPPORT],
                    "Eight-week parenting classes for parents of babies and toddlers, in English and Spanish.",
                    ("40505",),
                    stale=True,
                    fields={**ES, "parenting_programme": True, "childcare_on_site": True, "transport_help": True},
                    hours=("TU", "17:30", "19:30"),
                ),
                Svc(
                    "Bright Futures Baby Pantry",
                    [N.FOOD, N.PARENTING_SUPPORT],
                    "Diapers, formula, wipes and baby clothes once a month for families in Lakeview County.",
                    ("40505",),
                    fields={**HOME, **ES, "walk_in": True, "wait_days": 0},
                ),
            ],
            kinfold_org=BRIGHT_FUTURES,
            intake_email="hello@bright-futures.example",
        ),
        # Treatment elsewhere in the region (no accounts in Kinfold: referrals reach their intake by email).
        Org(
            "Cardinal Valley Opioid Treatment Program",
            "A methadone clinic open early every day of the week.",
            [
                Svc(
                    "Cardinal Valley Methadone Clinic",
                    [N.MOUD, N.SUD_TREATMENT],
                    "Daily methadone dosing with counselling. Pregnant patients are seen the same day and keep "
                    "their dose through delivery.",
                    ("40504",),
                    fields={
                        **PREG,
                        **MEDICAID,
                        **ES,
                        "moud_methadone": True,
                        "moud_buprenorphine": True,
                        "moud_continued_in_hospital": True,
                        "walk_in": True,
                        "wait_days": 1,
                    },
                    hours=("MO,TU,WE,TH,FR,SA,SU", "05:30", "11:30"),
                )
            ],
            intake_email="intake@cardinal-valley-otp.example",
        ),
        Org(
            "Bluegrass Bridge Clinic",
            "Office-based addiction treatment in primary care.",
            [
                Svc(
                    "Bluegrass Bridge Buprenorphine Clinic",
                    [N.MOUD],
                    "Buprenorphine (Suboxone) prescribed by primary care doctors, with a nurse care manager. "
                    "Pregnant patients welcome; we coordinate with your prenatal care.",
                    ("40517",),
                    fields={**PREG, **MEDICAID, **EN, "moud_buprenorphine": True, "wait_days": 5},
                ),
                Svc(
                    "Bluegrass Bridge Naltrexone Programme",
                    [N.MOUD, N.SUD_TREATMENT],
                    "Monthly injectable naltrexone for opioid or alcohol use disorder.",
                    ("40517",),
                    fields={**MEDICAID, **EN, "moud_naltrexone": True, "wait_days": 10},
                ),
            ],
            intake_email="care@bluegrass-bridge.example",
        ),
        Org(
            "Stone Valley Recovery",
            "Treatment for substance use in Richmond and Berea.",
            [
                Svc(
                    "Stone Valley Buprenorphine Programme",
                    [N.MOUD],
                    "Buprenorphine treatment with weekly counselling.",
                    ("40475",),
                    fields={
                        **MEDICAID,
                        **EN,
                        "moud_buprenorphine": True,
                        "wait_days": 14,
                        "counties": ["Stone Valley County"],
                    },
                ),
                Svc(
                    "Stone Valley Opioid Treatment Program",
                    [N.MOUD],
                    "Methadone and buprenorphine, with take-home doses as treatment goes on.",
                    ("40403",),
                    status=ServiceStatus.TEMPORARILY_CLOSED,
                    fields={
                        **PREG,
                        **MEDICAID,
                        **EN,
                        "moud_methadone": True,
                        "moud_buprenorphine": True,
                        "capacity_note": "Closed for renovation; patients are dosed at Cardinal Valley.",
                    },
                ),
            ],
            intake_email="intake@stone-valley-recovery.example",
        ),
        Org(
            "New Roots Family Recovery Home",
            "Residential treatment where mothers live with their children.",
            [
                Svc(
                    "New Roots Residential Treatment for Mothers and Children",
                    [N.SUD_TREATMENT, N.MOUD, N.HOUSING],
                    "Residential treatment for pregnant women and mothers, with up to two children under ten living "
                    "with them. MOUD is continued on site.",
                    ("40356",),
                    fields={
                        **PREG,
                        **MEDICAID,
                        **ES,
                        "residential_with_children": True,
                        "childcare_on_site": True,
                        "moud_buprenorphine": True,
                        "moud_methadone": True,
                        "moud_continued_in_hospital": True,
                        "postpartum_programme": True,
                        "parenting_programme": True,
                        "wait_days": 21,
                        "minimum_age": 18,
                    },
                ),
            ],
            intake_email="admissions@new-roots.example",
        ),
        Org(
            "Harbor House Women's Residential",
            "Residential substance use treatment for women.",
            [
                Svc(
                    "Harbor House 28-Day Residential Programme",
                    [N.SUD_TREATMENT],
                    "Four weeks of residential treatment for adult women. Children can visit at weekends.",
                    ("40324",),
                    stale=True,
                    fields={
                        **MEDICAID,
                        **EN,
                        "wait_days": 30,
                        "minimum_age": 18,
                        "accepting_new": False,
                        "capacity_note": "Waiting list full until next month.",
                    },
                ),
                Svc(
                    "Harbor House Mothers and Children Residence",
                    [N.SUD_TREATMENT, N.HOUSING],
                    "Long-term residential treatment; children up to five stay with their mother.",
                    ("40324",),
                    fields={
                        **PREG,
                        **MEDICAID,
                        **EN,
                        "residential_with_children": True,
                        "childcare_on_site": True,
                        "moud_buprenorphine": True,
                        "wait_days": 45,
                    },
                ),
            ],
            intake_email="admissions@harbor-house.example",
        ),
        Org(
            "Esperanza Perinatal Wellness",
            "Counselling in Spanish and English for pregnancy and the year after birth.",
            [
                Svc(
                    "Mamás Sanas — Perinatal Mental Health in Spanish",
                    [N.MENTAL_HEALTH],
                    "Terapia en español para la depresión y la ansiedad durante el embarazo y después del parto. "
                    "Counselling in Spanish for depression and anxiety in pregnancy and after birth.",
                    ("40511",),
                    fields={
                        **PREG,
                        **MEDICAID,
                        "languages": ["es", "en"],
                        "postpartum_programme": True,
                        "wait_days": 7,
                        "transport_help": True,
                    },
                ),
                Svc(
                    "Postpartum Support Group (bilingual)",
                    [N.MENTAL_HEALTH, N.PEER_SUPPORT],
                    "A weekly group for new parents feeling low, anxious or overwhelmed. Babies welcome.",
                    ("40511",),
                    fields={"languages": ["es", "en"], "postpartum_programme": True, "walk_in": True},
                    hours=("WE", "10:00", "11:30"),
                ),
            ],
            intake_email="citas@esperanza-wellness.example",
        ),
        Org(
            "Crossroads Behavioral Health",
            "The community mental health centre for the region.",
            [
                Svc(
                    "Crossroads Outpatient Counselling",
                    [N.MENTAL_HEALTH, N.SUD_TREATMENT],
                    "Individual and family counselling for mental health and substance use, for all ages.",
                    ("40509", "40391", "40475"),
                    fields={**MEDICAID, **EN, "wait_days": 21},
                ),
                Svc(
                    "Crossroads Crisis Walk-In Centre",
                    [N.MENTAL_HEALTH],
                    "Walk in any time for a mental health or substance use crisis.",
                    ("40509",),
                    fields={**PREG, **MEDICAID, **ES, "walk_in": True, "wait_days": 0},
                    hours=("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),
                ),
            ],
            intake_email="access@crossroads-bh.example",
        ),
        Org(
            "Safe Harbor Domestic Violence Program",
            "Safety, shelter and advocacy for people harmed by a partner.",
            [
                Svc(
                    "Safe Harbor Emergency Shelter",
                    [N.IPV_SERVICES, N.HOUSING],
                    "Confidential shelter for survivors of domestic violence and their children.",
                    (),
                    fields={**PREG, **ES, "walk_in": True, "childcare_on_site": True, "wait_days": 0},
                    hours=("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),
                ),
                Svc(
                    "Safe Harbor Court Advocacy",
                    [N.IPV_SERVICES, N.LEGAL_AID],
                    "An advocate helps with protective orders and goes to court with you.",
                    ("40507",),
                    fields={**ES, "wait_days": 2},
                ),
            ],
            intake_email="advocates@safe-harbor.example",
        ),
        Org(
            "Bluegrass Family Legal Aid",
            "Free civil legal help for people on low incomes.",
            [
                Svc(
                    "Family Legal Aid — Custody and Child Welfare Cases",
                    [N.LEGAL_AID],
                    "Lawyers for parents in custody, dependency and child welfare cases, and help with records.",
                    ("40507",),
                    fields={**EN, "wait_days": 14},
                ),
                Svc(
                    "Family Legal Aid — Housing and Eviction Help",
                    [N.LEGAL_AID, N.HOUSING],
                    "Help for tenants facing eviction or unsafe housing.",
                    ("40507",),
                    stale=True,
                    fields={**ES, "wait_days": 10},
                ),
            ],
            intake_email="apply@family-legal-aid.example",
        ),
        Org(
            "Lakeview Rides",
            "Transport to medical and treatment appointments.",
            [
                Svc(
                    "Lakeview Rides Medicaid Transport",
                    [N.TRANSPORT],
                    "Free rides to medical appointments, daily dosing and prenatal visits for Medicaid members. "
                    "Book two days ahead.",
                    (),
                    fields={**MEDICAID, **HOME, **ES, "transport_help": True, "wait_days": 2},
                ),
            ],
            intake_email="book@lakeview-rides.example",
        ),
        Org(
            "Little Acorns Early Learning",
            "Child care centres with places for infants.",
            [
                Svc(
                    "Little Acorns Infant and Toddler Care",
                    [N.CHILDCARE],
                    "Full-day care from six weeks old; child care assistance accepted.",
                    ("40502", "40515"),
                    fields={**EN, "wait_days": 60, "maximum_age": 5},
                ),
            ],
            intake_email="enrol@little-acorns.example",
        ),
    ]
    orgs.extend(_generated_orgs())
    return orgs


def _generated_orgs() -> list[Org]:
    """The rest of the region: pantries, child care, parenting classes, prenatal clinics, housing and treatment
    in each town, varied by a seeded random generator so the demo is the same every time."""
    rng = random.Random(SEED)
    towns = sorted({(town, county) for town, county in PLACES.values()})
    zips_of = {town: [z for z, (t, _c) in PLACES.items() if t == town] for town, _c in towns}
    orgs = []
    kinds: list[tuple[str, str, list[str], str, dict[str, Any]]] = [
        ("{town} Community Food Pantry", "Groceries once a week, no questions asked.", [N.FOOD],
         "Emergency food for families; bring a bag.", {"walk_in": True, "wait_days": 0}),
        ("{town} Prenatal Clinic", "Community health centre prenatal care.", [N.PRENATAL_CARE],
         "Prenatal visits, ultrasound referrals and help applying for Medicaid.",
         {**PREG, **MEDICAID, "wait_days": 10}),
        ("{town} Family Child Care Network", "Licensed home child care providers.", [N.CHILDCARE],
         "Home-based child care for babies and young children, evenings available.", {"wait_days": 30}),
        ("{town} Parents as Partners", "Parenting education.", [N.PARENTING_SUPPORT, N.HOME_VISITING],
         "Home visits and groups for parents of children under three.", {"parenting_programme": True}),
        ("{town} Housing Assistance Office", "Rent and utility help.", [N.HOUSING],
         "One-time rent and utility help for families behind on bills.", {"wait_days": 20}),
        ("{town} Recovery Services", "Outpatient treatment for substance use.", [N.SUD_TREATMENT, N.MOUD],
         "Outpatient counselling and buprenorphine treatment.", {**MEDICAID, "moud_buprenorphine": True}),
    ]  # fmt: skip
    for town, county in towns:
        for pattern, org_words, needs, words, fields in kinds:
            if rng.random() < 0.25:
                continue  # not every town has everything
            name = pattern.format(town=town)
            extra_fields = dict(fields)
            extra_fields["languages"] = ["en", "es"] if rng.random() < 0.4 else ["en"]
            extra_fields["counties"] = [county] if rng.random() < 0.5 else []
            if "wait_days" not in extra_fields and rng.random() < 0.6:
                extra_fields["wait_days"] = rng.choice((1, 3, 7, 14, 28))
            if N.MOUD in needs and rng.random() < 0.5:
                extra_fields["accepts_pregnant"] = True
            if rng.random() < 0.3:
                extra_fields["accepts_medicaid"] = True
            status = ServiceStatus.TEMPORARILY_CLOSED if rng.random() < 0.04 else ServiceStatus.ACTIVE
            svc = Svc(
                name,
                list(needs),
                words,
                (rng.choice(zips_of[town]),),
                stale=rng.random() < 0.15,
                status=status,
                fields=extra_fields,
            )
            orgs.append(Org(name.replace(" Office", ""), org_words, [svc], intake_email=_email_for(name)))
    return orgs


def _email_for(name: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"intake@{slug}.example"


def _slug(name: str) -> str:
    return _email_for(name).split("@")[1].removesuffix(".example")


def _point(zip_code: str, rng: random.Random) -> tuple[float, float]:
    from kinfold.directory.geo import zip_centroid

    lat, lon = zip_centroid(zip_code) or (38.0406, -84.5037)
    # Within about a mile of the ZIP code's centre, so the services of one ZIP code are not all on one spot.
    return round(lat + rng.uniform(-0.012, 0.012), 6), round(lon + rng.uniform(-0.015, 0.015), 6)


def _terms() -> dict[str, TaxonomyTerm]:
    terms = {}
    for need in Need:
        term, _ = TaxonomyTerm.objects.update_or_create(
            hsds_id=f"{PREFIX}-term-{need.value}",
            defaults={"code": need.value, "name": str(need.label), "taxonomy": "Kinfold needs"},
        )
        terms[need.value] = term
    return terms


@transaction.atomic
def load_demo_directory(*, today: date | None = None) -> int:
    """Create or update the demo directory; returns the number of services. Safe to run again."""
    today = today or clock.today()
    rng = random.Random(SEED)
    terms = _terms()
    linked = (HOPE, HEALTH_DEPT, SECOND_WIND, BRIGHT_FUTURES, WOMENS_HEALTH)
    kinfold_orgs = {o.name: o for o in Organization.objects.filter(name__in=linked)}
    count = 0
    phone_number = 100
    for org_spec in _orgs():
        slug = _slug(org_spec.name)
        phone_number += 1
        org_phone = f"859-555-{phone_number % 10000:04d}"
        directory_org, _ = DirectoryOrganization.objects.update_or_create(
            hsds_id=f"{PREFIX}-org-{slug}",
            defaults={
                "name": org_spec.name,
                "description": org_spec.description,
                "email": org_spec.intake_email,
                "website": org_spec.website,
                "organization": kinfold_orgs.get(org_spec.kinfold_org) if org_spec.kinfold_org else None,
                "intake_contact_name": org_spec.intake_name,
                "intake_email": org_spec.intake_email,
                "source": SOURCE,
                "extra": {"phones": [{"number": org_phone, "type": "voice", "description": "main line"}]},
            },
        )
        for n, spec in enumerate(org_spec.services, start=1):
            count += 1
            service_key = f"{PREFIX}-svc-{slug}-{n}"
            if spec.stale:
                assured = today - timedelta(days=rng.randint(200, 420))
            else:
                assured = today - timedelta(days=rng.randint(3, 150))
            fields = {
                "accepting_new": True,
                **spec.fields,
            }
            days, opens, closes = spec.hours
            values: dict[str, Any] = {
                "organization": directory_org,
                "name": spec.name,
                "description": spec.description,
                "status": spec.status,
                "assured_date": assured,
                "assurer_email": org_spec.intake_email,
                "needs": [str(x) for x in spec.needs],
                "email": org_spec.intake_email,
                "application_process": "Call or email the intake line; a coordinator can refer through Kinfold.",
                "extra": {
                    "phones": [
                        {
                            "number": f"859-555-{(phone_number * 7 + n) % 10000:04d}",
                            "type": "voice",
                            "description": "intake",
                        }
                    ],
                    "schedules": [{"byday": days, "opens_at": opens, "closes_at": closes, "freq": "WEEKLY"}],
                    "required_documents": [{"document": "Photo ID if you have one (not required to start)"}],
                },
                **fields,
            }
            for name in ("needs", "languages", "counties"):
                values[name] = [str(x) for x in values.get(name, [])]
            service, _ = Service.objects.update_or_create(hsds_id=service_key, defaults=values)
            service.taxonomy_terms.set([terms[x] for x in service.needs if x in terms])
            cities = []
            zips = spec.zips or ()
            for k, zip_code in enumerate(zips, start=1):
                town, county = PLACES[zip_code]
                cities.append(town)
                lat, lon = _point(zip_code, rng)
                street = f"{rng.randint(100, 2999)} {rng.choice(STREETS)}"
                location, _ = Location.objects.update_or_create(
                    hsds_id=f"{service_key}-loc-{k}",
                    defaults={
                        "organization": directory_org,
                        "name": f"{town} site" if len(zips) > 1 else "",
                        "address_1": street,
                        "city": town,
                        "county": county,
                        "state_province": "KY",
                        "postal_code": zip_code,
                        "latitude": lat,
                        "longitude": lon,
                    },
                )
                ServiceAtLocation.objects.update_or_create(
                    hsds_id=f"{service_key}-at-{k}", defaults={"service": service, "location": location}
                )
            service.search_text = compose_search_text(
                service,
                organization_name=directory_org.name,
                term_names=[terms[x].name for x in service.needs if x in terms],
                cities=cities,
            )
            service.save(update_fields=["search_text"])
    return count
