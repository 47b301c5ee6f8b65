"""The canary (issues 10 and 12): generated worlds, a unique marker in every record, every route of the site and the
API.

Hypothesis builds a small world through the services (so the rules that refuse a write are exercised while
the world is made): a community organisation that creates the family, a Part 2 opioid treatment programme, a
CPS agency, a family treatment court, an obstetric clinic, an unrelated organisation and a pantry without
accounts; staff with roles (care coordinator, front desk, privacy officers, SUD counsellor, the programme's
intake nurse, CPS caseworker, court coordinator, OB clinician, and sometimes billing, a judge, an inactive
account, a superuser); a parent, her legal
representative, another family member, a delivered pregnancy with its infant(s) and perhaps an ongoing one;
care-team places (some since left, the coordinator role perhaps handed over); notes of several kinds by
several organisations; consents (naming disclosers and recipients by name, by class or by person, some signed
by her representative, some with a new version, some revoked, ended by their event or expired); a court order
recorded by a privacy officer (perhaps with its 2.64(d) findings recorded later); restriction requests
(requested, agreed, refused, ended by her or by the organisation); perhaps an emergency declared by a
clinician (still open, or long closed); one or two referrals (to the programme, listed in the service directory
with its accounts, or to the pantry, listed without any), most under a consent made for them and the rest kept
as drafts (``NotSent``), then answered: the programme in Kinfold (accepted by its intake nurse or another who
may, declined, started, put on hold, completed or failed), the pantry from a one-time link, or cancelled by the
referring side; pathway records (issue 14, ``tests/canary_pathways.py``): a CPS report date, a START enrolment by
the CPS caseworker with a step done, a shared decision-making record, a Plan of Safe Care by the OB clinician with
its needs (perhaps agreed, then closed). The world's past is written with the clock moved back (60 and 20 days),
not by editing rows. Only organisations, accounts, memberships and the service directory's listings are made with
the ORM: they are the directory, which no service of a family writes.

Every record carries a unique marker (``Mk000123x``) in its words: names, descriptions, summaries and bodies,
titles, order references, restriction descriptions, reasons, a referral's reason and hand-off note, each
answer's words (a closing answer's words are also the referral's outcome: they are judged as the answer, the
receiving organisation's record). Her county is the parent's second marker (the directory's "fits this family"
says where she lives). A pregnancy has no words of its own, so its due date, as the pages render dates, is its
marker. What a referral sent (``sent_items``: copies of her name and contact, her pregnancy, notes) repeats their
markers: the receiving organisation's staff who may read the referral may see those copies (ruling 5: they
were disclosed to it when it was sent). Without a marker of their own: the family and its care team
(their only words are the parent's name), care-team places (their only words are staff names: directory data,
shown wherever a colleague is named), timeline lines (Kinfold's own sentences, which repeat the markers of
the records they tell about and are checked through those), and a pathway enrolment, its steps without a note and
a Plan of Safe Care not closed (pathway titles, staff names and computed dates: judged through the step note, the
needs and the parent's name their pages show; see ``tests/canary_pathways.py``).

Then, for every staff member of the world and every route discovered from the URL configuration (pages,
forms, choice lists, exports and the API; only the admin site and signing in and out are skipped, see
``SKIPPED``), plainly and with ``?purpose=`` (the example's two purposes, taken in turn by its viewers), and
with the family and service ids of ``FAMILY_QUERIES`` (the directory's "fits this family", the referral form):

(a) **GET**: no response (nor the flash message it leaves for the next page) contains the marker of a record
    that ``access.rules.decide`` denies her, for her role's default purpose and for the purpose the request
    states; a 404 contains no marker at all, nor does a 403 (except the refusals in
    ``REFUSALS_SHOWING_THE_RECORD``, which show the record she asked about and may read); and reading changes
    no family record.
(b) **POST** (every form under ``/families/<id>/…`` or ``/referrals/``, see ``PLANS``): when the policy denies an
    interaction the form needs (create, change, retire; for break-the-glass, that she is a clinician), posting a
    plausible form changes no family record nor one-time link (audit and accounting rows may grow), and its
    answer shows no marker she may not read. The same form posted by a viewer the policy permits is reported as a
    Hypothesis event, so a plan whose form never writes would show in ``--hypothesis-show-statistics``.
(c) **One-time links** (``BEARER_ROUTES``, whose authority is a token, not the viewer): a link that works shows
    what was sent with its referral and nothing else, to anyone who holds it (nobody signed in, and every
    viewer); an altered, unknown or spent link shows no marker, and an answer posted to it changes nothing; an
    answer posted twice from a link that works is taken once.

A route whose path parameters the canary cannot fill, a form under a family or a referral it has no plan for, or
an API path that writes, fails ``test_the_canary_covers_every_route_of_the_site_and_the_api`` by name: a new
route is covered the day it is added.

Each example is built in a savepoint that is rolled back (as in ``test_policy_properties``); so is each post.
"""

from __future__ import annotations

import calendar
import functools
import itertools
import json
import logging
import os
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import Http404, HttpRequest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from kinfold import clock
from kinfold.access.facts import PolicyContext
from kinfold.access.registry import new_facts, registered
from kinfold.access.rules import Decision, decide
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, Purpose, role_access
from kinfold.api.routes import api
from kinfold.consent import services as consent_services
from kinfold.consent.access_forms import start_of_day
from kinfold.consent.models import (
    ConsentDirective,
    ConsentVersion,
    CourtOrder,
    EmergencyAccess,
    Restriction,
)
from kinfold.directory.models import DirectoryOrganization, Service
from kinfold.directory.models import Need as FamilyNeed
from kinfold.families import services as family_services
from kinfold.families.models import (
    CareTeamMember,
    Family,
    FamilyRelationship,
    Person,
    PregnancyEpisode,
    Sensitivity,
)
from kinfold.families.services import ConcurrentEditError
from kinfold.notes import services as note_services
from kinfold.notes.models import NOTE_CATEGORY, Note, NoteKind
from kinfold.organizations.models import HEALTH_CARE_PROVIDER_TYPES, Membership, Organization, OrganizationType, Role
from kinfold.referrals import links as referral_links
from kinfold.referrals import services as referral_services
from kinfold.referrals.models import OPEN_STATUSES, Referral, ReferralEvent, ReferralLink, ReferralStatus
from kinfold.screening.models import SafetyAlert, ScreeningResponse
from tests import canary_pathways
from tests.factories import make_family

pytestmark = pytest.mark.django_db

PURPOSES = list(Purpose.values)

# --- the organisations and staff every world has (and the ones some worlds add) ------------------------

ORGS: dict[str, tuple[str, bool]] = {
    "community": (OrganizationType.COMMUNITY, False),  # creates the family; its coordinator coordinates
    "otp": (OrganizationType.OPIOID_TREATMENT, True),  # a Part 2 programme
    "cps": (OrganizationType.CHILD_WELFARE, False),
    "court": (OrganizationType.COURT, False),
    "ob": (OrganizationType.OBSTETRIC, False),
    "unrelated": (OrganizationType.COMMUNITY, False),  # never on her team: makes the decoy family
    "pantry": (OrganizationType.COMMUNITY, False),  # listed in the directory, no accounts: answers from a link
}

# key: (organisation, role, status)
STAFF: dict[str, tuple[str, str, str]] = {
    "coord": ("community", Role.CARE_COORDINATOR, "active"),
    "front": ("community", Role.FRONT_DESK, "active"),
    "cpo": ("community", Role.PRIVACY_OFFICER, "active"),
    "counsellor": ("otp", Role.SUD_COUNSELOR, "active"),
    "otp_po": ("otp", Role.PRIVACY_OFFICER, "active"),
    "cps": ("cps", Role.CPS_CASEWORKER, "active"),
    "court": ("court", Role.COURT_COORDINATOR, "active"),
    "ob": ("ob", Role.OB_CLINICIAN, "active"),
    "outsider": ("unrelated", Role.CARE_COORDINATOR, "active"),
    # The programme's intake nurse (an intake role): never on her team, she reaches the family only while she
    # handles an open referral to her programme.
    "intake": ("otp", Role.NURSE, "active"),
}
OPTIONAL_STAFF: dict[str, tuple[str, str, str]] = {
    "otp_front": ("otp", Role.FRONT_DESK, "active"),
    "billing": ("otp", Role.BILLING, "active"),
    "cps_po": ("cps", Role.PRIVACY_OFFICER, "active"),
    "judge": ("court", Role.JUDGE, "active"),
    "ob_front": ("ob", Role.FRONT_DESK, "active"),
    "inactive": ("cps", Role.CPS_CASEWORKER, "inactive"),  # rule 0
    "root": ("community", Role.CARE_COORDINATOR, "superuser"),  # rule 0
    # The Part 2 programme's lead manages its staff (rule H): her staff pages name places, never records.
    "lead": ("otp", Role.PROGRAMME_LEAD, "active"),
}
ALL_STAFF = {**STAFF, **OPTIONAL_STAFF}
# Who may join her team (the coordinator is on it from the start; the outsider and rule-0 accounts never).
JOINERS = ["front", "cpo", "counsellor", "otp_po", "cps", "court", "ob", "otp_front", "billing", "cps_po", "judge"]
CLASSES = ["care_team", "treating_providers", "part2_programs", "child_welfare", "courts", "community_supports"]
CONSENTABLE = ["treatment", "payment", "operations", "care_coordination", "child_welfare_case", "research"]
CATEGORIES = list(Sensitivity.values)
# When a service refuses the drawn actor, the world asks these in turn (so the world still gets its record).
FALLBACK = ["coord", "cpo", "front", "ob", "counsellor", "cps", "court", "otp_po"]


def note_kinds_for(key: str) -> list[str]:
    """The kinds of note a staff member could write: categories her role reads, SUD treatment only at a
    health-care provider (the services refuse the rest, which the world would merely lose)."""
    org, role, _ = ALL_STAFF[key]
    access = role_access(role)
    assert access is not None
    provider = ORGS[org][0] in HEALTH_CARE_PROVIDER_TYPES
    return [
        k.value
        for k in NoteKind
        if NOTE_CATEGORY[k] in access.categories and (NOTE_CATEGORY[k] != Sensitivity.SUD_TREATMENT or provider)
    ]


# --- what a generated world is -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentSpec:
    recorder: str
    phase: int  # 0: 60 days ago, 1: 20 days ago (a dated end then falls 5 days ago: expired), 2: now
    discloser_orgs: tuple[str, ...]
    discloser_classes: tuple[str, ...]
    recipient_orgs: tuple[str, ...]
    recipient_people: tuple[str, ...]
    recipient_classes: tuple[str, ...]
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    by_event: bool
    described: bool  # its marker also in the purpose description, which its summary sentence repeats
    by_representative: bool
    fate: str  # kept, new_version, revoked, ended


@dataclass(frozen=True)
class OrderSpec:
    recorder: str
    categories: tuple[str, ...]
    window: str  # current, past, future
    findings: bool
    findings_later: bool
    named: bool


@dataclass(frozen=True)
class RestrictionSpec:
    requester: str
    disclosing: str
    recipient_org: str | None
    recipient_person: str | None
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    fate: str  # requested, agreed, refused, ended_parent, ended_org


@dataclass(frozen=True)
class ReferralSpec:
    referrer: str
    to: str  # "otp": the Part 2 programme, answered in Kinfold; "pantry": no accounts, answers from a link
    need: str
    consent: int | None  # the index in ``WorldSpec.consents`` of the consent made for it, if any
    fate: str  # a key of ``REFERRAL_PATHS``
    answerer: str  # who at the programme answers first (the next of its staff who may, if she may not)


@dataclass(frozen=True)
class WorldSpec:
    optional: tuple[str, ...]
    team: tuple[str, ...]
    leavers: tuple[str, ...]
    leave_by_self: bool
    handover_to: str | None
    rep_by: str
    other_by: str | None
    pregnancy_by: str
    delivery_by: str
    twins: bool
    ongoing_by: str | None
    ongoing_days: int
    notes: tuple[tuple[str, str, int], ...]  # (author, kind, phase)
    consents: tuple[ConsentSpec, ...]
    order: OrderSpec | None
    restrictions: tuple[RestrictionSpec, ...]
    emergency: tuple[str, str] | None  # (clinician, "active" | "expired")
    purposes: tuple[str, ...]  # the purposes the pages are also asked for
    referrals: tuple[ReferralSpec, ...] = ()
    # Screenings (issue 13): (who gives it, instrument, critical?, who closes its alert or None)
    screenings: tuple[tuple[str, str, bool, str | None], ...] = ()
    # Pathways (issue 14): who writes the pathway records (``tests/canary_pathways.py``); None, none are written.
    pathways: canary_pathways.PathwaySpec | None = None


def _tuple(values: Any) -> tuple[str, ...]:
    return tuple(sorted(values))


@st.composite
def consents(draw: Any, staff: list[str], first: bool) -> ConsentSpec:
    org_keys = list(ORGS)
    if first:
        # The team-wide consent a family usually starts from, so there is something to take away.
        purposes = {"treatment", "care_coordination", "child_welfare_case"} | draw(
            st.sets(st.sampled_from(CONSENTABLE), max_size=2)
        )
        return ConsentSpec(
            recorder="coord",
            phase=0,
            discloser_orgs=(),
            discloser_classes=("care_team",),
            recipient_orgs=(),
            recipient_people=(),
            recipient_classes=("care_team",),
            purposes=_tuple(purposes),
            categories=_tuple({"contact"} | draw(st.sets(st.sampled_from(CATEGORIES), max_size=4))),
            by_event=False,
            described=draw(st.booleans()),
            by_representative=False,
            fate=draw(st.sampled_from(["kept", "kept", "kept", "revoked", "new_version"])),
        )
    court = draw(st.integers(0, 3)) == 0
    recipient_orgs = set(draw(st.sets(st.sampled_from(org_keys), max_size=2)))
    if court:
        purposes = {"court_proceeding"}
        recipient_orgs.add("court")  # a court consent stands alone and names the court
    else:
        purposes = set(
            draw(
                st.one_of(
                    st.just({"treatment", "payment", "operations"}),
                    st.sets(st.sampled_from(CONSENTABLE), min_size=1, max_size=3),
                )
            )
        )
    discloser_orgs = draw(st.sets(st.sampled_from(org_keys), max_size=2))
    discloser_classes = draw(st.sets(st.sampled_from(CLASSES), max_size=2, min_size=0 if discloser_orgs else 1))
    recipient_people = draw(st.sets(st.sampled_from(staff), max_size=2))
    recipient_classes = draw(
        st.sets(st.sampled_from(CLASSES), max_size=2, min_size=0 if (recipient_orgs or recipient_people) else 1)
    )
    phase = draw(st.sampled_from([0, 1, 2]))
    by_event = draw(st.booleans())
    return ConsentSpec(
        recorder=draw(st.sampled_from(staff)),
        phase=phase,
        discloser_orgs=_tuple(discloser_orgs),
        discloser_classes=_tuple(discloser_classes),
        recipient_orgs=_tuple(recipient_orgs),
        recipient_people=_tuple(recipient_people),
        recipient_classes=_tuple(recipient_classes),
        purposes=_tuple(purposes),
        categories=_tuple(draw(st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=4))),
        by_event=by_event,
        described=draw(st.booleans()),
        by_representative=draw(st.integers(0, 3)) == 0,
        fate=draw(st.sampled_from(["kept", "kept", "new_version", "revoked"] + (["ended"] if by_event else []))),
    )


# Referrals: who makes them (the services refuse a role that may not read what it would make: the next may),
# what for, and how far each loop gets. The programme's answers are made in Kinfold; the pantry's from a link.
REFERRERS = ["coord", "coord", "ob", "cps"]
REFERRAL_NEEDS = {
    "otp": [FamilyNeed.MOUD, FamilyNeed.MOUD, FamilyNeed.SUD_TREATMENT, FamilyNeed.MENTAL_HEALTH],
    "pantry": [FamilyNeed.FOOD, FamilyNeed.HOUSING, FamilyNeed.TRANSPORT],
}
S = ReferralStatus
# Each fate's changes, in turn (the last by the referring side when it is a cancellation).
REFERRAL_PATHS: dict[str, list[str]] = {
    "requested": [],
    "accepted": [S.ACCEPTED],
    "rejected": [S.REJECTED],
    "on_hold": [S.ACCEPTED, S.ON_HOLD],
    "in_progress": [S.ACCEPTED, S.IN_PROGRESS],
    "completed": [S.ACCEPTED, S.IN_PROGRESS, S.COMPLETED],
    "failed": [S.ACCEPTED, S.FAILED],
    "cancelled": [S.CANCELLED],
}
REFERRAL_REASONS: dict[str, str] = {
    S.REJECTED: "no_capacity",
    S.FAILED: "could_not_reach",
    S.COMPLETED: "service_delivered",
    S.CANCELLED: "no_longer_needed",
    S.ON_HOLD: "waiting_list",
}
LINK_ACTIONS: dict[str, str] = {status: action for action, status in referral_links.ACTION_STATUS.items()}
# Who at the programme may answer, in the order the world asks them.
OTP_STAFF = ["intake", "counsellor", "otp_front", "otp_po", "billing"]


def referral_terms(referrer: str, to: str, need: str) -> referral_services.Terms:
    """What a referral from ``referrer``'s organisation to ``to`` for ``need`` is (unsaved organisations: the
    services' own rule, read without the database)."""
    org_type, part2 = ORGS[to]
    referring = Organization(type=ORGS[ALL_STAFF[referrer][0]][0])
    return referral_services.terms_for(
        need, referring_org=referring, receiving_org=Organization(type=org_type, is_part2_program=part2)
    )


@st.composite
def referral_consents(draw: Any, referrer: str, to: str, need: str) -> ConsentSpec:
    """The consent a referral is sent under: the referral's maker (and the parent's record's, the community
    organisation) to the receiving organisation, for the referral's purpose and category; most name contact
    too (without it nothing is sent); some let the programme answer back."""
    terms = referral_terms(referrer, to, need)
    back = to == "otp" and draw(st.booleans())
    referring = ALL_STAFF[referrer][0]
    return ConsentSpec(
        recorder=referrer,
        phase=draw(st.sampled_from([0, 2, 2, 1])),
        discloser_orgs=_tuple({referring, "community"} | ({"otp"} if back else set())),
        discloser_classes=(),
        recipient_orgs=_tuple({to} | ({referring} if back else set())),
        recipient_people=(),
        recipient_classes=(),
        # Payment and operations reach the programme's billing and quality staff, who never handle the referral.
        purposes=_tuple(
            {terms.purpose} | draw(st.sets(st.sampled_from(["payment", "operations", *CONSENTABLE]), max_size=1))
        ),
        categories=_tuple(
            {terms.category}
            | ({"contact"} if draw(st.integers(0, 4)) else set())
            | draw(st.sets(st.sampled_from(CATEGORIES), max_size=1))
        ),
        by_event=False,
        described=draw(st.booleans()),
        by_representative=False,
        fate=draw(st.sampled_from(["kept", "kept", "kept", "revoked", "new_version"])),
    )


@st.composite
def worlds(draw: Any) -> WorldSpec:
    optional = _tuple(draw(st.sets(st.sampled_from(sorted(OPTIONAL_STAFF)), max_size=3)))
    present = [*STAFF, *optional]
    active = [k for k in present if ALL_STAFF[k][2] == "active" and k != "outsider"]
    joiners = [k for k in JOINERS if k in present]
    team = _tuple(draw(st.sets(st.sampled_from(joiners), max_size=6)))
    leavers = _tuple(draw(st.sets(st.sampled_from(team), max_size=2))) if team else ()
    staying = [k for k in team if k not in leavers]
    notes = []
    for _ in range(draw(st.integers(1, 6))):
        author = draw(st.sampled_from(active))
        kinds = note_kinds_for(author)
        if kinds:
            notes.append((author, draw(st.sampled_from(kinds)), draw(st.sampled_from([0, 1, 2]))))
    privacy_officers = [k for k in ("cpo", "otp_po", "cps_po") if k in present]
    order = None
    if draw(st.integers(0, 3)):
        order = OrderSpec(
            recorder=draw(st.sampled_from(privacy_officers)),
            categories=_tuple(draw(st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=4)) | {"contact"}),
            window=draw(st.sampled_from(["current", "current", "past", "future"])),
            findings=draw(st.booleans()),
            findings_later=draw(st.booleans()),
            named=draw(st.booleans()),
        )
    restrictions = []
    for _ in range(draw(st.integers(0, 2))):
        to_person = draw(st.booleans())
        disclosing = draw(st.sampled_from(["otp", "community", "ob", "cps"]))
        restrictions.append(
            RestrictionSpec(
                requester=draw(st.sampled_from(active)),
                disclosing=disclosing,
                recipient_org=None if to_person else draw(st.sampled_from([o for o in ORGS if o != disclosing])),
                recipient_person=draw(st.sampled_from(active)) if to_person else None,
                categories=_tuple(draw(st.sets(st.sampled_from(CATEGORIES), max_size=2))),
                purposes=_tuple(draw(st.sets(st.sampled_from(CONSENTABLE), max_size=2))),
                fate=draw(st.sampled_from(["requested", "agreed", "agreed", "refused", "ended_parent", "ended_org"])),
            )
        )
    emergency = None
    if draw(st.booleans()):
        emergency = (draw(st.sampled_from(["ob", "counsellor"])), draw(st.sampled_from(["active", "expired"])))
    team_wide = draw(consents(active, first=True))
    referrals, referral_consent_specs = [], []
    for _ in range(draw(st.integers(1, 2))):
        to = draw(st.sampled_from(["otp", "otp", "pantry"]))
        referrer = draw(st.sampled_from(REFERRERS))
        need = draw(st.sampled_from(REFERRAL_NEEDS[to]))
        consent = None
        if draw(st.integers(0, 3)):  # most under a consent made for them; the rest stay drafts
            referral_consent_specs.append(draw(referral_consents(referrer, to, need)))
            consent = len(referral_consent_specs) - 1
        referrals.append(
            ReferralSpec(
                referrer=referrer,
                to=to,
                need=need,
                consent=consent,
                fate=draw(st.sampled_from(sorted(REFERRAL_PATHS))),
                answerer=draw(st.sampled_from(["intake", "intake", "counsellor", "otp_front"])),
            )
        )
    # At most three consents in all: each adds its pages for every viewer.
    others = [draw(consents(active, first=False)) for _ in range(draw(st.integers(0, 2 - len(referral_consent_specs))))]
    referrals = [replace(r, consent=None if r.consent is None else 1 + len(others) + r.consent) for r in referrals]
    screenings = tuple(
        (
            draw(st.sampled_from(["coord", "counsellor", "ob", "cps"])),
            draw(st.sampled_from(["phq9", "audit_c", "ahc_hrsn"])),
            draw(st.booleans()),
            draw(st.none() | st.sampled_from(["coord", "counsellor", "ob"])),
        )
        for _ in range(draw(st.integers(0, 1)))  # one at most: each adds its pages for every viewer
    )
    return WorldSpec(
        optional=optional,
        team=team,
        leavers=leavers,
        leave_by_self=draw(st.booleans()),
        handover_to=draw(st.none() | st.sampled_from(staying)) if staying else None,
        rep_by=draw(st.sampled_from(["coord", "front", "cpo", "cps", "ob"])),
        other_by=draw(st.none() | st.sampled_from(active)),
        pregnancy_by=draw(st.sampled_from(["coord", "ob", "front"])),
        delivery_by=draw(st.sampled_from(["ob", "coord", "counsellor"])),
        twins=draw(st.integers(0, 4)) == 0,
        ongoing_by=draw(st.none() | st.sampled_from(["coord", "ob", "cps"])),
        ongoing_days=draw(st.integers(100, 190)),
        notes=tuple(notes),
        consents=(team_wide, *others, *referral_consent_specs),
        order=order,
        restrictions=tuple(restrictions),
        emergency=emergency,
        purposes=_tuple(draw(st.sets(st.sampled_from(PURPOSES), min_size=2, max_size=2))),
        referrals=tuple(referrals),
        screenings=screenings,
        pathways=draw(canary_pathways.pathway_specs()),
    )


def tell(what: str) -> None:
    """A Hypothesis event (shown with --hypothesis-show-statistics), when run by Hypothesis."""
    try:
        current_build_context()
    except Exception:
        return
    event(what)


# --- markers -------------------------------------------------------------------------------------------

_numbers = itertools.count(1)


def new_marker() -> str:
    """A string found nowhere else: ``Mk`` and six digits, closed by ``x`` so no marker contains another."""
    return f"Mk{next(_numbers):06d}x"


MONTHS = tuple(calendar.month_name)[1:]  # "January" … "December", as the pages render a date


def date_texts(day: date) -> tuple[str, ...]:
    """A date as the pages render it: ``15 April 2027`` (``j F Y``), ``April 15, 2027`` and ISO (forms, JSON)."""
    month = MONTHS[day.month - 1]
    return (f"{day.day} {month} {day.year}", f"{month} {day.day}, {day.year}", day.isoformat())


@dataclass(eq=False)
class Marked:
    """One record's marker: the texts that reveal it, and the record the policy decides it by."""

    texts: tuple[str, ...]
    record: Any
    label: str
    # Other records whose content, by the settled rules, includes this one's words (a consent's signer is
    # one of its 2.31 elements, shown with the consent under rule C).
    carriers: list[Any] = field(default_factory=list)
    # Referrals that sent a copy of its words (ruling 5: a disclosure to the receiving organisation at the
    # instant of sending): that organisation's staff who may read the referral may see the copy.
    sent_with: list[Referral] = field(default_factory=list)
    only_user_id: int | None = None  # not a registered record type: shown only to this user (her emergency)


# --- the clock, moved back while the world's past is written -----------------------------------------------

_real_now = timezone.now


@contextmanager
def days_ago(days: int) -> Iterator[None]:
    """Every write (``clock.now``, ``auto_now``) happens ``days`` earlier, so the world has a past: a pregnancy
    delivered 20 days ago, a consent that expired 5 days ago, an emergency window long closed."""
    if not days:
        yield
        return
    shift = timedelta(days=days)
    with mock.patch.object(timezone, "now", lambda: _real_now() - shift):
        yield


# --- building a world through the services --------------------------------------------------------------


@dataclass
class World:
    spec: WorldSpec
    n: int
    orgs: dict[str, Organization]
    staff: dict[str, Membership]
    family: Family
    decoy: Family
    marked: list[Marked] = field(default_factory=list)
    pregnancies: list[PregnancyEpisode] = field(default_factory=list)
    directives: list[ConsentDirective] = field(default_factory=list)
    directive_of: dict[int, ConsentDirective] = field(default_factory=dict)  # by the index of its spec
    orders: list[CourtOrder] = field(default_factory=list)
    restrictions: list[Restriction] = field(default_factory=list)
    representative: Person | None = None
    services: dict[str, Service] = field(default_factory=dict)  # the directory's listings, by organisation
    referrals: list[Referral] = field(default_factory=list)
    decoy_referral: Referral | None = None
    tokens: list[str] = field(default_factory=list)  # the one-time links issued, as their tokens
    screenings: list[Any] = field(default_factory=list)  # screening.ScreeningResponse
    alerts: list[Any] = field(default_factory=list)  # screening.SafetyAlert
    lost: list[str] = field(default_factory=list)  # what no actor could write (Hypothesis events)

    def viewer(self, key: str) -> Viewer:
        user = get_user_model().objects.select_related("membership__organization").get(pk=self.staff[key].user_id)
        return Viewer.of(user)

    def mark(self, texts: str | tuple[str, ...], record: Any, label: str, **kwargs: Any) -> None:
        self.marked.append(Marked((texts,) if isinstance(texts, str) else texts, record, label, **kwargs))

    def act(self, first: str | None, what: str, write: Callable[..., Any], *, others: bool | list[str] = True) -> Any:
        """``write`` as the drawn actor; if the services refuse her (and ``others``), as the next staff member
        who may (of ``others``, when it names them). Returns the result, or ``None`` (and a Hypothesis event)
        when nobody may."""
        fallback = others if isinstance(others, list) else FALLBACK if others else []
        order = [k for k in dict.fromkeys([*([first] if first else []), *fallback]) if k in self.staff]
        for key in order:
            try:
                with transaction.atomic():
                    return write(self.viewer(key))
            except (PermissionDenied, Http404):
                continue
            except ValidationError:  # e.g. a signer she may not see: the next actor may
                continue
        self.lost.append(what)
        return None

    def current_coordinator(self) -> str | None:
        place = CareTeamMember.objects.active().filter(care_team__family=self.family, is_coordinator=True).first()
        return next((k for k, m in self.staff.items() if place is not None and m.pk == place.membership_id), None)


def _terms(w: World, spec: ConsentSpec, marker: str, *, version: int) -> consent_services.ConsentTerms:
    parent = w.family.parent
    assert parent is not None
    rep = w.representative if spec.by_representative and version == 1 else None
    signer = rep.display_name if rep is not None else parent.display_name
    categories = list(spec.categories)
    if version > 1 and "social_needs" not in categories:
        categories.append("social_needs")  # a new version changes something, and is signed again
    return consent_services.ConsentTerms(
        discloser_orgs=[w.orgs[k] for k in spec.discloser_orgs],
        discloser_classes=list(spec.discloser_classes),
        recipient_orgs=[w.orgs[k] for k in spec.recipient_orgs],
        recipient_people=[w.staff[k] for k in spec.recipient_people if k in w.staff],
        recipient_classes=list(spec.recipient_classes),
        purposes=list(spec.purposes),
        purpose_description=f"for {marker}" if spec.described else "",
        categories=categories,
        information_description=f"only {marker}",
        expires_at=None if spec.by_event else _consent_end(spec, version),
        expiry_event="" if not spec.by_event else f"when {marker} closes",
        signer_kind="legal_representative" if rep is not None else "parent",
        signer_name=signer,
        signer_person=rep,
        signature_typed=signer,
    )


def _consent_end(spec: ConsentSpec, version: int) -> datetime:
    # Recorded 20 days ago and ended 5 days ago: expired. Otherwise (a new version too, signed now) a year or
    # so on, far from every other date the pages show (the ongoing pregnancy's due date is at most 190 days on).
    if spec.phase == 1 and version == 1:
        return _real_now() - timedelta(days=5)
    return _real_now() + timedelta(days=330)


def record_consent(w: World, index: int) -> None:
    spec = w.spec.consents[index]
    title_marker, version_marker = new_marker(), new_marker()
    terms = _terms(w, spec, version_marker, version=1)
    directive = w.act(
        spec.recorder,
        "record a consent",
        lambda v: consent_services.consent_record(
            viewer=v, family=w.family, terms=terms, title=f"Consent {title_marker}"
        ),
    )
    if directive is None:
        return
    w.directives.append(directive)
    w.directive_of[index] = directive
    w.mark(title_marker, directive, f"consent {directive.pk} ({directive.title})")
    version = directive.versions.get()
    w.mark(version_marker, version, f"consent {directive.pk} version 1")
    if terms.signer_person is not None:
        # Her representative signed: his name is the version's signer (2.31(a)(8)), shown with the consent.
        next(m for m in w.marked if m.record == terms.signer_person).carriers.append(version)


def new_consent_version(w: World, directive: ConsentDirective, spec: ConsentSpec) -> None:
    marker = new_marker()
    terms = _terms(w, spec, marker, version=2)
    version = w.act(
        spec.recorder,
        "sign a new version",
        lambda v: consent_services.consent_new_version(viewer=v, directive=directive, terms=terms),
    )
    if version is not None:
        w.mark(marker, version, f"consent {directive.pk} version {version.number}")


def build(spec: WorldSpec) -> World:
    n = next(_numbers)
    User = get_user_model()
    with days_ago(60):
        orgs = {
            # Short names, so the sentences Kinfold writes about them (300 characters at most) keep every marker.
            key: Organization.objects.create(name=f"K{n}{key}", type=type_, is_part2_program=part2)
            for key, (type_, part2) in ORGS.items()
        }
        staff = {}
        for key in [*STAFF, *spec.optional]:
            org, role, status = ALL_STAFF[key]
            user = User.objects.create(
                username=f"canary{n}-{key}",
                first_name=key,
                last_name=f"K{n}",
                is_active=status != "inactive",
                is_superuser=status == "superuser",
                is_staff=status == "superuser",
            )
            staff[key] = Membership.objects.create(user=user, organization=orgs[org], role=role)
        # Her county is a marker too: the directory's "fits this family" says where she lives.
        parent_marker, county, decoy_marker, decoy_county = (new_marker() for _ in range(4))
        family = make_family(staff["coord"], given_name=parent_marker, family_name=f"Q{n}", county=county)
        # A second family, made by an organisation that is on none of her teams: its records are the
        # outsider's own, and nobody else's (its ids are also tried on the world family's routes).
        decoy = make_family(staff["outsider"], given_name=decoy_marker, family_name=f"Q{n}", county=decoy_county)
        w = World(spec=spec, n=n, orgs=orgs, staff=staff, family=family, decoy=decoy)
        assert family.parent is not None and decoy.parent is not None
        w.mark((parent_marker, county), family.parent, "the parent")
        w.mark((decoy_marker, decoy_county), decoy.parent, "the decoy family's parent")
        decoy_note = new_marker()
        note_services.note_add(
            viewer=w.viewer("outsider"), family=decoy, kind="social_needs", summary=f"Decoy {decoy_note}"
        )
        w.mark(decoy_note, Note.objects.get(family=decoy), "the decoy family's note")
        list_services(w)
        # The outsider refers the decoy family too; without her consent it stays the outsider's draft.
        decoy_reason = new_marker()
        w.decoy_referral = _refer(
            w.viewer("outsider"), family=decoy, service=w.services["pantry"], need=FamilyNeed.FOOD, reason=decoy_reason
        )
        w.mark(decoy_reason, w.decoy_referral, "the decoy family's referral")

        for key in spec.team:
            w.act(
                "coord",
                f"add {key} to the team",
                lambda v, key=key: family_services.care_team_member_add(
                    viewer=v, family=family, membership=staff[key], role=staff[key].role
                ),
            )
        record_consent(w, 0)

        rep_name, rep_words = new_marker(), new_marker()
        rep = w.act(
            spec.rep_by,
            "add her legal representative",
            lambda v: family_services.family_member_add(
                viewer=v,
                family=family,
                given_name=rep_name,
                family_name="Guardian",
                category="other_relative",
                description=f"her aunt {rep_words}",
                born_on=date(1970, 1, 1),
                is_legal_representative=True,
            ),
        )
        assert rep is not None, "the coordinator may always add a family member"
        w.representative = rep.person
        w.mark(rep_name, rep.person, "her legal representative (person)")
        w.mark(rep_words, rep, "her legal representative (relationship)")
        if spec.other_by is not None:
            other_name, other_words = new_marker(), new_marker()
            other = w.act(
                spec.other_by,
                "add a family member",
                lambda v: family_services.family_member_add(
                    viewer=v,
                    family=family,
                    given_name=other_name,
                    family_name="Sibling",
                    category="sibling",
                    description=f"my sister {other_words}",
                ),
            )
            if other is not None:
                w.mark(other_name, other.person, "her sister (person)")
                w.mark(other_words, other, "her sister (relationship)")

        delivered_edd = clock.today() + timedelta(days=30)  # 30 days ago, in real time
        episode = w.act(
            spec.pregnancy_by,
            "record the pregnancy",
            lambda v: family_services.pregnancy_start(viewer=v, family=family, estimated_due_on=delivered_edd),
        )
        assert episode is not None, "the coordinator may always record a pregnancy"
        for i, c in enumerate(spec.consents):
            if i and c.phase == 0:
                record_consent(w, i)
        write_notes(w, phase=0)

    with days_ago(20):
        infants = [new_marker() for _ in range(2 if spec.twins else 1)]
        delivered = w.act(
            spec.delivery_by,
            "record the delivery",
            lambda v: family_services.delivery_record(
                viewer=v,
                episode=PregnancyEpisode.objects.get(pk=episode.pk),
                delivered_on=clock.today(),
                outcome="live_birth",
                infants=[{"given_name": name} for name in infants],
            ),
        )
        assert delivered is not None, "the coordinator may always record the delivery"
        w.pregnancies.append(delivered)
        # A pregnancy has no words of its own: its due date, rendered as the pages render dates, is its marker.
        w.mark(date_texts(delivered_edd), delivered, "the delivered pregnancy (its due date)")
        for infant in delivered.infants.all():
            w.mark(next(m for m in infants if m in infant.given_name), infant, f"the infant {infant.given_name}")
        for i, c in enumerate(spec.consents):
            if i and c.phase == 1:
                record_consent(w, i)
        write_notes(w, phase=1)
        if spec.emergency is not None and spec.emergency[1] == "expired":
            declare_emergency(w, spec.emergency[0])

    # Now.
    if spec.ongoing_by is not None:
        edd = clock.today() + timedelta(days=spec.ongoing_days)
        ongoing = w.act(
            spec.ongoing_by,
            "record an ongoing pregnancy",
            lambda v: family_services.pregnancy_start(viewer=v, family=family, estimated_due_on=edd),
        )
        if ongoing is not None:
            w.pregnancies.append(ongoing)
            w.mark(date_texts(edd), ongoing, "the ongoing pregnancy (its due date)")
    for i, c in enumerate(spec.consents):
        if i and c.phase == 2:
            record_consent(w, i)
    write_notes(w, phase=2)
    for i, directive in w.directive_of.items():
        if spec.consents[i].fate == "new_version":
            new_consent_version(w, directive, spec.consents[i])
    if spec.order is not None:
        record_order(w, spec.order)
    for r in spec.restrictions:
        request_restriction(w, r)
    if spec.emergency is not None and spec.emergency[1] == "active":
        declare_emergency(w, spec.emergency[0])
    for referral_spec in spec.referrals:
        make_referral(w, referral_spec)
    for screening_spec in spec.screenings:
        make_screening(w, *screening_spec)
    canary_pathways.build_pathways(w, new_marker)

    # Endings last, so the writes above still had the access these take away.
    for key in spec.leavers:
        place = CareTeamMember.objects.active().filter(care_team__family=family, membership=staff[key]).first()
        if place is not None:
            w.act(
                key if spec.leave_by_self else "coord",
                f"remove {key} from the team",
                lambda v, place=place: family_services.care_team_member_remove(viewer=v, member=place),
            )
    if spec.handover_to is not None:
        place = (
            CareTeamMember.objects.active().filter(care_team__family=family, membership=staff[spec.handover_to]).first()
        )
        if place is not None:
            w.act(
                "coord",
                "hand the coordinator role over",
                lambda v, place=place: family_services.coordinator_handover(viewer=v, family=family, to_member=place),
            )
    for i, directive in w.directive_of.items():
        c = spec.consents[i]
        if c.fate == "revoked":
            revocation = new_marker()
            done = w.act(
                c.recorder,
                "record her revocation",
                lambda v, d=directive, note=revocation: consent_services.consent_revoke(
                    viewer=v, directive=d, method="spoken", note=f"she said {note}"
                ),
            )
            if done is not None:
                w.mark(revocation, directive, f"consent {directive.pk} (its revocation note)")
        elif c.fate == "ended":
            latest = directive.versions.order_by("-number").first()
            w.act(
                c.recorder,
                "record the event that ends a consent",
                lambda v, latest=latest: consent_services.consent_expiry_event_record(viewer=v, version=latest),
            )
    for what in w.lost:
        tell(f"lost: {what}")
    return w


def write_notes(w: World, *, phase: int) -> None:
    for author, kind, when in w.spec.notes:
        if when != phase:
            continue
        marker = new_marker()
        note = w.act(
            author,
            f"write a {kind} note",
            lambda v, kind=kind, marker=marker: note_services.note_add(
                viewer=v, family=w.family, kind=kind, summary=f"Note {marker}", body=f"Details {marker}"
            ),
        )
        if note is not None:
            w.mark(marker, note, f"a {kind} note by {note.created_by_org.name}")


def list_services(w: World) -> None:
    """The directory's listings (directory data, made with the ORM like the organisations): the programme's,
    linked to its accounts, and the pantry's, which has none (its intake contact answers from one-time links).
    The programme serves one county only, so "fits this family" says which county she lives in."""
    listings: dict[str, tuple[list[str], dict[str, Any]]] = {
        "otp": (
            [FamilyNeed.MOUD, FamilyNeed.SUD_TREATMENT, FamilyNeed.MENTAL_HEALTH],
            {"counties": ["Elsewhere"], "accepts_pregnant": True, "moud_buprenorphine": True, "accepts_medicaid": True},
        ),
        "pantry": ([FamilyNeed.FOOD, FamilyNeed.HOUSING, FamilyNeed.TRANSPORT], {"languages": ["en", "es"]}),
    }
    for key, (needs, attributes) in listings.items():
        listing = DirectoryOrganization.objects.create(
            hsds_id=f"canary-{w.n}-{key}",
            name=f"K{w.n}{key}",
            organization=w.orgs[key],
            intake_contact_name=f"Intake K{w.n}{key}",
            intake_email=f"intake-{w.n}-{key}@example.org",
        )
        w.services[key] = Service.objects.create(
            hsds_id=f"canary-{w.n}-{key}-service",
            organization=listing,
            name=f"K{w.n}{key} service",
            needs=needs,
            **attributes,
        )


def _refer(v: Viewer, *, family: Family, service: Service, need: str, reason: str, handoff_note: str = "") -> Referral:
    """``create_referral`` with every note her organisation wrote (each goes if her consent covers it), keeping
    the draft it commits when her consent does not cover sending the referral."""
    notes = list(Note.objects.filter(family=family, created_by_org_id=v.organization_id).values_list("pk", flat=True))
    try:
        return referral_services.create_referral(
            viewer=v,
            family=family,
            need=need,
            service=service,
            reason=reason,
            handoff_note=handoff_note,
            note_ids=notes,
        )
    except referral_services.NotSent as not_sent:
        return not_sent.referral


def _change_referral(v: Viewer, referral: Referral, to_status: str, words: str) -> Referral:
    """A change of status in Kinfold; a change her side may not make is a refusal (the next actor may)."""
    current = Referral.objects.get(pk=referral.pk)
    try:
        return referral_services.change_status(
            viewer=v,
            referral_id=referral.pk,
            family_id=referral.family_id,
            to_status=to_status,
            expected_version=current.version,
            reason_code=REFERRAL_REASONS.get(to_status, ""),
            words=words,
        )
    except (referral_services.IllegalChange, ConcurrentEditError) as refused:
        raise PermissionDenied(str(refused)) from refused


def _answer_from_link(token: str, to_status: str, words: str) -> Referral | None:
    action = LINK_ACTIONS.get(to_status)
    if action is None:  # a link cannot put a referral on hold
        return None
    try:
        with transaction.atomic():
            return referral_services.answer_from_link(
                token=token, action=action, reason_code=REFERRAL_REASONS.get(to_status, ""), words=words
            )
    except (ValidationError, referral_services.IllegalChange):
        return None


CRITICAL_ANSWERS = {
    "phq9": ({**{f"q{n}": 1 for n in range(1, 10)}, "q10": 1}, {**{f"q{n}": 1 for n in range(1, 9)}, "q9": 0}),
    "audit_c": ({"q1": 4, "q2": 4, "q3": 4}, {"q1": 0}),
}


def make_screening(w: World, giver: str, instrument: str, critical: bool, closer: str | None) -> None:
    """A screening given through the services (in the giver's organisation's name, filed as its file says for
    that organisation's type), completed; a critical one raises its alert, closed by ``closer`` with words that
    carry a marker (the alert's own record: read by those who may read the response)."""
    from kinfold.screening import services as screening_services
    from kinfold.screening.instruments import get_instrument

    def give(v: Viewer) -> Any:
        response = screening_services.start_screening(
            viewer=v, family=w.family, instrument_key=instrument, language="en", how_given="with_staff"
        )
        if instrument in CRITICAL_ANSWERS:
            answers = CRITICAL_ANSWERS[instrument][0 if critical else 1]
        else:  # the first answer to each question; a critical one where the question has one
            spec = get_instrument(instrument)
            answers = {}
            for item in spec.items:
                if item.type == "number":
                    continue
                first = spec.options_of(item)[0].value
                value = item.critical[-1] if critical and item.critical else first
                answers[item.key] = [value] if item.type == "multiple" else value
        response = screening_services.save_answers(viewer=v, response=response, raw=answers, version=response.version)
        return screening_services.complete(viewer=v, response=response, version=response.version)

    response = w.act(giver, f"give {instrument}", give)
    if response is None:
        return
    w.screenings.append(response)
    alert = getattr(response, "alert", None) if response.critical else None
    if alert is None:
        return
    w.alerts.append(alert)
    if closer is None:
        return
    marker = new_marker()
    closed = w.act(
        closer,
        "close a safety alert",
        lambda v: screening_services.resolve_alert(
            viewer=v, alert=alert, action="safety_plan", note=f"Plan made {marker}", version=alert.version
        ),
        others=[],
    )
    if closed is not None:
        w.mark(marker, closed, f"safety alert {closed.pk} (closed by {closer})")


def make_referral(w: World, spec: ReferralSpec) -> None:
    """A referral made through the services (sent when her consent covers it, else kept as a draft), then
    answered: the programme in Kinfold (its first answer assigns the person who gave it), the pantry from a
    one-time link; a cancellation by the referring side. Every reason, note and answer's words carry a marker."""
    reason, handoff = new_marker(), new_marker()
    referral = w.act(
        spec.referrer,
        f"refer her to {spec.to}",
        lambda v: _refer(
            v,
            family=w.family,
            service=w.services[spec.to],
            need=spec.need,
            reason=f"She hopes for {reason}",
            handoff_note=f"Call her after noon {handoff}",
        ),
    )
    if referral is None:
        return
    referral.refresh_from_db()
    w.referrals.append(referral)
    w.mark(
        (reason, handoff),
        referral,
        f"referral {referral.pk} ({spec.need} to {spec.to}, made by {referral.created_by_org.name})",
    )
    tell(f"referral to {spec.to}: {'sent' if referral.sent_at else 'kept as a draft'}")
    token = None
    if spec.to == "pantry" and referral.status in OPEN_STATUSES:
        listing = w.services["pantry"].organization
        token = referral_links.issue_link(referral, listing.intake_email).rstrip("/").rsplit("/", 1)[-1]
        w.tokens.append(token)
    referring = [k for k, m in w.staff.items() if m.organization_id == referral.created_by_org_id]
    handler = spec.answerer
    for to_status in REFERRAL_PATHS[spec.fate]:
        words = new_marker() if to_status in REFERRAL_REASONS else ""
        said = f"Because {words}" if words else ""
        if to_status == S.CANCELLED:

            def cancel(v: Viewer, said: str = said) -> Referral:
                return _change_referral(v, referral, S.CANCELLED, said)

            done = w.act(referring[0] if referring else None, "cancel a referral", cancel, others=referring)
        elif referral.status == S.DRAFT:
            break
        elif spec.to == "pantry":
            done = _answer_from_link(token, to_status, said) if token else None
        else:
            answered: list[Viewer] = []

            def answer(
                v: Viewer, to_status: str = to_status, said: str = said, answered: list[Viewer] = answered
            ) -> Referral:
                answered.append(v)
                return _change_referral(v, referral, to_status, said)

            done = w.act(handler, f"answer a referral ({to_status})", answer, others=OTP_STAFF)
            if done is not None:
                handler = next(k for k, m in w.staff.items() if m.pk == answered[-1].membership_id)
        if done is None:
            tell(f"lost: referral {to_status}")
            break
        referral.refresh_from_db()
        if words:
            event = ReferralEvent.objects.filter(referral=referral).order_by("-pk").first()
            assert event is not None and words in event.words
            w.mark(words, event, f"referral {referral.pk}'s change to {to_status} by {event.created_by_org.name}")
    tell(f"referral to {spec.to}: {referral.status}")


def record_order(w: World, spec: OrderSpec) -> None:
    marker = new_marker()
    today = clock.today()
    starts = today + timedelta(days={"current": -10, "past": -50, "future": 15}[spec.window])
    until = starts + timedelta(days=10 if spec.window == "past" else 60)
    named = w.staff["court"] if spec.named else None
    order = w.act(
        spec.recorder,
        "record a court order",
        lambda v: consent_services.court_order_record(
            viewer=v,
            family=w.family,
            court=w.orgs["court"],
            order_reference=f"FTC-{marker}",
            issued_on=min(starts, today),
            categories=list(spec.categories),
            valid_from=start_of_day(starts),
            valid_until=start_of_day(until),
            finding_other_means_unavailable=spec.findings,
            finding_public_interest_outweighs_harm=spec.findings,
            judge_name=f"Judge {marker}",
            named_person=named,
        ),
    )
    if order is None:
        return
    w.orders.append(order)
    w.mark(marker, order, f"court order {order.order_reference}")
    if spec.findings_later and not spec.findings:
        w.act(
            spec.recorder,
            "record the 2.64(d) findings",
            lambda v: consent_services.court_order_findings_record(viewer=v, order=order),
        )


def request_restriction(w: World, spec: RestrictionSpec) -> None:
    marker = new_marker()
    restriction = w.act(
        spec.requester,
        "record her restriction request",
        lambda v: consent_services.restriction_request(
            viewer=v,
            family=w.family,
            disclosing_org=w.orgs[spec.disclosing],
            recipient_org=w.orgs[spec.recipient_org] if spec.recipient_org else None,
            recipient_person=w.staff[spec.recipient_person] if spec.recipient_person else None,
            categories=list(spec.categories),
            purposes=list(spec.purposes),
            description=f"Not to them: {marker}",
        ),
    )
    if restriction is None:
        return
    w.restrictions.append(restriction)
    w.mark(marker, restriction, f"restriction request {restriction.pk}")
    if spec.fate == "requested":
        return
    # Only the organisation she asked decides (and ends it on its side): its staff, in turn.
    deciders = [k for k, m in w.staff.items() if m.organization_id == restriction.disclosing_org_id]
    agree = spec.fate != "refused"
    decided = None
    for key in deciders:
        decided = w.act(
            key,
            "decide a restriction request",
            lambda v: consent_services.restriction_decide(
                viewer=v, restriction=restriction, agree=agree, reason=f"Because {marker}"
            ),
            others=False,
        )
        if decided is not None:
            break
    if decided is None or spec.fate not in ("ended_parent", "ended_org"):
        return
    by_org = spec.fate == "ended_org"
    for key in deciders if by_org else [spec.requester]:
        ended = w.act(
            key,
            "end a restriction",
            lambda v: consent_services.restriction_end(
                viewer=v,
                restriction=restriction,
                on_request_of="organization" if by_org else "parent",
                reason=f"Ended {marker}" if by_org else "",
            ),
            others=not by_org,
        )
        if ended is not None:
            break


def declare_emergency(w: World, by: str) -> None:
    marker = new_marker()
    access = w.act(
        by,
        "declare an emergency",
        lambda v: consent_services.emergency_declare(
            viewer=v, family=w.family, reason=f"She collapsed at the visit {marker}"
        ),
    )
    if access is not None:
        # Not a registered record type: her page shows a clinician only her own declaration.
        w.mark(marker, None, "an emergency declaration (its reason)", only_user_id=access.user_id)


# --- what the policy lets each viewer see ------------------------------------------------------------------


@dataclass
class Seer:
    """One viewer's view of the markers: which she may see for a purpose, and why not."""

    key: str
    viewer: Viewer
    world: World
    ctx: PolicyContext | None = None  # the facts of both families, loaded once (nothing changes while checking)
    cache: dict[tuple[int, str], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.viewer.may_see_family_data:
            self.ctx = PolicyContext.load(self.viewer, [self.world.family.pk, self.world.decoy.pk])

    def decide(self, record: Any, purpose: str | None = None, interaction: str = Interaction.READ) -> Decision:
        return decide(self.viewer, record, purpose, ctx=self.ctx, interaction=interaction)

    @property
    def label(self) -> str:
        org, role, status = ALL_STAFF[self.key]
        return f"{self.key} ({role} at {org}{'' if status == 'active' else ', ' + status})"

    def permits(self, record: Any, purpose: str) -> bool:
        key = (id(record), purpose)
        if key not in self.cache:
            self.cache[key] = self.decide(record, purpose).permitted
        return self.cache[key]

    def may_see(self, m: Marked, purposes: set[str]) -> bool:
        if m.record is None:
            return m.only_user_id is not None and m.only_user_id == self.viewer.user_id
        received = [r for r in m.sent_with if r.receiving_org_id == self.viewer.organization_id]
        return any(self.permits(r, p) for r in [m.record, *m.carriers, *received] for p in purposes)

    def why_not(self, m: Marked, purposes: set[str]) -> str:
        if m.record is None:
            return "it is another person's emergency declaration"
        reasons = [f"{p}: {self.decide(m.record, p).reason}" for p in sorted(purposes)]
        return "; ".join(reasons)


def refreshed(w: World) -> None:
    """Each marked record as it is now (a new version re-files a consent; a revocation changes it)."""
    for m in w.marked:
        if m.record is not None:
            m.record = type(m.record)._default_manager.get(pk=m.record.pk)
        m.carriers = [type(c)._default_manager.get(pk=c.pk) for c in m.carriers]
    w.referrals = [Referral.objects.get(pk=r.pk) for r in w.referrals]


def copies_sent(w: World, pattern: re.Pattern[str], by_text: dict[str, Marked]) -> None:
    """Each record a referral sent a copy of (her name and contact, her pregnancy, notes: ``sent_items``)."""
    for referral in w.referrals:
        for m in {by_text[t.lower()] for t in pattern.findall(json.dumps(referral.sent_items))}:
            m.sent_with.append(referral)


def finder(w: World) -> tuple[re.Pattern[str], dict[str, Marked]]:
    by_text = {t.lower(): m for m in w.marked for t in m.texts}
    assert len(by_text) == sum(len(m.texts) for m in w.marked), "two records share a marker"
    # Whole words only: "4 November 2026" is not found inside "14 November 2026".
    alternatives = "|".join(re.escape(t) for t in sorted(by_text, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Za-z])(?:{alternatives})(?![0-9])", re.IGNORECASE), by_text


# --- routes, discovered from the URL configuration ---------------------------------------------------------

# Routes the canary does not request, and why.
SKIPPED = {
    "admin/": "Django's admin site: it registers only the directory (organisations, memberships, partnerships), "
    "never a family record (rule 0), and is Django's own",
    "accounts/login/": "signing in: no family data, and it would sign the viewer out of the test client",
    "accounts/logout/": "signing out: it would end the viewer's session mid-example",
    "static/": "static files",
    "media/": "uploaded files (none are served)",
}
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    pattern: str  # the full path pattern, e.g. "families/<int:family_id>/consents/<int:directive_id>/"
    name: str  # namespaced url name, e.g. "consent:detail"

    @property
    def parameters(self) -> list[str]:
        return [m.group("name") for m in PARAMETER.finditer(self.pattern)]

    def path(self, values: dict[str, Any]) -> str:
        return "/" + PARAMETER.sub(lambda m: str(values[m.group("name")]), self.pattern)


def discover_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: list[str]) -> None:
        for p in patterns:
            full = prefix + str(p.pattern)
            if any(full.startswith(skip) for skip in SKIPPED):
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, full, [*namespace, p.namespace] if p.namespace else namespace)
            elif isinstance(p, URLPattern):
                if full.startswith("^") or "(?P<" in full:
                    pytest.fail(f"route {full!r} is a regular expression the canary cannot fill: give it a path()")
                routes.append(Route(full, ":".join([*namespace, p.name or full])))

    walk(get_resolver().url_patterns, "", [])
    return routes


# Each path parameter, and its values in a world: the ids of the matching record type. Records are asked for
# under the world family's id, and once per route under the decoy family's (a record is found only within its
# own family); the decoy family's own pages are asked for too (DECOY_ROUTES).
FILLERS: dict[str, Callable[[World], list[Any]]] = {
    "family_id": lambda w: [w.family.pk, w.decoy.pk],
    "episode_id": lambda w: [p.pk for p in w.pregnancies],
    "member_id": lambda w: list(
        CareTeamMember.objects.filter(care_team__family__in=[w.family, w.decoy])
        .order_by("pk")
        .values_list("pk", flat=True)
    ),
    "directive_id": lambda w: [d.pk for d in w.directives],
    "restriction_id": lambda w: [r.pk for r in w.restrictions],
    "order_id": lambda w: [o.pk for o in w.orders],
    "organization_id": lambda w: [w.orgs["otp"].pk],  # the directory: no family data
    # The directory's listings hold no family data: the programme's (whose county rule says where she lives).
    "service_id": lambda w: [w.services["otp"].pk],
    "referral_id": lambda w: [r.pk for r in w.referrals] + ([w.decoy_referral.pk] if w.decoy_referral else []),
    # The links issued, one of them altered by a character, and a token issued to nobody.
    "token": lambda w: [*w.tokens, *(_altered(t) for t in w.tokens[:1]), UNKNOWN_TOKEN],
    # A lead's staff pages tell places, not records: the staff of the world's organisations, and an invitation
    # and a password-reset user that do not exist.
    "membership_id": lambda w: [w.staff[k].pk for k in ("coord", "counsellor", "intake") if k in w.staff],
    "invitation_id": lambda w: [0],
    "uidb64": lambda w: ["MQ"],
    # Screening (issue 13): her responses and their alerts; the API's questionnaires hold no family data.
    "response_id": lambda w: [r.pk for r in w.screenings] or [0],
    "alert_id": lambda w: [a.pk for a in w.alerts] or [0],
    "key": lambda w: ["phq9"],
    **canary_pathways.FILLERS,  # pathways (issue 14): steps, dates, conversations, enrolments, plans, needs
}
UNKNOWN_TOKEN = "A" * 43  # shaped like a token


def _altered(token: str) -> str:
    return token[:-1] + ("B" if token[-1] == "A" else "A")


def unfillable(routes: list[Route]) -> list[str]:
    return [
        f"route {r.name} ({r.pattern}) has path parameter {name!r}"
        for r in routes
        for name in r.parameters
        if name not in FILLERS
    ]


def instances(route: Route, w: World, values: dict[str, list[Any]]) -> list[str]:
    names = route.parameters
    others = [name for name in names if name != "family_id"]
    paths = []
    for combination in itertools.product(*(values[name] for name in others)):
        chosen = dict(zip(others, combination, strict=True))
        if "family_id" in names:
            paths.append(route.path({**chosen, "family_id": w.family.pk}))
            # The decoy family's pages and exports; and, once per route, a record of her family asked for under
            # the decoy's id (a record is found only within its own family).
            first = combination == tuple(values[name][0] for name in others)
            if (others and first) or (not others and route.name in DECOY_ROUTES):
                paths.append(route.path({**chosen, "family_id": w.decoy.pk}))
        else:
            paths.append(route.path(chosen))
    return paths


DECOY_ROUTES = {"families:detail", "families:export", "consent:list", "api:get_family", "api:export_family"}

# Requests a route answers differently, besides ``?purpose=``: a partial for htmx, a CSV, a template.
VARIANTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "families:caseload": [("?scope=organization&sort=-activity", {"HTTP_HX_REQUEST": "true"})],
    "consent:new": [("?template=blank", {})],  # the capture form: her legal representatives offered as signers
    "consent:accounting": [("?format=csv", {})],
    "api:list_families": [("?scope=organization", {})],
    **canary_pathways.VARIANTS,
}
# Routes without a family in their path that list families (the others show no family data: one GET each).
FAMILY_LISTS = {"families:caseload", "api:list_families", *canary_pathways.FAMILY_LISTS}
# Routes that take a family (and a service) in their query string, asked for by every viewer who may see family
# data: the directory's "fits this family" (her facts, read through the door: a 404 for a family she may not
# open) and the referral form (for the decoy family too).
FAMILY_QUERIES: dict[str, Callable[[World], list[str]]] = {
    "directory:search": lambda w: [f"?family={w.family.pk}"],
    "directory:service": lambda w: [f"?family={w.family.pk}"],
    "referrals:new": lambda w: [
        *(f"?family={w.family.pk}&service={s.pk}" for s in w.services.values()),
        f"?family={w.decoy.pk}&service={w.services['pantry'].pk}",
    ],
    "referrals:inbox": lambda w: ["?show=all"],  # closed referrals too
}
# Pages whose authority is a token, not the viewer (the one-time link, for an organisation without accounts):
# each may show what was sent with its referral and nothing else, whoever holds it; see ``check_links``.
BEARER_ROUTES = {"referrals:link_answer": "token"}


def requested_purpose(query: str) -> str | None:
    found = re.search(r"purpose=(\w+)", query)
    return found.group(1) if found and found.group(1) in PURPOSES else None


# A refusal (403) that, by design, shows what she may read of the record she asked about, and why she may not
# do more: it may show markers, but only of records the policy lets her read. Every other 403, and every 404,
# shows no marker at all.
REFUSALS_SHOWING_THE_RECORD = {
    "consent:restriction_decide": "the request (which she may read) and which organisation alone may decide it",
    "consent:restriction_end": "the agreed restriction (which she may read) and why she may not end it",
}
# Pages whose purpose is not the viewer's role's: break-the-glass shows the parent's name to a clinician who
# may open the family in her emergency window (ruling 1), i.e. for purpose ``emergency``.
PAGE_PURPOSES = {"consent:emergency_declare": {Purpose.EMERGENCY}}


def pending_messages(client: Client) -> str:
    """The flash messages a response left in the client's cookie for the next page, taken from the cookie (so
    they are judged with the request that made them, and never carried into another request's answer)."""
    morsel = client.cookies.get("messages")
    if morsel is None or not morsel.value:
        return ""
    request = HttpRequest()
    request.COOKIES = {"messages": morsel.value}
    text = "\n".join(str(m.message) for m in CookieStorage(request))
    del client.cookies["messages"]
    return text


def leaks_in(
    response: Any,
    route: str,
    seer: Seer | None,
    purposes: set[str],
    pattern: re.Pattern[str],
    by_text: dict[str, Marked],
    messages: str = "",
    *,
    sent: set[Marked] | None = None,
) -> list[str]:
    """What the response shows that it must not: a marker the policy denies ``seer``, or, on a page whose
    authority is a token (``sent`` given), any marker not sent with its referral."""
    body = response.content.decode("utf-8", errors="replace") + "\n" + messages
    found = {by_text[t.lower()] for t in pattern.findall(body)}
    purposes = purposes | PAGE_PURPOSES.get(route, set())
    out = []
    for m in sorted(found, key=lambda m: m.label):
        record = f"{type(m.record).__name__} {m.record.pk}" if m.record is not None else "EmergencyAccess"
        if sent is not None and m not in sent:
            out.append(
                f"shows {m.label} ({m.texts[0]}; {record}), which was not sent with the referral this link is for "
                f"(status {response.status_code})"
            )
        elif sent is None and (seer is None or not seer.may_see(m, purposes)):
            why = seer.why_not(m, purposes) if seer is not None else "nobody is signed in"
            out.append(
                f"shows {m.label} ({m.texts[0]}; {record}), which the policy denies her [{why}] "
                f"(status {response.status_code})"
            )
        elif response.status_code == 404 or (response.status_code == 403 and route not in REFUSALS_SHOWING_THE_RECORD):
            out.append(f"a {response.status_code} answer shows {m.label} ({m.texts[0]}; {record})")
    return out


# --- what changes when a form is posted ---------------------------------------------------------------------


@functools.cache
def snapshot_queries() -> tuple[tuple[str, str, tuple[Any, ...]], ...]:
    """The SQL of every table ``snapshot`` reads: each registered family record type (its default manager, every
    column, by pk) and its many-to-many links, every emergency declaration and every one-time link (the actions
    taken from it). Compiled once: a world posts some 400 forms, each followed by a snapshot, and building the
    queries cost ten times more than running them."""
    queries = []
    # A one-time link's used actions too: opening its page spends none, and a refused answer none.
    models: list[Any] = [rt.model for rt in registered()] + [EmergencyAccess, ReferralLink]
    for model in models:
        querysets = [(model.__name__, model._default_manager.order_by("pk").values())]
        for m2m in model._meta.many_to_many:
            through = m2m.remote_field.through
            querysets.append((f"{model.__name__}.{m2m.name}", through.objects.order_by("pk").values()))
        for name, queryset in querysets:
            sql, params = queryset.query.sql_with_params()
            queries.append((name, sql, tuple(params)))
    return tuple(queries)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of ``snapshot_queries``, each column as the database stores it."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        for name, sql, params in snapshot_queries():
            cursor.execute(sql, params)
            columns = [column[0] for column in cursor.description]
            tables[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return tables


def changes(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> list[str]:
    out = []
    for table, rows in after.items():
        old = {r["id"]: r for r in before.get(table, [])}
        new = {r["id"]: r for r in rows}
        for pk in sorted(new.keys() - old.keys()):
            out.append(f"{table} {pk} created")
        for pk in sorted(old.keys() - new.keys()):
            out.append(f"{table} {pk} deleted")
        for pk in sorted(old.keys() & new.keys()):
            if old[pk] != new[pk]:
                fields = sorted(k for k in new[pk] if new[pk][k] != old[pk].get(k))
                out.append(f"{table} {pk} changed ({', '.join(fields)})")
    return out


@contextmanager
def quiet_refusals() -> Iterator[None]:
    """Thousands of 403s and 404s are the point here: Django's request log would bury a failure's message.
    (A 500 still raises in the test client.)"""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


Need = tuple[str, Any]  # (interaction, a record or the facts of one about to be made)


def _new(model: Any, w: World, viewer: Viewer, category: str, **facts: Any) -> Any:
    return new_facts(
        model,
        family_id=w.family.pk,
        organization_id=viewer.organization_id or 0,
        category=category,
        created_by_id=viewer.user_id,
        **facts,
    )


def _consent_form(w: World) -> dict[str, Any]:
    parent = w.family.parent
    assert parent is not None
    return {
        "template_key": "",
        "title": "Posted consent",
        "language": "en",
        "discloser_classes": ["care_team"],
        "recipient_classes": ["care_team"],
        "purposes": ["care_coordination"],
        "categories": ["contact"],
        "ends": "date",
        "expires_on": (clock.today() + timedelta(days=330)).isoformat(),
        "signer_kind": "parent",
        "signer_name": parent.display_name,
        "signature_method": "typed",
        "signature_typed": parent.display_name,
        "action": "sign",
    }


@dataclass(frozen=True)
class Plan:
    """A form under ``/families/<id>/``: what to post, and what the policy must allow for it to write."""

    route: str
    kwarg: str | None  # the path parameter naming the record it writes to
    data: Callable[[World, Any], dict[str, Any]]
    needs: Callable[[World, Any, Viewer], list[Need]]
    # Only clinicians declare an emergency (rule 4): that form asks the viewer's role, not ``decide``.
    denied: Callable[[Viewer], bool] | None = None


def _latest(directive: ConsentDirective) -> ConsentVersion:
    return directive.versions.order_by("-number").first()  # type: ignore[return-value]


def _outsider(w: World) -> Membership:
    return w.staff["outsider"]


def _restriction_plan(disclosing: str, recipient: str) -> Plan:
    def needs(w: World, _: Any, v: Viewer) -> list[Need]:
        org, to = w.orgs[disclosing], w.orgs[recipient]
        category = consent_services.restriction_category(org, to, None)
        facts = _new(Restriction, w, v, category, authored_category=Sensitivity.CONTACT, subject_org_id=org.pk)
        return [(Interaction.CREATE, facts)]

    return Plan(
        "consent:restriction_add",
        None,
        lambda w, _: {
            "disclosing_org": w.orgs[disclosing].pk,
            "recipient_org": w.orgs[recipient].pk,
            "description": "Posted request",
        },
        needs,
    )


def _note_plan(kind: str) -> Plan:
    return Plan(
        "notes:add",
        None,
        lambda w, _: {"kind": kind, "occurred_on": clock.today().isoformat(), "summary": "Posted"},
        lambda w, _, v: [(Interaction.CREATE, _new(Note, w, v, NOTE_CATEGORY[NoteKind(kind)]))],
    )


def _referral_plan(to: str, need: str) -> Plan:
    def needs(w: World, _: Any, v: Viewer) -> list[Need]:
        referring = next(o for o in w.orgs.values() if o.pk == v.organization_id)
        terms = referral_services.terms_for(need, referring_org=referring, receiving_org=w.orgs[to])
        facts = _new(
            Referral,
            w,
            v,
            terms.category,
            authored_category=terms.authored_category,
            kind=terms.kind,
            subject_org_id=w.orgs[to].pk,
        )
        return [(Interaction.CREATE, facts)]

    return Plan(
        "referrals:new",
        None,
        lambda w, _: {
            "family": w.family.pk,
            "service": w.services[to].pk,
            "need": need,
            "priority": "routine",
            "reason": "Posted",
            "request_key": "canary-posted",
        },
        needs,
    )


def _next_status(referral: Referral, *, referring: bool) -> str:
    if referring:
        return S.REQUESTED if referral.status == S.DRAFT else S.CANCELLED
    if referral.status in (S.REQUESTED, S.RECEIVED):
        return S.ACCEPTED
    return S.COMPLETED if referral.status in (S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD) else S.REJECTED


def _change_plan(*, referring: bool) -> Plan:
    def data(w: World, referral: Referral) -> dict[str, Any]:
        to = _next_status(referral, referring=referring)
        return {
            "status": to,
            "version": referral.version,
            "reason_code": REFERRAL_REASONS.get(to, ""),
            "words": "Posted",
        }

    def needs(w: World, referral: Referral, v: Viewer) -> list[Need]:
        if referring:
            return [(Interaction.CHANGE, referral)]
        # An answer is also a record of the organisation that gives it.
        answer = _new(
            ReferralEvent, w, v, referral.sensitivity, kind=referral.kind, subject_org_id=referral.created_by_org_id
        )
        return [(Interaction.CHANGE, referral), (Interaction.CREATE, answer)]

    return Plan("referrals:change", "referral_id", data, needs)


PLANS: dict[str, list[Plan]] = {
    "families:member_add": [
        Plan(
            "families:member_add",
            None,
            lambda w, _: {"given_name": "Posted", "family_name": "Person", "category": "sibling"},
            lambda w, _, v: [(Interaction.CREATE, _new(FamilyRelationship, w, v, Sensitivity.CONTACT))],
        )
    ],
    "families:pregnancy_add": [
        Plan(
            "families:pregnancy_add",
            None,
            # Dates no world's pregnancy has (an ongoing one is due 100 to 190 days on): a form that echoes the
            # posted date shows no record's marker.
            lambda w, _: {"estimated_due_on": (clock.today() + timedelta(days=200)).isoformat()},
            lambda w, _, v: [(Interaction.CREATE, _new(PregnancyEpisode, w, v, Sensitivity.GENERAL_HEALTH))],
        )
    ],
    "families:due_date": [
        Plan(
            "families:due_date",
            "episode_id",
            lambda w, ep: {
                "estimated_due_on": (clock.today() + timedelta(days=195)).isoformat(),
                "version": ep.version,
            },
            lambda w, ep, v: [(Interaction.CHANGE, ep)],
        )
    ],
    "families:delivery": [
        Plan(
            "families:delivery",
            "episode_id",
            lambda w, ep: {
                "delivered_on": clock.today().isoformat(),
                "outcome": "live_birth",
                "infant_names": "Posted",
                "version": ep.version,
            },
            lambda w, ep, v: [
                (Interaction.CHANGE, ep),
                (Interaction.CREATE, _new(Person, w, v, Sensitivity.GENERAL_HEALTH)),
                (Interaction.CREATE, _new(FamilyRelationship, w, v, Sensitivity.CONTACT)),
            ],
        )
    ],
    "families:team_add": [
        Plan(
            "families:team_add",
            None,
            lambda w, _: {"membership": _outsider(w).pk, "role": _outsider(w).role},
            lambda w, _, v: [
                (
                    Interaction.CREATE,
                    _new(CareTeamMember, w, v, Sensitivity.CONTACT, holder_membership_id=_outsider(w).pk),
                )
            ],
        )
    ],
    "families:team_remove": [
        Plan("families:team_remove", "member_id", lambda w, _: {}, lambda w, place, v: [(Interaction.RETIRE, place)])
    ],
    "families:coordinator": [
        Plan("families:coordinator", "member_id", lambda w, _: {}, lambda w, place, v: [(Interaction.CHANGE, place)])
    ],
    "consent:new": [
        Plan(
            "consent:new",
            None,
            lambda w, _: _consent_form(w),
            lambda w, _, v: [
                (
                    Interaction.CREATE,
                    _new(ConsentDirective, w, v, Sensitivity.CONTACT, authored_category=Sensitivity.CONTACT),
                )
            ],
        )
    ],
    "consent:new_version": [
        Plan(
            "consent:new_version",
            "directive_id",
            lambda w, _: _consent_form(w),
            lambda w, d, v: [
                (Interaction.READ, d),
                (
                    Interaction.CREATE,
                    _new(
                        ConsentVersion,
                        w,
                        v,
                        Sensitivity.CONTACT,
                        authored_category=Sensitivity.CONTACT,
                        directive_id=d.pk,
                    ),
                ),
            ],
        )
    ],
    "consent:revoke": [
        Plan(
            "consent:revoke",
            "directive_id",
            lambda w, _: {
                "method": "spoken",
                "received_by": w.staff[w.current_coordinator() or "coord"].pk,
                "note": "Posted",
                "action": "revoke",
            },
            lambda w, d, v: [(Interaction.RETIRE, d)],
        )
    ],
    "consent:ended": [
        Plan(
            "consent:ended",
            "directive_id",
            lambda w, _: {"confirm": "on"},
            lambda w, d, v: [(Interaction.READ, d), (Interaction.CHANGE, _latest(d))],
        )
    ],
    "consent:court_order_add": [
        Plan(
            "consent:court_order_add",
            None,
            lambda w, _: {
                "court": w.orgs["court"].pk,
                "order_reference": "FTC-POSTED",
                "issued_on": clock.today().isoformat(),
                "categories": ["contact", "legal"],
                "valid_from": clock.today().isoformat(),
                "valid_until": (clock.today() + timedelta(days=60)).isoformat(),
            },
            lambda w, _, v: [
                (Interaction.CREATE, _new(CourtOrder, w, v, Sensitivity.LEGAL, subject_org_id=w.orgs["court"].pk))
            ],
        )
    ],
    "consent:court_order_findings": [
        Plan(
            "consent:court_order_findings",
            "order_id",
            lambda w, _: {"confirm": "on"},
            lambda w, order, v: [(Interaction.CHANGE, order)],
        )
    ],
    "consent:emergency_declare": [
        Plan(
            "consent:emergency_declare",
            None,
            lambda w, _: {"reason": "She collapsed at the visit and needs care", "confirm": "on"},
            lambda w, _, v: [],
            denied=lambda v: not (v.may_see_family_data and v.is_clinician),
        )
    ],
    # One naming the Part 2 programme (filed as SUD treatment), one that does not (contact).
    "consent:restriction_add": [_restriction_plan("otp", "cps"), _restriction_plan("community", "court")],
    "consent:restriction_decide": [
        Plan(
            "consent:restriction_decide",
            "restriction_id",
            lambda w, _: {"decision": "agree"},
            lambda w, r, v: [(Interaction.CHANGE, r)],
        )
    ],
    "consent:restriction_end": [
        Plan(
            "consent:restriction_end",
            "restriction_id",
            lambda w, _: {"on_request_of": "parent", "reason": "", "action": "end"},
            lambda w, r, v: [(Interaction.RETIRE, r)],
        ),
        Plan(
            "consent:restriction_end",
            "restriction_id",
            lambda w, _: {"on_request_of": "organization", "reason": "We end it", "action": "end"},
            lambda w, r, v: [(Interaction.CHANGE, r)],
        ),
    ],
    "notes:add": [_note_plan(kind) for kind in ("contact_log", "treatment_attendance", "case_note")],
    # One to the Part 2 programme (a Part 2 record, whoever makes it), one to the pantry (social needs).
    "referrals:new": [_referral_plan("otp", FamilyNeed.MOUD), _referral_plan("pantry", FamilyNeed.FOOD)],
    # The referring side's next change (send a draft, else cancel) and the receiving side's (accept, else
    # complete, else decline): whoever the policy refuses may post either, and nothing changes.
    "referrals:change": [_change_plan(referring=True), _change_plan(referring=False)],
    # Screening (issue 13): giving one (a record of her organisation, of the kind its file names for the
    # organisation's type); answering, a new link and withdrawing change the response; closing an alert changes it.
    "screening:start": [
        Plan(
            "screening:start",
            None,
            lambda w, _: {"instrument": "phq9", "language": "en", "how_given": "with_staff"},
            lambda w, _, v: [
                (Interaction.CREATE, _new(ScreeningResponse, w, v, "mental_health", kind="mental_health_screen"))
            ],
        )
    ],
    "screening:fill": [
        Plan(
            "screening:fill",
            "response_id",
            lambda w, r: {"answer-q1": "2", "shown": ["q1"], "go": "review", "version": r.version},
            lambda w, r, v: [(Interaction.CHANGE, r)],
        )
    ],
    "screening:new_link": [
        Plan("screening:new_link", "response_id", lambda w, r: {}, lambda w, r, v: [(Interaction.CHANGE, r)])
    ],
    "screening:withdraw": [
        Plan(
            "screening:withdraw",
            "response_id",
            lambda w, r: {"version": r.version},
            lambda w, r, v: [(Interaction.CHANGE, r)],
        )
    ],
    "screening:close_alert": [
        Plan(
            "screening:close_alert",
            "alert_id",
            lambda w, a: {"version": a.version, "action": "safety_plan", "note": "Posted"},
            lambda w, a, v: [(Interaction.CHANGE, a)],
        )
    ],
    # Pathways (issue 14): enrolling, child-welfare dates, conversations, steps, the Plan of Safe Care and its needs.
    **canary_pathways.plans(Plan, _new),
}
# API paths whose writing methods the canary posts (none yet: the API only reads).
API_PLANNED: dict[str, set[str]] = {}
# Routes under a family that only read (their GETs are checked above), and why no POST plan.
READ_ONLY = {
    "families:detail": "the family page",
    "families:export": "the JSON export",
    "consent:list": "her consents",
    "consent:detail": "one consent",
    "consent:accounting": "her accounting of disclosures",
    "referrals:detail": "one referral (its form posts to referrals:change)",
    "referrals:inbox": "the referrals sent to her organisation",
    "referrals:network": "counts of referrals between organisations, naming no family",
    "screening:detail": "one screening (its forms post to screening:fill, new_link, withdraw, close_alert)",
    "screening:alerts": "the open safety alerts she was told of",
    "screening:alert": "an alert's address: redirects to its screening",
    **canary_pathways.READ_ONLY,
}
# Routes whose pages hold a family's records: each needs a POST plan or a reason in READ_ONLY.
FAMILY_RECORD_ROUTES = ("families/<int:family_id>/", "referrals/", "screening/", "pathways/")
# Routes that write but are not about an existing family's records.
NOT_A_FAMILY_RECORD = {
    "screening:protocol": "her organisation's safety protocol (its lead writes it; no family's record)",
    "families:create": "creates a new family in her own organisation's name (any role that reads contact may)",
}

PLAN_TARGETS: dict[str | None, Callable[[World], list[Any]]] = {
    None: lambda w: [None],
    "episode_id": lambda w: list(PregnancyEpisode.objects.filter(family=w.family).order_by("pk")),
    "member_id": lambda w: list(CareTeamMember.objects.filter(care_team__family=w.family).order_by("pk")),
    "directive_id": lambda w: list(ConsentDirective.objects.filter(family=w.family).order_by("pk")),
    "restriction_id": lambda w: list(Restriction.objects.filter(family=w.family).order_by("pk")),
    "order_id": lambda w: list(CourtOrder.objects.filter(family=w.family).order_by("pk")),
    "referral_id": lambda w: list(Referral.objects.filter(family=w.family).order_by("pk")),
    "response_id": lambda w: list(ScreeningResponse.objects.filter(family=w.family).order_by("pk")),
    "alert_id": lambda w: list(SafetyAlert.objects.filter(family=w.family).order_by("pk")),
    **canary_pathways.PLAN_TARGETS,
}


def uncovered(routes: list[Route]) -> list[str]:
    """What the canary cannot check yet: a path parameter it cannot fill, a form under a family without a
    plan, a plan for a route that is gone. Each names what to add."""
    problems = [
        f"{problem} the canary cannot fill: add it to FILLERS (the ids of its record type), so the route is "
        "checked for leaks"
        for problem in unfillable(routes)
    ]
    for r in routes:
        if r.pattern.startswith(FAMILY_RECORD_ROUTES) and not (
            r.name in PLANS or r.name in READ_ONLY or r.name in NOT_A_FAMILY_RECORD
        ):
            if r.name in BEARER_ROUTES:
                continue  # posted to by ``check_links``
            problems.append(
                f"route {r.name} ({r.pattern}) holds a family's records but the canary has no POST plan for it: "
                "add a Plan (what a plausible form posts and which interactions the policy must allow), or list "
                "it in READ_ONLY with the reason it never writes"
            )
    # The API says which methods each path answers (its OpenAPI schema): one that writes needs a plan too.
    for path, methods in api.get_openapi_schema(path_prefix="/api")["paths"].items():
        for method in sorted(set(methods) - API_PLANNED.get(path, set()) - {"get", "head", "options"}):
            problems.append(
                f"the API answers {method.upper()} {path}: the canary has no plan for it; add one (what it posts and "
                "which interactions the policy must allow), so a refused call is shown to change nothing"
            )
    names = {r.name for r in routes}
    problems += [
        f"the canary names route {name}, which no longer exists"
        for name in [*PLANS, *READ_ONLY, *BEARER_ROUTES, *FAMILY_QUERIES]
        if name not in names
    ]
    return problems


# --- the test -------------------------------------------------------------------------------------------

# Each example is some 1200 to 2500 requests and 100 to 400 posts (20 to 60 seconds on an idle machine). 12 worlds
# are drawn (KINFOLD_CANARY_EXAMPLES); `make test` draws 2 on its PostgreSQL pass. They are drawn in shards of
# WORLDS_PER_SHARD, each shard a test item, so that `pytest -n 2` checks them on both workers at once (instead of
# one worker checking all 12 while the other finishes the suite and waits). Each shard keeps only the worlds
# whose ``shard_of`` is its number: no world is checked twice, and the worlds are as many as asked (rounded up to
# a multiple of the shards). The simplest world, which Hypothesis draws first in every shard, is checked once.
# A shard draws fewer than 10 examples, so after the simplest world Hypothesis draws every world at random (with
# 10 or more it draws its second world small).
EXAMPLES = int(os.environ.get("KINFOLD_CANARY_EXAMPLES", "12"))
WORLDS_PER_SHARD = 1
SHARDS = max(1, -(-EXAMPLES // WORLDS_PER_SHARD))


def shard_of(spec: WorldSpec) -> int:
    """The shard that checks this world: the same in every process (unlike ``hash``), so a failing world saved
    in Hypothesis's database is replayed by its shard."""
    text = repr(spec)
    assert " at 0x" not in text, f"a world's repr must not name memory addresses, or its shard varies: {text}"
    return zlib.crc32(text.encode()) % SHARDS


SETTINGS = settings(
    max_examples=-(-EXAMPLES // SHARDS),
    deadline=None,
    # No shrinking or explaining: each re-runs a failing world dozens of times (minutes), and the failure
    # already names every leak (route, viewer, record) and prints the world that showed it.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,  # a shard keeps one world in SHARDS: rejecting one costs nothing
    ],
)


def _client(w: World, key: str) -> Client:
    client = Client()
    client.force_login(w.staff[key].user)
    return client


@dataclass
class Run:
    """One example's world and what the canary found in it."""

    w: World
    routes: list[Route]
    seers: dict[str, Seer]
    clients: dict[str, Client]
    pattern: re.Pattern[str]
    by_text: dict[str, Marked]
    baseline: dict[str, list[dict[str, Any]]]
    values: dict[str, list[Any]]  # each path parameter's values in this world
    queries: dict[str, list[str]]  # each route's family queries in this world (FAMILY_QUERIES)
    sent: dict[str, set[Marked]]  # what each link's page may show: what was sent with its referral
    leaks: list[str] = field(default_factory=list)

    def shown(
        self, what: str, route: str, response: Any, seer: Seer, purposes: set[str], sent: set[Marked] | None = None
    ) -> None:
        messages = pending_messages(self.clients[seer.key])
        self.leaks.extend(
            f"{what} as {seer.label}: {leak}"
            for leak in leaks_in(response, route, seer, purposes, self.pattern, self.by_text, messages, sent=sent)
        )

    def sent_with(self, route: Route, path: str) -> set[Marked] | None:
        """On a page whose authority is a token: what was sent with the referral its link is for (nothing, for
        a token that opens no link). ``None`` elsewhere."""
        if route.name not in BEARER_ROUTES:
            return None
        token = path.rstrip("/").rsplit("/", 1)[-1]
        return self.sent.get(token, set())


def sent_by_link(w: World, pattern: re.Pattern[str], by_text: dict[str, Marked]) -> dict[str, set[Marked]]:
    """For each link that works: the markers sent with its referral (its reason and hand-off note, and each
    item's content as sent). A link whose referral has closed shows nothing."""
    out: dict[str, set[Marked]] = {}
    for token in w.tokens:
        link = referral_links.open_link(token)
        if link is None:
            continue
        r = link.referral
        text = "\n".join([json.dumps(r.sent_items), r.reason, r.handoff_note])
        out[token] = {by_text[t.lower()] for t in pattern.findall(text)}
    return out


def check_reads(run: Run) -> None:
    """(a) Every GET route, for every viewer, with and without a stated purpose."""
    gets = 0
    for i, (key, seer) in enumerate(run.seers.items()):
        default = seer.viewer.default_purpose
        # The example's two purposes, taken in turn by its viewers (one each keeps an example near 20 seconds).
        stated = run.w.spec.purposes[i % len(run.w.spec.purposes)]
        for route in run.routes:
            variants: list[tuple[str, dict[str, Any]]] = [("", {})]
            if seer.viewer.may_see_family_data and ("family_id" in route.parameters or route.name in FAMILY_LISTS):
                variants += [(f"?purpose={stated}", {}), *VARIANTS.get(route.name, [])]
            if seer.viewer.may_see_family_data:
                variants += [(query, {}) for query in run.queries.get(route.name, [])]
            for path in instances(route, run.w, run.values):
                for query, headers in variants:
                    url = path + query
                    try:
                        response = run.clients[key].get(url, **headers)
                    except Exception as error:  # a crash names its route and viewer
                        raise AssertionError(f"GET {url} as {seer.label} raised {error!r}") from error
                    gets += 1
                    assert response.status_code < 500, f"GET {url} as {seer.label}: {response.status_code}"
                    purposes = {default} | ({p} if (p := requested_purpose(query)) else set())
                    run.shown(f"GET {url}", route.name, response, seer, purposes, run.sent_with(route, path))
                    if response.status_code in (301, 302, 405):
                        break  # a redirect, or a form that only posts: no variant answers otherwise
    tell(f"GET requests: {gets // 250 * 250}+")
    read_changes = changes(run.baseline, snapshot())
    assert not read_changes, f"reading pages changed family records: {read_changes}"


def check_writes(run: Run) -> None:
    """(b) Every form under a family, posted by every viewer the policy refuses; and once by one it permits
    (a Hypothesis event says whether that wrote, so a plan whose form never writes would show)."""
    w = run.w
    refused_posts = 0
    for name, plans in PLANS.items():
        route = next(r for r in run.routes if r.name == name)
        for plan in plans:
            for target in PLAN_TARGETS[plan.kwarg](w):
                values = {"family_id": w.family.pk}
                if plan.kwarg is not None:
                    values[plan.kwarg] = target.pk
                url = route.path(values)
                permitted: list[str] = []
                for key, seer in run.seers.items():
                    v = seer.viewer
                    if plan.denied is not None:
                        denied, why = plan.denied(v), "only clinicians declare an emergency"
                    else:
                        decisions = [(i, seer.decide(facts, interaction=i)) for i, facts in plan.needs(w, target, v)]
                        denied = any(not d.permitted for _, d in decisions)
                        why = "; ".join(f"{i}: {d.reason}" for i, d in decisions if not d.permitted)
                    if not denied:
                        permitted.append(key)
                        continue
                    refused_posts += 1
                    response, changed = post(run, key, url, plan, target)
                    if changed:
                        run.leaks.append(
                            f"POST {url} as {seer.label}: the policy denies it ({why}) but it changed {changed}"
                        )
                    run.shown(f"POST {url}", name, response, seer, {v.default_purpose})
                if permitted:
                    coordinator = w.current_coordinator()
                    key = coordinator if coordinator in permitted else permitted[0]
                    response, changed = post(run, key, url, plan, target)
                    run.shown(f"POST {url}", name, response, run.seers[key], {run.seers[key].viewer.default_purpose})
                    tell(f"{name} posted by a permitted viewer {'wrote' if changed else 'wrote nothing'}")
    tell(f"refused posts: {min(refused_posts // 25 * 25, 200)}+")


def post(run: Run, key: str, url: str, plan: Plan, target: Any) -> tuple[Any, list[str]]:
    """Post the plan's form as ``key``, in a savepoint rolled back; what it changed in the family's records."""
    label = run.seers[key].label
    with rolled_back():
        try:
            response = run.clients[key].post(url, plan.data(run.w, target))
        except Exception as error:
            raise AssertionError(f"POST {url} as {label} raised {error!r}") from error
        changed = changes(run.baseline, snapshot())
    assert response.status_code < 500, f"POST {url} as {label}: {response.status_code}"
    return response, changed


def check_links(run: Run) -> None:
    """(c) The one-time link page, as its holder opens it (no account): a link that works shows what was sent
    with its referral and nothing else; an altered, unknown or closed one shows nothing, and an answer posted
    to it changes nothing; an answer posted twice from a link that works is taken once."""
    for name, parameter in BEARER_ROUTES.items():
        route = next(r for r in run.routes if r.name == name)
        for token in run.values[parameter]:
            url = route.path({parameter: token})
            client = Client()  # nobody signed in
            sent = run.sent.get(token, set())

            def shown(
                what: str, response: Any, client: Client = client, sent: set[Marked] = sent, route: str = name
            ) -> None:
                assert response.status_code < 500, f"{what} without an account: {response.status_code}"
                found = leaks_in(
                    response, route, None, set(), run.pattern, run.by_text, pending_messages(client), sent=sent
                )
                run.leaks.extend(f"{what} without an account: {leak}" for leak in found)

            shown(f"GET {url}", client.get(url))
            link = referral_links.open_link(token)
            if link is None:
                with rolled_back():
                    response = client.post(url, {"action": "accept"})
                    changed = changes(run.baseline, snapshot())
                shown(f"POST {url}", response)
                if changed:
                    run.leaks.append(f"POST {url}: a link that does not work changed {changed}")
                continue
            action = sorted(referral_links.actions_left(link))[0]
            status = referral_links.ACTION_STATUS[action]
            data = {"action": action, "reason_code": REFERRAL_REASONS.get(status, ""), "words": "Posted"}
            with rolled_back():
                first = client.post(url, data)
                after = snapshot()
                second = client.post(url, data)
                again = changes(after, snapshot())
            tell(f"a link's answer ({action}) {'wrote' if changes(run.baseline, after) else 'wrote nothing'}")
            shown(f"POST {url}", first)
            shown(f"POST {url} again", second)
            if again:
                run.leaks.append(f"POST {url} again: the link's {action!r} was taken twice: {again}")


def canary(spec: WorldSpec) -> list[str]:
    """Build the world, check every route, and return what leaked (nothing, if the door holds)."""
    routes = discover_routes()
    assert not uncovered(routes), "\n".join(uncovered(routes))
    with rolled_back(), quiet_refusals(), canary_pathways.readable_pdfs():
        w = build(spec)
        refreshed(w)
        pattern, by_text = finder(w)
        copies_sent(w, pattern, by_text)
        run = Run(
            w=w,
            routes=routes,
            seers={key: Seer(key, w.viewer(key), w) for key in w.staff},
            clients={key: _client(w, key) for key in w.staff},
            pattern=pattern,
            by_text=by_text,
            baseline=snapshot(),
            values={name: fill(w) for name, fill in FILLERS.items()},
            queries={name: queries(w) for name, queries in FAMILY_QUERIES.items()},
            sent=sent_by_link(w, pattern, by_text),
        )
        check_reads(run)
        check_writes(run)
        check_links(run)
        return sorted(set(run.leaks))


def test_the_canary_covers_every_route_of_the_site_and_the_api():
    """Fast, and first: a new route whose parameters or form the canary does not know fails here by name."""
    routes = discover_routes()
    assert {"families:detail", "consent:detail", "api:get_family", "notes:add"} <= {r.name for r in routes}
    problems = uncovered(routes)
    assert not problems, "\n".join(problems)


# --- two small worlds every run checks (each found by the property below; kept so they are checked every time) ---

TEAM_WIDE = ConsentSpec(
    recorder="coord",
    phase=0,
    discloser_orgs=(),
    discloser_classes=("care_team",),
    recipient_orgs=(),
    recipient_people=(),
    recipient_classes=("care_team",),
    purposes=("care_coordination", "child_welfare_case", "treatment"),
    categories=("contact", "general_health"),
    by_event=False,
    described=True,
    by_representative=False,
    fate="kept",
)
# The court coordinator named in a court order (recorded by the community organisation's privacy officer,
# covering contact details only) reads the parent's name under it; an OB clinician on the team reads it under
# the team-wide consent. Both then open her accounting of disclosures.
COURT_ORDER_WORLD = WorldSpec(
    optional=(),
    team=("ob", "cps"),
    leavers=(),
    leave_by_self=False,
    handover_to=None,
    rep_by="coord",
    other_by=None,
    pregnancy_by="coord",
    delivery_by="ob",
    twins=False,
    ongoing_by="ob",
    ongoing_days=150,
    notes=(("counsellor", "treatment_attendance", 2), ("cps", "case_note", 2), ("ob", "prenatal_visit", 0)),
    consents=(TEAM_WIDE,),
    order=OrderSpec(
        recorder="cpo", categories=("contact",), window="current", findings=False, findings_later=False, named=True
    ),
    restrictions=(),
    emergency=None,
    purposes=("court_proceeding", "treatment"),
)
# The Part 2 programme's privacy officer, on the team while the team-wide consent reached her (it covers
# operations, her role's purpose), records the parent's request that CPS not share with the court; then she
# leaves the team. She (and her programme's counsellor) still read that request, their organisation's own
# contact record, but may no longer open the family.
RESTRICTION_WORLD = replace(
    COURT_ORDER_WORLD,
    team=("otp_po",),
    leavers=("otp_po",),
    leave_by_self=True,
    notes=(),
    consents=(replace(TEAM_WIDE, purposes=("care_coordination", "operations", "treatment"), categories=("contact",)),),
    order=None,
    restrictions=(
        RestrictionSpec(
            requester="otp_po",
            disclosing="cps",
            recipient_org="court",
            recipient_person=None,
            categories=(),
            purposes=(),
            fate="requested",
        ),
    ),
)


# Referrals: the coordinator refers her to the Part 2 programme for MOUD (its intake nurse accepts, starts and
# completes it, with an outcome) and to the pantry, which accepts from its emailed link, under a consent that
# lets her organisation send to both (for payment too: the programme's billing staff read the referral); the
# OB clinician, on her team, refers her to the pantry without such a consent (a draft), then leaves the team
# (her draft stays her organisation's record, but the family is no longer open to her). A stand-alone consent
# lets the community organisation's contact and SUD-treatment records reach the court, which is on her team: the
# court coordinator reads the referral to the programme, but not her pregnancy, which it sent a copy of.
REFERRAL_CONSENT = replace(
    TEAM_WIDE,
    discloser_classes=(),
    discloser_orgs=("community",),
    recipient_classes=(),
    recipient_orgs=("otp", "pantry"),
    purposes=("care_coordination", "payment", "treatment"),
    categories=("contact", "general_health", "social_needs", "sud_treatment"),
)
COURT_CONSENT = replace(
    TEAM_WIDE,
    discloser_classes=(),
    discloser_orgs=("community",),
    recipient_classes=(),
    recipient_orgs=("court",),
    purposes=("court_proceeding",),
    categories=("contact", "sud_treatment"),
    described=False,
)
REFERRAL_WORLD = replace(
    COURT_ORDER_WORLD,
    optional=("billing",),
    team=("ob", "cps", "court"),
    leavers=("ob",),
    leave_by_self=True,
    notes=(("coord", "social_needs", 2),),
    consents=(TEAM_WIDE, REFERRAL_CONSENT, COURT_CONSENT),
    order=None,
    referrals=(
        ReferralSpec("coord", "otp", FamilyNeed.MOUD, 1, "completed", "intake"),
        ReferralSpec("coord", "pantry", FamilyNeed.FOOD, 1, "accepted", "intake"),
        ReferralSpec("ob", "pantry", FamilyNeed.HOUSING, None, "requested", "intake"),
    ),
)


def test_a_referral_page_shows_only_what_its_viewer_may_read(db):
    """The referral page shows the referral (the referring organisation's record), her name, the copies of
    what it sent (to the receiving organisation's staff) and the receiving side's answers, each only to whom the
    door shows it; the link page only what was sent."""
    leaks = canary(REFERRAL_WORLD)
    assert not leaks, "the door let through:\n" + "\n".join(leaks)


def test_the_accounting_names_no_consent_or_court_order_she_may_not_read(db):
    """Each entry's basis ("because of <consent title> (signed …, version N)", "court order <reference>") is
    part of what the page shows: it must be shown only to whom the door shows that consent or order."""
    leaks = canary(COURT_ORDER_WORLD)
    assert not leaks, "the door let through:\n" + "\n".join(leaks)


def test_a_restriction_request_page_shows_no_family_she_may_not_open(db):
    """Reading a request (her own organisation's record) does not open the family: the decide and end pages
    must not show the parent's name to someone the policy does not let read it."""
    leaks = canary(RESTRICTION_WORLD)
    assert not leaks, "the door let through:\n" + "\n".join(leaks)


@pytest.mark.parametrize("shard", range(SHARDS))
@SETTINGS
@given(spec=worlds())
def test_no_route_shows_a_denied_record_and_no_refused_form_changes_anything(db, shard: int, spec: WorldSpec):
    assume(shard_of(spec) == shard)  # another shard checks this world
    leaks = canary(spec)
    assert not leaks, "the door let through:\n" + "\n".join(leaks)
