"""What she reads in parent mode, in her language: her consents, her care team and what each member can see,
and the whole accounting of disclosures.

These pages are hers (CONSENT-RULES: "the accounting is hers: she gets all of it (in parent mode on a handed
tablet…)"; a recorded legal representative sees her consents and accounting as she does). So they are not
cut down to what the staff member who handed her the tablet may see, and showing her own records to her is no
disclosure. Each page first opens the family through the door for that staff member (parent mode exists only
for a family she may open), and is audited as read in parent mode. What a team member "can see" is the door's
own decision for that member over the family's records. Nothing here writes, except the audit trail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.access.registry import RecordFacts, facts_by_id, registered
from kinfold.access.rules import DirectiveStatus
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import default_kind, kind_of
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.consent.accounting import accounting_starts, entry_kind
from kinfold.consent.library import library
from kinfold.consent.models import ConsentDirective, ConsentVersion, Disclosure
from kinfold.consent.services import right_to_revoke_text
from kinfold.consent.summaries import (
    CLASS_WORDS,
    PURPOSE_WORDS,
    join_words,
    kinds_words,
    long_date,
    version_summary,
)
from kinfold.families.models import CareTeamMember, Family, FamilyRelationship, Person
from kinfold.families.selectors import FamilyNotFound, open_family
from kinfold.organizations.models import Role
from kinfold.parentmode.services import ParentMode

# Her team's roles in her language (the directory's labels are English).
ROLE_NAMES = {
    Role.CARE_COORDINATOR: gettext_lazy("Care coordinator"),
    Role.CPS_CASEWORKER: gettext_lazy("CPS caseworker"),
    Role.CPS_SUPERVISOR: gettext_lazy("CPS supervisor"),
    Role.MOUD_PRESCRIBER: gettext_lazy("Prescriber of medication for opioid use disorder"),
    Role.SUD_COUNSELOR: gettext_lazy("Substance use counsellor"),
    Role.THERAPIST: gettext_lazy("Therapist"),
    Role.OB_CLINICIAN: gettext_lazy("Pregnancy and birth doctor or midwife"),
    Role.NURSE: gettext_lazy("Nurse"),
    Role.NICU_NURSE: gettext_lazy("NICU nurse"),
    Role.PEDIATRICIAN: gettext_lazy("Children's doctor"),
    Role.SOCIAL_WORKER: gettext_lazy("Social worker"),
    Role.PEER_RECOVERY_COACH: gettext_lazy("Peer recovery coach"),
    Role.FAMILY_MENTOR: gettext_lazy("Family mentor"),
    Role.HOME_VISITOR: gettext_lazy("Home visitor"),
    Role.COURT_COORDINATOR: gettext_lazy("Court coordinator"),
    Role.JUDGE: gettext_lazy("Judge"),
    Role.FRONT_DESK: gettext_lazy("Front desk"),
    Role.BILLING: gettext_lazy("Billing"),
    Role.QUALITY: gettext_lazy("Quality improvement"),
    Role.PRIVACY_OFFICER: gettext_lazy("Privacy officer"),
    Role.PROGRAMME_LEAD: gettext_lazy("Programme lead"),
}
REVOCATION_WAYS = {
    "written": gettext_lazy("in writing, signed"),
    "spoken": gettext_lazy("by telling a member of your team"),
}


# --- her family, opened for the staff member who handed her the tablet -----------------------------------


@dataclass
class HerFamily:
    """The family parent mode is about, who holds the tablet, and the language the pages speak."""

    viewer: Viewer  # the staff member who started parent mode
    family: Family
    gate: RecordGate  # that staff member's gate: it opened the family
    parent: Person
    reader: Person  # the parent, or her recorded legal representative
    language: str

    @property
    def reader_is_parent(self) -> bool:
        return self.reader.pk == self.parent.pk

    def audit(self, action: str, record_type: str, **detail: Any) -> None:
        record_event(
            actor=self.viewer.user,
            action=action,
            record_type=record_type,
            family_id=self.family.pk,
            purpose=self.gate.purpose,
            detail={"parent_mode": True, "reader": "parent" if self.reader_is_parent else "legal_representative"}
            | detail,
        )


def her_family(*, viewer: Viewer, mode: ParentMode) -> HerFamily:
    """The family of parent mode, if the staff member who started it may still open it (else a 404, audited),
    with whoever holds the tablet: the parent, or a legal representative still recorded as hers."""
    family, gate = open_family(viewer=viewer, family_id=mode.family_id)
    parent = family.parent
    assert parent is not None
    reader = parent
    if mode.reader_person_id is not None and mode.reader_person_id != parent.pk:
        relation = (
            FamilyRelationship.objects.filter(
                family_id=family.pk, person_id=mode.reader_person_id, is_legal_representative=True
            )
            .select_related("person")
            .first()
        )
        if relation is None:  # no longer recorded as her representative: she sees nothing of hers
            raise FamilyNotFound("No family found.")
        reader = relation.person
    return HerFamily(viewer=viewer, family=family, gate=gate, parent=parent, reader=reader, language=mode.language)


def _day(at: datetime, language: str) -> str:
    return long_date(clock.local_date(at), language)


def consent_title(directive: ConsentDirective, version: ConsentVersion | None, language: str) -> str:
    """Its title in her language: a template's own Spanish title when the consent kept the template's name."""
    title = directive.title or _("Consent")
    if language == "es" and version is not None and version.template_key:
        template = library().get(version.template_key)
        if template is not None and directive.title == template.title.en:
            return template.title.es
    return title


# --- her consents ------------------------------------------------------------------------------------------


@dataclass
class HerConsent:
    directive_id: int
    title: str
    summary: str  # the sentence she reads, naming exactly the kinds the policy will permit
    status_key: str  # in_force, pending, incomplete, expired, ended, revoked
    status: str
    signed: str
    right_to_revoke: str  # "" once it is no longer in force or waiting to start
    just_signed: bool = False

    @property
    def is_active(self) -> bool:
        return self.status_key == "in_force"


def status_text(status: DirectiveStatus, language: str) -> str:
    """A consent's status, from the same windows the policy decides with, in her words."""
    since = _day(status.since, language) if status.since is not None else ""
    if status.key == "in_force":
        return _("In force")
    if status.key == "revoked" and since:
        return _("You took it back on %(day)s") % {"day": since}
    if status.key == "pending" and status.until is not None:
        return _("Starts on %(day)s") % {"day": _day(status.until, language)}
    if status.key == "incomplete":
        return _("Covers nothing: a required part is missing")
    if status.key == "ended" and since:
        return _("Ended on %(day)s") % {"day": since}
    if status.key == "expired" and since:
        return _("Ended on %(day)s") % {"day": since}
    return _("Not in force")


def _directives(family_id: int) -> list[ConsentDirective]:
    versions = (
        ConsentVersion.objects.order_by("-number")
        .select_related("signer_person")
        .prefetch_related("discloser_orgs", "recipient_orgs", "recipient_people__user")
    )
    return list(
        ConsentDirective.objects.filter(family_id=family_id)
        .prefetch_related(Prefetch("versions", queryset=versions))
        .order_by("-created_at", "-pk")
    )


def her_consents(*, page: HerFamily, just_signed: int | None = None) -> list[HerConsent]:
    """Every consent of hers (not only those the staff member may see), newest first, in her language."""
    lang = page.language
    rows = []
    with translation.override(lang):
        for directive in _directives(page.family.pk):
            versions = list(directive.versions.all())
            if not versions:
                continue
            latest = versions[0]
            status = page.gate.directive_status(family_id=page.family.pk, directive_id=directive.pk)
            rows.append(
                HerConsent(
                    directive_id=directive.pk,
                    title=consent_title(directive, latest, lang),
                    summary=version_summary(latest, language=lang),
                    status_key=status.key,
                    status=status_text(status, lang),
                    signed=_("Signed on %(day)s by %(name)s")
                    % {"day": _day(latest.signed_at, lang), "name": latest.signer_name},
                    right_to_revoke=right_to_revoke_text(lang) if status.key in ("in_force", "pending") else "",
                    just_signed=directive.pk == just_signed,
                )
            )
    page.audit(Action.LIST, "ConsentDirective", directive_ids=[r.directive_id for r in rows])
    return rows


# --- her team, and what each member can see ------------------------------------------------------------------


@dataclass
class HerTeamMember:
    name: str
    organization: str
    role: str
    is_coordinator: bool
    kinds: list[str]  # the kinds of information the policy lets this member read, of her records today
    sees: str  # those kinds, in her words ("" when none)


def family_record_facts(family_id: int) -> list[RecordFacts]:
    """The facts of every record of the family, of every record type declared to the door (one query each
    for the ids, one for the facts)."""
    found: list[RecordFacts] = []
    for rt in registered():
        lookup = {"pk": family_id} if rt.family_path == "pk" else {rt.family_path.replace(".", "__"): family_id}
        ids = list(rt.model._default_manager.filter(**lookup).values_list("pk", flat=True))
        found.extend(facts_by_id(rt.name, ids).values())
    return found


def readable_kinds(viewer: Viewer, family_id: int, records: Iterable[RecordFacts], at: datetime) -> set[str]:
    """The kinds of information among ``records`` the door lets ``viewer`` read, for her role's purpose, at
    ``at``: the same decision every page of hers is made with."""
    gate = RecordGate.open(viewer, [family_id], at=at)
    return {facts.kind or default_kind(facts.category) for facts in records if gate.may_see(facts)}


def her_team(*, page: HerFamily) -> list[HerTeamMember]:
    """Everyone on her care team now (coordinator first), each with what the policy lets them see of her
    records: the kinds named in the words of her consents."""
    lang = page.language
    members = list(
        CareTeamMember.objects.active()
        .filter(care_team__family_id=page.family.pk)
        .select_related("membership__user", "membership__organization")
        .order_by("-is_coordinator", "joined_at", "pk")
    )
    records = family_record_facts(page.family.pk)
    now = clock.now()
    team = []
    with translation.override(lang):
        for member in members:
            membership = member.membership
            kinds = readable_kinds(Viewer(user=membership.user, membership=membership), page.family.pk, records, now)
            known = sorted(k for k in kinds if kind_of(k) is not None)
            team.append(
                HerTeamMember(
                    name=membership.display_name,
                    organization=membership.organization.name,
                    role=str(ROLE_NAMES.get(Role(member.role), member.get_role_display()))
                    if member.role in Role.values
                    else member.role,
                    is_coordinator=member.is_coordinator,
                    kinds=known,
                    sees=kinds_words(known, lang),
                )
            )
    page.audit(Action.LIST, "CareTeamMember", members=len(team))
    return team


# --- the whole accounting of disclosures -----------------------------------------------------------------------


@dataclass
class HerEntry:
    """Who saw what of hers on one day, under one consent, court order or emergency (grouped as the rules allow:
    by recipient and day)."""

    day: date
    day_text: str
    recipient_name: str
    recipient_org: str
    kinds: list[str]
    purpose: str
    sentence: str
    times: int
    made_before_revocation: bool


@dataclass
class HerRevocation:
    at: datetime
    sentence: str


@dataclass
class HerAccounting:
    starts: datetime
    ends: datetime
    starts_text: str
    ends_text: str
    entries: list[HerEntry] = field(default_factory=list)
    revocations: list[HerRevocation] = field(default_factory=list)
    # 42 CFR 2.24: for each consent naming a group, the people it actually reached.
    general_designation_recipients: list[tuple[str, list[str]]] = field(default_factory=list)


def _basis(row: Disclosure, versions: dict[int, ConsentVersion], language: str) -> str:
    if row.consent_version_id is not None:
        version = versions[row.consent_version_id]
        return _("your consent “%(title)s” (signed %(day)s, version %(number)s)") % {
            "title": consent_title(version.directive, version, language),
            "day": _day(version.signed_at, language),
            "number": version.number,
        }
    if row.court_order_id is not None and row.court_order is not None:
        return _("a court order (%(reference)s)") % {"reference": row.court_order.order_reference}
    if row.emergency_id is not None:
        return _("a medical emergency declared by a clinician")
    return _("a rule of the law")


def _sentence(items: list[Disclosure], kinds: list[str], basis: str, language: str) -> str:
    first = items[0]
    return _(
        "%(who)s at %(organization)s saw %(information)s from %(sources)s, for %(purpose)s, because of %(basis)s."
    ) % {
        "who": first.recipient_name,
        "organization": first.recipient_org.name,
        "information": kinds_words(kinds, language),
        "sources": join_words(sorted({i.disclosing_org.name for i in items})),
        "purpose": PURPOSE_WORDS[language].get(first.purpose, first.purpose),
        "basis": basis,
    }


def her_accounting(*, page: HerFamily, now: datetime | None = None) -> HerAccounting:
    """Every disclosure of her family's records in the last three years (an access exactly three years ago
    included), whoever saw them and whoever handed her the tablet; her revocations; and, for a consent naming a
    group, whom it reached. In her language."""
    lang = page.language
    now = now or clock.now()
    starts = accounting_starts(now)
    rows = list(
        Disclosure.objects.filter(family_id=page.family.pk, occurred_at__gte=starts, occurred_at__lte=now)
        .select_related("recipient_org", "disclosing_org", "court_order")
        .order_by("occurred_at", "pk")
    )
    version_ids = {r.consent_version_id for r in rows if r.consent_version_id}
    versions = {v.pk: v for v in ConsentVersion.objects.filter(pk__in=version_ids).select_related("directive")}
    groups: dict[tuple[date, int | None, int, str, int | None, int | None, int | None], list[Disclosure]]
    groups = defaultdict(list)
    for row in rows:
        key = (
            clock.local_date(row.occurred_at),
            row.recipient_user_id,
            row.recipient_org_id,
            row.purpose,
            row.consent_version_id,
            row.court_order_id,
            row.emergency_id,
        )
        groups[key].append(row)
    accounting = HerAccounting(starts=starts, ends=now, starts_text=_day(starts, lang), ends_text=_day(now, lang))
    with translation.override(lang):
        for (day, *_rest), items in groups.items():
            kinds = sorted({entry_kind(r) for i in items for r in i.records})
            revoked = [
                versions[i.consent_version_id].directive.revoked_at
                for i in items
                if i.consent_version_id and versions[i.consent_version_id].directive.revoked_at
            ]
            sentence = _sentence(items, kinds, _basis(items[0], versions, lang), lang)
            if revoked:
                sentence += " " + _("This was before you took that consent back; taking it back does not undo it.")
            if len(items) > 1:
                sentence += " " + ngettext("(%(n)s time that day)", "(%(n)s times that day)", len(items)) % {
                    "n": len(items)
                }
            accounting.entries.append(
                HerEntry(
                    day=day,
                    day_text=long_date(day, lang),
                    recipient_name=items[0].recipient_name,
                    recipient_org=items[0].recipient_org.name,
                    kinds=kinds,
                    purpose=items[0].purpose,
                    sentence=sentence,
                    times=len(items),
                    made_before_revocation=bool(revoked),
                )
            )
        accounting.entries.sort(key=lambda e: (e.day, e.recipient_name), reverse=True)
        revoked_directives = (
            ConsentDirective.objects.filter(family_id=page.family.pk, revoked_at__gte=starts, revoked_at__lte=now)
            .prefetch_related(Prefetch("versions", queryset=ConsentVersion.objects.order_by("-number")))
            .order_by("-revoked_at", "-pk")
        )
        for directive in revoked_directives:
            assert directive.revoked_at is not None
            latest = next(iter(directive.versions.all()), None)
            way = REVOCATION_WAYS.get(directive.revocation_method, directive.revocation_method)
            accounting.revocations.append(
                HerRevocation(
                    at=directive.revoked_at.astimezone(clock.zone()),
                    sentence=_(
                        "On %(day)s you took back “%(title)s” (%(way)s). From that moment nobody can see anything "
                        "more under it. What was shared before stays listed here."
                    )
                    % {
                        "day": _day(directive.revoked_at, lang),
                        "title": consent_title(directive, latest, lang),
                        "way": way,
                    },
                )
            )
        general: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            version = versions.get(row.consent_version_id or 0)
            if version is not None and version.recipient_classes:
                groups_named = join_words([CLASS_WORDS[lang].get(c, c) for c in version.recipient_classes])
                title = consent_title(version.directive, version, lang)
                general[f"{title} — “{groups_named}”"].add(f"{row.recipient_name} ({row.recipient_org.name})")
        accounting.general_designation_recipients = sorted((k, sorted(v)) for k, v in general.items())
    page.audit(Action.VIEW, "Accounting", entries=len(accounting.entries), disclosures=len(rows))
    return accounting
