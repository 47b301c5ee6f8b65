"""The demo region: a synthetic county with named organisations and the people a newcomer signs in as.

``load_demo()`` creates it once (deterministic seed) and gives every named person a fresh random password,
kept in ``var/demo-logins.txt`` (readable by the owner only); later runs reprint the same logins. Every
person, family and organisation here is invented.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from kinfold.demo.pathways import load_demo_pathways
from kinfold.demo.referrals import load_demo_referrals
from kinfold.demo.screenings import load_demo_screenings
from kinfold.demo.synthetic import NamedOrganization, NamedStaff, RegionSummary, generate_region
from kinfold.directory.demo import load_demo_directory
from kinfold.organizations.models import OrganizationType as OT
from kinfold.organizations.models import Role

DEMO_SEED = 2026
DEMO_FAMILIES = 400

ORGANIZATIONS = (
    NamedOrganization("Bright Futures Family Network", OT.COMMUNITY),
    NamedOrganization("Lakeview County Child Protective Services", OT.CHILD_WELFARE),
    NamedOrganization("Hope Recovery Center", OT.OPIOID_TREATMENT),
    NamedOrganization("Lakeview Women's Health", OT.OBSTETRIC),
    NamedOrganization("St. Brigid Birthing Hospital", OT.HOSPITAL),
    NamedOrganization("Lakeview Family Treatment Court", OT.COURT),
    NamedOrganization("Second Wind Peer Recovery", OT.PEER_RECOVERY),
    NamedOrganization("Lakeview County Health Department", OT.HEALTH_DEPARTMENT),
    NamedOrganization("Riverside Housing Alliance", OT.COMMUNITY, in_pool=False),
)

STAFF = (
    NamedStaff(
        "ana.rivera",
        "Ana",
        "Rivera",
        "Bright Futures Family Network",
        Role.CARE_COORDINATOR,
        "Care coordinator",
        families=60,
        coordinates=60,
    ),
    NamedStaff(
        "carl.jensen",
        "Carl",
        "Jensen",
        "Lakeview County Child Protective Services",
        Role.CPS_CASEWORKER,
        "Ongoing caseworker",
        families=14,
        among="ana.rivera",
    ),
    NamedStaff(
        "maya.chen",
        "Maya",
        "Chen",
        "Hope Recovery Center",
        Role.MOUD_PRESCRIBER,
        "Nurse practitioner, substance use treatment",
        families=18,
        among="ana.rivera",
    ),
    NamedStaff(
        "rosa.delgado",
        "Rosa",
        "Delgado",
        "Hope Recovery Center",
        Role.SUD_COUNSELOR,
        "Licensed counsellor",
        families=16,
        among="ana.rivera",
    ),
    NamedStaff(
        "grace.okafor",
        "Grace",
        "Okafor",
        "Lakeview Women's Health",
        Role.OB_CLINICIAN,
        "Certified nurse-midwife",
        families=15,
        among="ana.rivera",
    ),
    NamedStaff(
        "dev.patel",
        "Dev",
        "Patel",
        "Lakeview Family Treatment Court",
        Role.COURT_COORDINATOR,
        "Family treatment court coordinator",
        families=8,
        among="ana.rivera",
    ),
    NamedStaff(
        "jo.martin",
        "Jo",
        "Martin",
        "Second Wind Peer Recovery",
        Role.PEER_RECOVERY_COACH,
        "Peer recovery coach",
        families=12,
        among="ana.rivera",
    ),
    NamedStaff("priya.shah", "Priya", "Shah", "Hope Recovery Center", Role.PRIVACY_OFFICER, "Privacy officer"),
    NamedStaff(
        "lena.brooks",
        "Lena",
        "Brooks",
        "Lakeview County Health Department",
        Role.PROGRAMME_LEAD,
        "Perinatal programme lead",
    ),
    NamedStaff(
        "tess.morgan",
        "Tess",
        "Morgan",
        "Bright Futures Family Network",
        Role.PROGRAMME_LEAD,
        "Programme director",
    ),
    NamedStaff("sam.ortiz", "Sam", "Ortiz", "Riverside Housing Alliance", Role.CARE_COORDINATOR, "Housing navigator"),
    NamedStaff(
        "nia.grant",
        "Nia",
        "Grant",
        "Lakeview County Child Protective Services",
        Role.FAMILY_MENTOR,
        "START family mentor",
        families=8,
        among="carl.jensen",
    ),
    NamedStaff(
        "omar.haddad",
        "Omar",
        "Haddad",
        "Lakeview County Child Protective Services",
        Role.CPS_SUPERVISOR,
        "CPS supervisor",
    ),
    NamedStaff(
        "hana.sato",
        "Hana",
        "Sato",
        "St. Brigid Birthing Hospital",
        Role.SOCIAL_WORKER,
        "Hospital social worker",
        families=6,
        among="grace.okafor",
    ),
)

WHO = {
    "ana.rivera": "care coordinator: My caseload of 60 families; builds teams, records consents",
    "carl.jensen": "CPS caseworker: sees only what consents allow (never treatment records by role)",
    "maya.chen": "MOUD prescriber at a Part 2 programme; may declare a medical emergency",
    "rosa.delgado": "SUD counsellor at a Part 2 programme",
    "grace.okafor": "OB clinician (certified nurse-midwife)",
    "dev.patel": "family treatment court coordinator",
    "jo.martin": "peer recovery coach",
    "priya.shah": "privacy officer at Hope Recovery Center",
    "lena.brooks": "programme lead: organisations in the region and their staff",
    "tess.morgan": "programme lead at Bright Futures: Staff (invite, change roles, hand over, close accounts)",
    "sam.ortiz": "housing navigator: answers the referrals sent to Riverside Housing Alliance (Referrals)",
    "nia.grant": "START family mentor, paired with Carl Jensen: My steps (visits due and overdue)",
    "omar.haddad": "CPS supervisor: My steps, the agency's overdue steps",
    "hana.sato": "hospital social worker: Plans of Safe Care before discharge",
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    who: str


def logins_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-logins.txt"


def demo_loaded() -> bool:
    return get_user_model()._default_manager.filter(username=STAFF[0].username).exists()


def read_logins() -> list[DemoLogin]:
    path = logins_path()
    if not path.exists():
        return []
    logins = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            logins.append(DemoLogin(*parts))
    return logins


def _write_logins(logins: list[DemoLogin]) -> None:
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("".join(f"{x.username}\t{x.password}\t{x.who}\n" for x in logins), encoding="utf-8")


def reset_passwords() -> list[DemoLogin]:
    """Give every demo person a new random password (the demo generates its own secrets)."""
    users = get_user_model()._default_manager
    logins = []
    for person in STAFF:
        password = secrets.token_urlsafe(9)
        user = users.get(username=person.username)
        user.set_password(password)
        user.save(update_fields=["password"])
        logins.append(DemoLogin(person.username, password, WHO[person.username]))
    _write_logins(logins)
    return logins


@transaction.atomic
def load_demo(*, families: int = DEMO_FAMILIES, seed: int = DEMO_SEED) -> RegionSummary:
    summary = generate_region(
        families=families, seed=seed, region="Lakeview County", organizations=ORGANIZATIONS, staff=STAFF
    )
    load_demo_directory()
    load_demo_referrals()
    load_demo_screenings()
    load_demo_pathways()
    reset_passwords()
    return summary
