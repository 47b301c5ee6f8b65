"""Reads of referrals, through the door: the family page's section, a referral's page, the "Referrals waiting on
us" inbox, the network's health figures, and her facts for the directory's "fits this family".

The referring side reads the receiving side's answers only where the door lets it: a Part 2 programme's
answer, without her consent to share it, shows only that the referral was answered (CONSENT-RULES,
"Referrals").
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from kinfold import clock
from kinfold.access.door import Access, access_record
from kinfold.access.facts import Compiled, compiled_batch
from kinfold.access.gate import RecordGate
from kinfold.access.http import viewer_for
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, role_access
from kinfold.directory.models import Need
from kinfold.families.models import Insurance, PregnancyEpisode
from kinfold.families.sections import Notice, SectionContext
from kinfold.families.selectors import open_family
from kinfold.notes.models import Note
from kinfold.organizations.models import Organization
from kinfold.prepared import prepared_list
from kinfold.referrals.models import (
    AWAITING_ANSWER,
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Referral,
    ReferralEvent,
    ReferralLink,
    ReferralNotice,
    ReferralStatus,
)
from kinfold.referrals.services import REASONS, RECEIVER, REFERRER, allowed_changes, side_of

S = ReferralStatus
WITHHELD = "answered"


@dataclass
class ReferralView:
    """A referral as one viewer may see it: its status in words, and the answers she may read."""

    referral: Referral
    side: str | None
    status: str  # a ReferralStatus value, or "answered" when the answer is withheld from her
    status_words: str
    withheld_why: str = ""
    events: list[ReferralEvent] = field(default_factory=list)
    hidden_events: int = 0
    outcome: str = ""  # the closing answer's words, only when she may read that answer

    @property
    def overdue(self) -> bool:
        r = self.referral
        return r.status in AWAITING_ANSWER and r.due_at is not None and r.due_at < clock.now()

    @property
    def is_open(self) -> bool:
        return self.referral.status in OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status != WITHHELD and self.referral.status in CLOSED_STATUSES

    @property
    def last_reason(self) -> str:
        for event in reversed(self.events):
            if event.reason_code or event.words:
                codes = REASONS.get(event.to_status, {})
                code = codes.get(event.reason_code, "")
                return f"{code}: {event.words}" if code and event.words else (code or event.words)
        return ""


def view_of(gate: RecordGate, referral: Referral, events: list[ReferralEvent]) -> ReferralView:
    viewer = gate.viewer
    side = side_of(viewer, referral)
    shown = [e for e in events if gate.show(e, family_id=referral.family_id)]
    for e in shown:
        e.reason_words = REASONS.get(e.to_status, {}).get(e.reason_code, "")  # type: ignore[attr-defined]
    hidden = len(events) - len(shown)
    status = referral.status
    words = S(status).label
    why = ""
    answers = [e for e in events if e.created_by_org_id == referral.receiving_org_id]
    if side != RECEIVER and answers and answers[-1] not in shown:
        # The latest answer is the receiving organisation's record she may not read.
        referral_status_is_own = referral.status in (S.CANCELLED, S.DRAFT)
        if not referral_status_is_own:
            status, words = WITHHELD, "Answered"
            why = (
                f"{referral.receiving_org.name} answered. What it said is protected by federal law (42 CFR Part 2); "
                "her consent does not let it reach your organisation."
            )
    closing = [e for e in events if e.to_status in (S.COMPLETED, S.FAILED)]
    outcome = referral.outcome if closing and closing[-1] in shown else ""
    return ReferralView(referral, side, status, words, why, shown, hidden, outcome)


def _events_by_referral(referral_ids: list[int]) -> dict[int, list[ReferralEvent]]:
    found: dict[int, list[ReferralEvent]] = defaultdict(list)
    for event in ReferralEvent.objects.filter(referral_id__in=referral_ids).select_related(
        "referral", "created_by_org"
    ):
        found[event.referral_id].append(event)
    return found


def _family_referrals(family_id: Any) -> QuerySet[Referral]:
    return Referral.objects.filter(family_id=family_id).select_related(
        "receiving_org", "created_by_org", "created_by", "service"
    )[:50]


def family_referrals(context: SectionContext) -> dict[str, Any]:
    """The family page's referrals: each loop's state at a glance, newest first."""
    gate = context.gate
    rows = prepared_list("referrals.family", _family_referrals, context.family.pk)
    visible = gate.visible(rows, family_id=context.family.pk)
    events = _events_by_referral([r.pk for r in visible])
    views = [view_of(gate, r, events.get(r.pk, [])) for r in visible]
    return {
        "referrals": views,
        "open": [v for v in views if not v.is_closed],
        "closed": [v for v in views if v.is_closed],
        "may_refer": gate.opens_family(context.family.pk),
    }


def export_referrals(data: dict[str, Any], notice: Notice) -> dict[str, Any]:
    return {
        "referrals": [
            {
                "id": v.referral.pk,
                "need": v.referral.need,
                "to": v.referral.receiving_org.name,
                "from": v.referral.created_by_org.name,
                "status": v.status,
                "sent_at": v.referral.sent_at,
                "due_at": v.referral.due_at,
                "answers": [
                    {"status": e.to_status, "reason": e.reason_code, "words": e.words, "at": e.occurred_at}
                    for e in v.events
                ],
                **notice(v.referral),
            }
            for v in data["referrals"]
        ]
    }


def access_referral(
    *, viewer: Viewer, family_id: int, referral_id: int, interaction: str = Interaction.READ
) -> Access[Referral]:
    return access_record(
        viewer,
        Referral.objects.select_related(
            "receiving_org", "created_by_org", "created_by", "service", "directory_org", "family", "assigned_to"
        ),
        referral_id,
        family_id=family_id,
        interaction=interaction,
    )


@dataclass
class ReferralPage:
    view: ReferralView
    gate: RecordGate
    changes: list[tuple[str, str, dict[str, str]]]  # (status, label, reason codes) she may choose now

    @property
    def referral(self) -> Referral:
        return self.view.referral


def referral_page(*, viewer: Viewer, family_id: int, referral_id: int) -> ReferralPage:
    access = access_referral(viewer=viewer, family_id=family_id, referral_id=referral_id)
    referral, gate = access.record, access.gate
    events = _events_by_referral([referral.pk]).get(referral.pk, [])
    view = view_of(gate, referral, events)
    gate.record_disclosures(channel="page")
    side = view.side
    changes: list[tuple[str, str, dict[str, str]]] = []
    if side is not None and gate.may(Interaction.CHANGE, referral):
        changes = [(s, str(S(s).label), REASONS.get(s, {})) for s in allowed_changes(referral, side)]
    return ReferralPage(view, gate, changes)


# --- the inbox ------------------------------------------------------------------------------------------------


@dataclass
class InboxRow:
    referral: Referral
    family_name: str  # "" when she may not see it (her consent changed)
    overdue: bool


def waiting_on_us(viewer: Viewer, *, include_closed: bool = False) -> list[InboxRow]:
    """Referrals sent to the viewer's organisation: open ones first, oldest deadline first."""
    if viewer.organization_id is None:
        return []
    qs = Referral.objects.filter(receiving_org_id=viewer.organization_id, sent_at__isnull=False).select_related(
        "created_by_org", "family", "family__parent", "assigned_to__user"
    )
    if not include_closed:
        qs = qs.filter(status__in=OPEN_STATUSES)
    rows = list(qs.order_by("due_at", "pk")[:200])
    if not rows:
        return []
    gate = RecordGate.open(viewer, {r.family_id for r in rows})
    now = clock.now()
    result = []
    for r in rows:
        name = ""
        if gate.shows_family(r.family_id) and r.family.parent is not None:
            name = r.family.parent.display_name
        result.append(InboxRow(r, name, r.status in AWAITING_ANSWER and r.due_at is not None and r.due_at < now))
    gate.record_disclosures(channel="page")
    return result


def sent_by_us_counts(viewer: Viewer, family_ids: list[int]) -> dict[int, dict[str, int]]:
    """For the caseload: per family, the referrals her organisation sent that her role may see (rule 1), open
    and overdue. One query (the caseload sends it with its others: ``sent_by_us_query``, ``sent_by_us_from``)."""
    query = sent_by_us_query(viewer, family_ids)
    return sent_by_us_from(viewer, compiled_batch([query])[0]) if query is not None else {}


def _sent_by_us(ids: Any, organization_id: Any, categories: Any) -> QuerySet[Any]:
    return (
        Referral.objects.filter(
            family_id__in=ids,
            created_by_org_id=organization_id,
            sensitivity__in=categories,
            status__in=OPEN_STATUSES,
        )
        .order_by()
        .values_list("family_id", "status", "due_at")
    )


def sent_by_us_query(viewer: Viewer, family_ids: list[int]) -> Compiled | None:
    access = role_access(viewer.role) if viewer.role else None
    if viewer.organization_id is None or access is None or not family_ids:
        return None
    return Compiled(
        "caseload referrals sent by us", _sent_by_us, family_ids, (viewer.organization_id, access.categories)
    )


def sent_by_us_from(viewer: Viewer, rows: list[tuple[Any, ...]]) -> dict[int, dict[str, int]]:
    now = clock.now()
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"open": 0, "overdue": 0})
    for family_id, status, due_at in rows:
        counts[family_id]["open"] += 1
        if status in AWAITING_ANSWER and due_at is not None and due_at < now:
            counts[family_id]["overdue"] += 1
    return dict(counts)


def unread_notices(user: Any) -> list[ReferralNotice]:
    return list(ReferralNotice.objects.filter(recipient=user, read_at__isnull=True).select_related("referral")[:50])


# --- network health -------------------------------------------------------------------------------------------


@dataclass
class PairHealth:
    referring: str
    receiving: str
    sent: int
    accepted: int
    answered: int
    closed_with_outcome: int
    median_hours_to_first_response: float | None

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.answered if self.answered else None

    @property
    def closed_share(self) -> float | None:
        return self.closed_with_outcome / self.sent if self.sent else None


def network_health() -> list[PairHealth]:
    """For each pair of organisations: referrals sent, acceptance rate (of those answered), median time to
    the first response, and the share closed with an outcome. Counts only: no family is named."""
    names = dict(Organization.objects.values_list("pk", "name"))
    pairs: dict[tuple[int, int], list[tuple[int, str, datetime | None, datetime | None, str]]] = defaultdict(list)
    for pk, ref_org, rec_org, status, sent_at, first, outcome in Referral.objects.filter(
        sent_at__isnull=False
    ).values_list("pk", "created_by_org_id", "receiving_org_id", "status", "sent_at", "first_response_at", "outcome"):
        pairs[(ref_org, rec_org)].append((pk, status, sent_at, first, outcome))
    accepted_ever = set(ReferralEvent.objects.filter(to_status=S.ACCEPTED).values_list("referral_id", flat=True))
    result = []
    for (ref_org, rec_org), rows in pairs.items():
        waits = [
            (first - sent).total_seconds() / 3600
            for _, _, sent, first, _ in rows
            if first is not None and sent is not None
        ]
        answered = sum(1 for _, _, _, first, _ in rows if first is not None)
        accepted = sum(1 for pk, *_ in rows if pk in accepted_ever)
        closed = sum(1 for _, status, _, _, outcome in rows if status in (S.COMPLETED, S.FAILED) and outcome)
        result.append(
            PairHealth(
                names.get(ref_org, "?"),
                names.get(rec_org, "?"),
                len(rows),
                accepted,
                answered,
                closed,
                statistics.median(waits) if waits else None,
            )
        )
    return sorted(result, key=lambda p: (p.referring, p.receiving))


# --- her facts for "fits this family" -----------------------------------------------------------------------


def family_fit(request: HttpRequest, family_id: int) -> Any:
    """Her own facts, as the viewer may read them (each through the door), for the directory's "fits this
    family": gestational age today, first pregnancy, county, language, insurance, age and home ZIP."""
    from kinfold.directory.fit import FamilyFit

    viewer = viewer_for(request)
    family, gate = open_family(viewer=viewer, family_id=family_id)
    parent = family.parent
    assert parent is not None
    today = clock.today()
    weeks = postpartum = first = None
    pregnancies = gate.visible(list(PregnancyEpisode.objects.filter(family=family)), family_id=family_id)
    ongoing = next((p for p in pregnancies if p.is_ongoing), None)
    if ongoing is not None:
        ga = ongoing.gestational_age_on(today)
        weeks = ga.weeks if ga is not None else None
        first = ongoing.first_pregnancy
    else:
        latest = max((p for p in pregnancies if p.delivered_on), key=lambda p: p.delivered_on, default=None)  # type: ignore[arg-type, return-value]
        if latest is not None:
            postpartum = latest.postpartum_day_on(today)
            first = latest.first_pregnancy
    age = parent.age_on(today)
    gate.record_disclosures(channel="page")
    return FamilyFit(
        gestational_weeks=weeks,
        postpartum_days=postpartum,
        first_pregnancy=first,
        county=parent.county,
        language=parent.preferred_language if parent.preferred_language != "other" else "",
        medicaid=None if not parent.insurance else parent.insurance == Insurance.MEDICAID,
        moud=request.GET.get("moud", ""),
        age=age.years if age is not None else None,
        postal_code=parent.postal_code,
    )


def family_id_of(referral_id: int) -> int:
    """The family a referral id belongs to (0: none); the door then decides, within that family."""
    return Referral.objects.filter(pk=referral_id).values_list("family_id", flat=True).first() or 0


def notes_to_attach(gate: RecordGate, family: Any) -> list[Note]:
    """Her organisation's own notes about the family that the viewer may read: what a referral may carry."""
    rows = Note.objects.filter(family=family, created_by_org_id=gate.viewer.organization_id)[:20]
    return gate.visible(list(rows), family_id=family.pk)


def referral_behind(link: ReferralLink) -> Referral:
    """The referral a working one-time link opens (the link page shows only what was sent)."""
    return Referral.objects.select_related("receiving_org", "created_by_org", "created_by").get(pk=link.referral_id)


def need_choices() -> list[tuple[str, str]]:
    return [(str(n.value), str(n.label)) for n in Need]


__all__ = ["RECEIVER", "REFERRER"]
