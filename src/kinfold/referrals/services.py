"""Writing referrals: make one, send it (a disclosure decided item by item by the door), and move it through
its statuses (FHIR Task's), each change by the side allowed to make it, with who, when, a reason code and
words. Rules: ``../shared/CONSENT-RULES.md``, "Referrals"; the statuses and who sets each:
``docs/referrals.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, translation

from kinfold import clock, text_limits
from kinfold.access.door import require, require_create
from kinfold.access.gate import RecordGate
from kinfold.access.registry import facts_of, new_facts
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, Purpose, category_of_kind, default_kind, kind_of
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write, record_event
from kinfold.consent.models import Disclosure
from kinfold.directory.models import DirectoryOrganization, Need, Service, ServiceStatus
from kinfold.families.models import Family, PregnancyEpisode, Sensitivity
from kinfold.families.services import ConcurrentEditError
from kinfold.families.timeline import record_written
from kinfold.notes.models import Note
from kinfold.organizations.models import HEALTH_CARE_PROVIDER_TYPES, Membership, Organization, OrganizationType
from kinfold.pathways import services as pathway_evidence
from kinfold.referrals import deadlines, links
from kinfold.referrals import notify as notices
from kinfold.referrals.models import (
    AWAITING_ANSWER,
    CLOSED_STATUSES,
    Priority,
    Referral,
    ReferralEvent,
    ReferralStatus,
)

S = ReferralStatus

# The kind of information a referral for each need is (access/data/kinds.yaml): what her consent must cover.
NEED_KIND: dict[str, str] = {
    Need.SUD_TREATMENT: "treatment_enrolment",
    Need.MOUD: "medication",
    Need.PRENATAL_CARE: "prenatal_visit",
    Need.MENTAL_HEALTH: "therapy_note",
    Need.IPV_SERVICES: "social_needs_safety",
}
# Treatment needs are sent for treatment; the rest for care coordination.
TREATMENT_NEEDS = frozenset({Need.SUD_TREATMENT, Need.MOUD, Need.PRENATAL_CARE, Need.MENTAL_HEALTH})

REFERRER, RECEIVER = "referrer", "receiver"

# (from, to) -> the side that may make the change. Anything else is refused with a clear message.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, S.REQUESTED): REFERRER,
    (S.REQUESTED, S.RECEIVED): RECEIVER,
    (S.REQUESTED, S.ACCEPTED): RECEIVER,
    (S.RECEIVED, S.ACCEPTED): RECEIVER,
    (S.REQUESTED, S.REJECTED): RECEIVER,
    (S.RECEIVED, S.REJECTED): RECEIVER,
    (S.ACCEPTED, S.IN_PROGRESS): RECEIVER,
    (S.ACCEPTED, S.ON_HOLD): RECEIVER,
    (S.IN_PROGRESS, S.ON_HOLD): RECEIVER,
    (S.ON_HOLD, S.IN_PROGRESS): RECEIVER,
    (S.ACCEPTED, S.COMPLETED): RECEIVER,
    (S.IN_PROGRESS, S.COMPLETED): RECEIVER,
    (S.ACCEPTED, S.FAILED): RECEIVER,
    (S.IN_PROGRESS, S.FAILED): RECEIVER,
    (S.ON_HOLD, S.FAILED): RECEIVER,
    **{(s, S.CANCELLED): REFERRER for s in (S.DRAFT, S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD)},
}

# Reason codes per change; a change to one of these statuses needs a code and words (a rejection says why).
REASONS: dict[str, dict[str, str]] = {
    S.REJECTED: {
        "no_capacity": "No space or waiting list full",
        "not_eligible": "She is not eligible",
        "service_not_offered": "We do not offer this service",
        "could_not_reach": "We could not reach her",
        "she_declined": "She decided not to go ahead",
        "other": "Another reason",
    },
    S.FAILED: {
        "could_not_reach": "We could not reach her",
        "did_not_attend": "She did not come",
        "she_declined": "She decided not to go ahead",
        "service_ended": "The service ended",
        "other": "Another reason",
    },
    S.CANCELLED: {
        "no_longer_needed": "No longer needed",
        "wrong_service": "Sent to the wrong service",
        "she_declined": "She decided not to go ahead",
        "other": "Another reason",
    },
    S.COMPLETED: {
        "service_started": "She started the service",
        "service_delivered": "The service was delivered",
        "other": "Another outcome",
    },
    S.ON_HOLD: {"she_asked": "She asked to pause", "waiting_list": "On a waiting list", "other": "Another reason"},
}
WORDS_REQUIRED = frozenset({S.REJECTED, S.FAILED, S.CANCELLED, S.COMPLETED})


class IllegalChange(Exception):
    """A status change the referral's state or the viewer's side does not allow; the message says why."""


class NotSent(Exception):
    """Her consent does not cover sending the referral or her contact details: nothing was sent."""

    def __init__(self, referral: Referral, left_out: list[dict[str, Any]]) -> None:
        super().__init__("Her consent does not cover sending this referral there.")
        self.referral = referral
        self.left_out = left_out


# --- what a referral is ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    kind: str
    category: str  # as filed (a referral to a Part 2 programme is a Part 2 record)
    authored_category: str  # as its author's organisation would file it
    purpose: str


def terms_for(need: str, *, referring_org: Organization, receiving_org: Organization) -> Terms:
    """The kind, category and purpose of a referral for ``need`` from one organisation to another."""
    kind = NEED_KIND.get(need, "social_needs")
    category = category_of_kind(kind)
    authored = category
    if category == Sensitivity.SUD_TREATMENT and referring_org.type not in HEALTH_CARE_PROVIDER_TYPES:
        # Only health-care providers make SUD-treatment records; it is filed as one all the same, since it
        # names her treatment (CONSENT-RULES, "Records still to come", 4 and 6).
        authored = Sensitivity.GENERAL_HEALTH
    if receiving_org.is_part2_program and category != Sensitivity.SUD_TREATMENT:
        category = Sensitivity.SUD_TREATMENT
        kind = default_kind(category)
    purpose = Purpose.TREATMENT if need in TREATMENT_NEEDS else Purpose.CARE_COORDINATION
    return Terms(kind, category, authored, str(purpose))


def receiving_organization(*, service: Service | None, directory_org: DirectoryOrganization | None) -> Organization:
    """The Kinfold organisation a referral to this listing goes to: the one linked to the listing, or one
    made for it (a community organisation without accounts, which answers from one-time links)."""
    listing = directory_org or (service.organization if service is not None else None)
    if listing is None:
        raise ValidationError({"service": "Choose a service from the directory."})
    if listing.organization_id is not None:
        assert listing.organization is not None
        return listing.organization
    org, _ = Organization.objects.get_or_create(
        name=listing.name[:200], defaults={"type": OrganizationType.COMMUNITY, "is_part2_program": False}
    )
    listing.organization = org
    listing.save(update_fields=["organization"])
    return org


# --- what is sent -----------------------------------------------------------------------------------------------


@dataclass
class Item:
    """One thing a referral would carry, and the door's answer for sending it."""

    key: str  # "referral", "contact", "pregnancy", "note:<id>"
    label: str
    kind: str
    required: bool
    sent: bool
    why: str = ""
    consent_version_id: int | None = None
    facts: Any = None
    content: dict[str, str] | None = None


def _kind_words(kind: str) -> str:
    found = kind_of(kind)
    return found.words.en if found is not None else kind


def plan_items(
    viewer: Viewer,
    *,
    family: Family,
    terms: Terms,
    receiving_org: Organization,
    referral: Referral | None = None,
    note_ids: list[int] | None = None,
    gate: RecordGate | None = None,
) -> list[Item]:
    """What a referral would carry to ``receiving_org``, item by item, each decided by the door's
    ``disclose_to`` for the referral's purpose: the referral itself and her contact details (both needed),
    her pregnancy and the notes chosen, when her organisation made them. ``referral``: the one being sent (written,
    or about to be); without it, one about to be made (the form's preview)."""
    if gate is None:
        gate = RecordGate.open(viewer, [family.pk], terms.purpose)
    to = receiving_org.pk
    items: list[Item] = []

    def decide(item: Item, facts: Any) -> Item:
        decision = gate.decision(facts, interaction=Interaction.DISCLOSE_TO, to_organization_id=to)
        item.facts = facts_of(facts, family_id=family.pk)
        item.sent = decision.permitted
        item.consent_version_id = decision.consent_version_id
        words = f"“{_kind_words(item.kind)}”, in her consent's words"
        item.why = (
            f"her consent covers sending this to {receiving_org.name} ({words})"
            if decision.permitted
            else f"no consent in force lets {_org_name(viewer)} send this to {receiving_org.name}"
            f" for {Purpose(terms.purpose).label.lower()} ({words})"
        )
        return item

    referral_facts = (
        referral
        if referral is not None
        else new_facts(
            Referral,
            family_id=family.pk,
            organization_id=viewer.organization_id or 0,
            category=terms.category,
            kind=terms.kind,
            created_by_id=viewer.user_id,
            subject_org_id=to,
        )
    )
    items.append(
        decide(
            Item("referral", "The referral (need, priority, dates, who referred)", terms.kind, True, False),
            referral_facts,
        )
    )
    parent = family.parent
    if parent is not None:
        items.append(
            decide(
                Item("contact", "Her name and contact details", "identity", True, False),
                parent,
            )
        )
        items[-1].content = {
            "Name": parent.display_name,
            "Phone": parent.phone,
            "Preferred language": str(parent.get_preferred_language_display()),
            "ZIP code": parent.postal_code,
        }
    pregnancy = (
        PregnancyEpisode.objects.filter(family=family, created_by_org_id=viewer.organization_id)
        .order_by("-estimated_due_on")
        .first()
    )
    if pregnancy is not None:
        item = decide(Item("pregnancy", "Her pregnancy (due date, birth)", "pregnancy", False, False), pregnancy)
        item.content = {
            "Due date": f"{pregnancy.estimated_due_on:%-d %B %Y}",
            "Birth": f"{pregnancy.delivered_on:%-d %B %Y}" if pregnancy.delivered_on else "",
        }
        items.append(item)
    if note_ids:
        own_notes = Note.objects.filter(family=family, pk__in=note_ids, created_by_org_id=viewer.organization_id)
        for note in own_notes:
            item = decide(Item(f"note:{note.pk}", f"Note: {note.summary}", note.kind, False, False), note)
            item.content = {"Date": f"{note.occurred_on:%-d %B %Y}", "Summary": note.summary, "Note": note.body}
            items.append(item)
    return items


def _lower_first(words: str) -> str:
    """ "Medication for opioid use disorder (MOUD)" in running text, keeping its acronym."""
    return words[:1].lower() + words[1:]


def _org_name(viewer: Viewer) -> str:
    membership = viewer.membership
    return membership.organization.name if membership is not None else "her organisation"


# --- making and sending -------------------------------------------------------------------------------------


def create_referral(**kwargs: Any) -> Referral:
    """Make a referral (and send it, unless ``send`` is false). A retried submit (same ``request_key``) gives
    back the referral the first one made. If her consent does not cover sending the referral and her contact
    details, it is kept as a draft (committed) and ``NotSent`` says what was left out."""
    referral, not_sent = _create_referral(**kwargs)
    if not_sent is not None:
        raise not_sent
    return referral


@atomic_write
def _create_referral(
    *,
    viewer: Viewer,
    family: Family,
    need: str,
    service: Service | None = None,
    directory_org: DirectoryOrganization | None = None,
    priority: str = Priority.ROUTINE,
    reason: str = "",
    handoff_note: str = "",
    note_ids: list[int] | None = None,
    request_key: str = "",
    send: bool = True,
    gate: RecordGate | None = None,
) -> tuple[Referral, NotSent | None]:
    if request_key:  # a retried submit gives back the referral it made
        existing = Referral.objects.select_related("receiving_org").filter(request_key=request_key).first()
        if existing is not None:
            if existing.family_id != family.pk or existing.created_by_id != viewer.user_id:
                raise ValidationError("This form was already used. Please start again.")
            return existing, None
    if need not in Need.values:
        raise ValidationError({"need": "Choose what she needs."})
    if priority not in Priority.values:
        raise ValidationError({"priority": "Choose a priority."})
    reason, handoff_note = reason.strip(), handoff_note.strip()
    text_limits.refuse_long_text(
        reason=(reason, text_limits.NOTE_BODY), handoff_note=(handoff_note, text_limits.NOTE_BODY)
    )
    if service is not None and service.status != ServiceStatus.ACTIVE:
        raise ValidationError(
            {"service": f"This service is listed as {service.get_status_display().lower()}: it takes no referrals now."}
        )
    if service is not None and directory_org is None:
        directory_org = service.organization
    receiving = receiving_organization(service=service, directory_org=directory_org)
    assert viewer.membership is not None
    referring = viewer.membership.organization
    if receiving.pk == referring.pk:
        raise ValidationError({"service": "This service is your own organisation's: no referral is needed."})
    terms = terms_for(need, referring_org=referring, receiving_org=receiving)
    # The page's gate, when given, has read the family's facts already: the same facts, for the referral's purpose.
    gate = (
        RecordGate(viewer=viewer, purpose=terms.purpose, ctx=gate.ctx)
        if gate is not None and family.pk in gate.ctx.families
        else RecordGate.open(viewer, [family.pk], terms.purpose)
    )
    require_create(
        viewer,
        Referral,
        family_id=family.pk,
        category=terms.category,
        authored_category=terms.authored_category,
        kind=terms.kind,
        subject_org_id=receiving.pk,
        gate=gate,
        message="You cannot refer this family for this need.",
    )
    now = clock.now()
    referral = Referral(
        family=family,
        need=need,
        kind=terms.kind,
        purpose=terms.purpose,
        priority=priority,
        service=service,
        directory_org=directory_org,
        receiving_org=receiving,
        reason=reason,
        handoff_note=handoff_note,
        status=S.DRAFT,
        status_changed_at=now,
        request_key=request_key or None,
        sensitivity=terms.category,
        created_by=viewer.user,
        created_by_org=referring,
        created_at=now,
    )
    # What goes is decided before the referral is written, so that it is written once: sent, or a draft with what
    # was left out and why. The door reads the same facts of it as once written, all but its id, which only a court
    # order naming a record reads, and a referral is not a record an order may name (``named_by_orders``).
    items = _decide_sending(viewer, referral, note_ids=note_ids, gate=gate) if send else None
    sent_at = None
    if items is not None and _goes(items):
        sent_at = clock.now()
        _mark_sent(referral, items, at=sent_at)
    referral.save(force_insert=True)
    events = [_new_event(viewer, referral, "", S.DRAFT, at=now)]
    if sent_at is not None:
        events.append(_new_event(viewer, referral, S.DRAFT, S.REQUESTED, at=sent_at))
    ReferralEvent.objects.bulk_create(events)
    _audit_change(viewer, referral, "", S.DRAFT, at=now)
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=referral,
        action=Action.CREATE,
        verb="referral_made",
        summary=f"Referral for {_lower_first(str(Need(need).label))} to {receiving.name}",
        category=terms.category,
        kind=terms.kind,
        at=now,
    )
    if items is None:
        return referral, None
    if sent_at is None:
        return referral, NotSent(referral, referral.left_out)  # the draft is kept, with what was left out and why
    _audit_change(viewer, referral, S.DRAFT, S.REQUESTED, at=sent_at)  # its status event went with the referral
    _after_sending(viewer, referral, items, at=sent_at)
    return referral, None


def send_referral(
    *, viewer: Viewer, referral: Referral, note_ids: list[int] | None = None, gate: RecordGate | None = None
) -> list[Item]:
    """Send a draft: each item goes only if the door lets it go there; the referral itself and her contact
    details must. Each item sent is a disclosure by its maker, written to the accounting (one send)."""
    if referral.status != S.DRAFT:
        raise IllegalChange("This referral was already sent.")
    gate = gate or RecordGate.open(viewer, [referral.family_id], referral.purpose)
    items = _decide_sending(viewer, referral, note_ids=note_ids, gate=gate)
    if not _goes(items):
        Referral.objects.filter(pk=referral.pk).update(left_out=referral.left_out)
        raise NotSent(referral, referral.left_out)
    now = clock.now()
    _mark_sent(referral, items, at=now)
    referral.save()
    _event(viewer, referral, S.DRAFT, S.REQUESTED, at=now)
    _after_sending(viewer, referral, items, at=now)
    return items


def _decide_sending(viewer: Viewer, referral: Referral, *, note_ids: list[int] | None, gate: RecordGate) -> list[Item]:
    """What the referral would carry, each item decided by the door, and (on the referral) what is left out and
    why. She must be allowed to change it (send it) at all."""
    assert viewer.membership is not None
    terms = Terms(referral.kind, referral.sensitivity, referral.sensitivity, referral.purpose)
    require(viewer, Interaction.CHANGE, referral, gate=gate)
    items = plan_items(
        viewer,
        family=referral.family,
        terms=terms,
        receiving_org=referral.receiving_org,
        referral=referral,
        note_ids=note_ids,
        gate=gate,
    )
    referral.left_out = [{"label": i.label, "why": i.why, "required": i.required} for i in items if not i.sent]
    return items


def _goes(items: list[Item]) -> bool:
    """Whether it can be sent: the referral itself and her contact details are."""
    return not any(i.required and not i.sent for i in items)


def _mark_sent(referral: Referral, items: list[Item], *, at: datetime) -> None:
    """The referral as sent at ``at`` (not yet saved): what it carries, its response deadline, its status."""
    referral.sent_items = [
        {"key": i.key, "label": i.label, "kind": i.kind, "content": i.content or {}} for i in items if i.sent
    ]
    parent = referral.family.parent
    referral.due_at = deadlines.response_due(at, referral.need, county=parent.county if parent is not None else "")
    referral.sent_at = at
    _set_status(referral, S.REQUESTED, at)


def _after_sending(viewer: Viewer, referral: Referral, items: list[Item], *, at: datetime) -> None:
    """What follows a send, once the referral and its status change are written: the pathway step it completes,
    the accounting of the disclosure, the audit event of the export, and the receiving side told."""
    pathway_evidence.referral_moved(viewer, referral)
    sent = [i for i in items if i.sent]
    receiving = referral.receiving_org
    _account_sending(viewer, referral, sent, at=at)
    record_event(
        actor=viewer.user,
        action=Action.EXPORT,
        record_type="Referral",
        record_id=referral.pk,
        family_id=referral.family_id,
        purpose=referral.purpose,
        detail={
            "sent_to": receiving.pk,
            "items": [i.key for i in sent],
            "left_out": [i["label"] for i in referral.left_out],
        },
        at=at,
    )
    # Tell the receiving side: its intake staff in Kinfold, or its intake contact by a one-time link.
    leads = notices.intake_leads(receiving.pk)
    if leads:
        notices.notify(
            referral,
            leads,
            key=f"new:{referral.pk}",
            subject=f"A new referral for {receiving.name}",
            body="A referral is waiting for your organisation's answer in Kinfold.",
        )
    elif referral.directory_org is not None and referral.directory_org.intake_email:
        email = referral.directory_org.intake_email
        path = links.issue_link(referral, email)
        transaction.on_commit(lambda: _email_link(referral.pk, email, path))


def _email_link(referral_id: int, email: str, path: str, *, reminder: bool = False) -> None:
    from django.conf import settings
    from django.core.mail import send_mail

    referral = Referral.objects.select_related("receiving_org", "created_by_org").get(pk=referral_id)
    due = referral.due_at.astimezone(clock.zone()) if referral.due_at else None
    body = (
        f"{referral.created_by_org.name} has sent {referral.receiving_org.name} a referral through Kinfold.\n\n"
        f"Open it here (the link works for {settings.KINFOLD_REFERRAL_LINK_DAYS} days, once for each answer):\n"
        f"{settings.KINFOLD_SITE_URL}{path}\n\n" + (f"Please answer by {due:%A %-d %B %Y, %-I:%M %p}.\n" if due else "")
    )
    try:
        subject = (
            "Reminder: a referral is waiting for your answer" if reminder else "A referral is waiting for your answer"
        )
        send_mail(subject, body, None, [email])
    except OSError:  # the referral stands; the coordinator sees the link was not emailed
        import logging

        logging.getLogger(__name__).warning("referral %s: the one-time link could not be emailed", referral_id)


def _account_sending(viewer: Viewer, referral: Referral, sent: list[Item], *, at: datetime) -> None:
    """CONSENT-RULES "Records still to come", 5: each item sent is a disclosure by its maker to the receiving
    organisation at the instant of sending, under the consent version that permitted it."""
    groups: dict[tuple[int, int | None], list[Item]] = {}
    for item in sent:
        groups.setdefault((item.facts.created_by_org_id, item.consent_version_id), []).append(item)
    Disclosure.objects.bulk_create(
        [
            Disclosure(
                occurred_at=at,
                family_id=referral.family_id,
                recipient_user=None,
                recipient_name=f"{referral.receiving_org.name} (referral intake)",
                recipient_org=referral.receiving_org,
                disclosing_org_id=org_id,
                purpose=referral.purpose,
                rule="2",
                consent_version_id=version_id,
                channel="referral",
                categories=sorted({i.facts.category for i in items}),
                records=[
                    {
                        "type": i.facts.record_type,
                        "id": i.facts.record_id if i.key != "referral" else referral.pk,
                        "category": i.facts.category,
                        "kind": i.facts.kind or i.kind,
                        "label": i.label[:120],
                    }
                    for i in items
                ],
            )
            for (org_id, version_id), items in groups.items()
        ]
    )


# --- changing status ------------------------------------------------------------------------------------------


def side_of(viewer: Viewer, referral: Referral) -> str | None:
    if viewer.organization_id == referral.created_by_org_id:
        return REFERRER
    if viewer.organization_id == referral.receiving_org_id:
        return RECEIVER
    return None


def allowed_changes(referral: Referral, side: str | None) -> list[str]:
    """The statuses this side may move the referral to now."""
    return [to for (frm, to), who in TRANSITIONS.items() if frm == referral.status and who == side]


def check_change(referral: Referral, to_status: str, side: str | None, reason_code: str, words: str) -> None:
    """Raise ``IllegalChange`` or ``ValidationError`` for a change that may not be made."""
    if to_status not in S.values:
        raise ValidationError({"status": "Choose what happened."})
    who = TRANSITIONS.get((referral.status, to_status))
    current = S(referral.status).label.lower()
    target = S(to_status).label.lower()
    if who is None:
        raise IllegalChange(f"A referral that is “{current}” cannot become “{target}”.")
    if side != who:
        doer = "the organisation that referred her" if who == REFERRER else "the organisation it was sent to"
        raise IllegalChange(f"Only {doer} can mark this referral “{target}”.")
    codes = REASONS.get(to_status)
    if codes is not None and reason_code not in codes:
        raise ValidationError({"reason_code": "Choose a reason."})
    if to_status in WORDS_REQUIRED and not words.strip():
        what = "why" if to_status != S.COMPLETED else "what happened"
        raise ValidationError({"words": f"Say {what}, in a few words."})
    text_limits.refuse_long_text(words=(words, text_limits.NOTE_BODY))


@atomic_write
def change_status(
    *,
    viewer: Viewer,
    referral_id: int,
    family_id: int,
    to_status: str,
    expected_version: int,
    reason_code: str = "",
    words: str = "",
) -> Referral:
    """Move a referral to ``to_status`` for the viewer's side. A change made on a version someone else has
    changed since is refused (``ConcurrentEditError``): nothing is overwritten."""
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("family", "receiving_org", "created_by_org")
        .filter(pk=referral_id, family_id=family_id)
        .first()
    )
    if referral is None:
        raise IllegalChange("No such referral.")
    gate = RecordGate.open(viewer, [family_id])
    require(viewer, Interaction.CHANGE, referral, gate=gate, message="You cannot change this referral.")
    if referral.version != expected_version:
        raise ConcurrentEditError(
            f"Someone else changed this referral while you were looking at it (it is now "
            f"“{S(referral.status).label.lower()}”). Nothing was saved: look at it again and then decide."
        )
    side = side_of(viewer, referral)
    check_change(referral, to_status, side, reason_code, words)
    if to_status == S.REQUESTED:
        send_referral(viewer=viewer, referral=referral, gate=None)
        return referral
    now = clock.now()
    if side == RECEIVER:
        require_create(
            viewer,
            ReferralEvent,
            family_id=family_id,
            category=referral.sensitivity,
            kind=referral.kind,
            gate=gate,
            message="You cannot answer this referral.",
        )
        if referral.first_response_at is None:
            referral.first_response_at = now
        if referral.assigned_to_id is None and viewer.membership_id is not None and to_status == S.ACCEPTED:
            referral.assigned_to_id = viewer.membership_id
    from_status = referral.status
    _set_status(referral, to_status, now)
    if to_status == S.COMPLETED or to_status in (S.FAILED,):
        referral.outcome = words.strip()
    referral.save()
    pathway_evidence.referral_moved(viewer, referral)
    _event(viewer, referral, from_status, to_status, reason_code=reason_code, words=words, at=now)
    _tell_other_side(referral, side, to_status)
    return referral


def _set_status(referral: Referral, to_status: str, at: datetime) -> None:
    referral.status = to_status
    referral.status_changed_at = at
    referral.version += 1
    if to_status in CLOSED_STATUSES:
        referral.closed_at = at
    else:
        referral.closed_at = None


def _event(
    viewer: Viewer | None,
    referral: Referral,
    from_status: str,
    to_status: str,
    *,
    at: datetime,
    **details: Any,
) -> ReferralEvent:
    """A change of status written, with its audit event: ``details`` as ``_new_event`` takes them."""
    event = _new_event(viewer, referral, from_status, to_status, at=at, **details)
    event.save(force_insert=True)
    _audit_change(
        viewer, referral, from_status, to_status, reason_code=event.reason_code, at=at, via_link=event.via_link
    )
    return event


def _new_event(
    viewer: Viewer | None,
    referral: Referral,
    from_status: str,
    to_status: str,
    *,
    reason_code: str = "",
    words: str = "",
    at: datetime,
    organization_id: int | None = None,
    actor_name: str = "",
    via_link: bool = False,
) -> ReferralEvent:
    """A change of status, not yet written."""
    org_id = organization_id or (viewer.organization_id if viewer is not None else None)
    assert org_id is not None
    return ReferralEvent(
        family_id=referral.family_id,
        referral=referral,
        kind=referral.kind,
        sensitivity=referral.sensitivity,
        from_status=from_status,
        to_status=to_status,
        reason_code=reason_code,
        words=words.strip(),
        actor_name=actor_name or (viewer.membership.display_name if viewer and viewer.membership else ""),
        via_link=via_link,
        occurred_at=at,
        created_at=at,
        created_by=viewer.user if viewer is not None else None,
        created_by_org_id=org_id,
    )


def _audit_change(
    viewer: Viewer | None,
    referral: Referral,
    from_status: str,
    to_status: str,
    *,
    reason_code: str = "",
    at: datetime,
    via_link: bool = False,
) -> None:
    """The audit event of a change of status (making it, from no status, is its creation)."""
    record_event(
        actor=viewer.user if viewer is not None else None,
        action=Action.UPDATE if from_status else Action.CREATE,
        record_type="Referral",
        record_id=referral.pk,
        family_id=referral.family_id,
        purpose=referral.purpose,
        detail={"from": from_status, "to": to_status, "reason": reason_code, "via_link": via_link},
        at=at,
    )


def _tell_other_side(referral: Referral, side: str | None, to_status: str) -> None:
    """The other side hears of a change in Kinfold and by email (in words that name no family or need)."""
    if side == RECEIVER and referral.created_by is not None:
        notices.notify(
            referral,
            [referral.created_by],
            key=f"answer:{referral.pk}:{referral.version}",
            subject="A referral you sent was answered",
            body="The organisation you referred a family to has answered. Open Kinfold to see it.",
        )
    elif side == REFERRER and to_status == S.CANCELLED and referral.sent_at is not None:
        handler = referral.assigned_to.user if referral.assigned_to is not None else None
        recipients = [handler] if handler is not None else notices.intake_leads(referral.receiving_org_id)
        notices.notify(
            referral,
            recipients,
            key=f"cancelled:{referral.pk}",
            subject=f"A referral to {referral.receiving_org.name} was cancelled",
            body="The organisation that sent a referral to yours has cancelled it. Nothing more is needed.",
        )


# --- answering from a one-time link ----------------------------------------------------------------------------


LINK_BUTTONS: dict[str, str] = {
    "accept": "Accept the referral",
    "reject": "Decline the referral",
    "start": "She has started",
    "complete": "Mark it completed",
    "fail": "Mark it did not happen",
}


@transaction.atomic
def answer_from_link(*, token: str, action: str, reason_code: str = "", words: str = "") -> Referral | None:
    """An organisation without accounts answers from its one-time link: once per action, recorded as made by
    the intake contact named on its directory listing. ``None``: the link cannot be used (it reveals nothing)."""
    link = links.open_link(token)
    if link is None or action not in links.ACTION_STATUS:
        return None
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("directory_org", "receiving_org")
        .get(pk=link.referral_id)
    )
    to_status = links.ACTION_STATUS[action]
    check_change(referral, to_status, RECEIVER, reason_code, words)
    if not links.use_action(link, action):
        return None
    now = clock.now()
    from_status = referral.status
    if referral.first_response_at is None:
        referral.first_response_at = now
    _set_status(referral, to_status, now)
    if to_status in (S.COMPLETED, S.FAILED):
        referral.outcome = words.strip()
    referral.save()
    pathway_evidence.referral_moved(None, referral)
    listing = referral.directory_org
    contact = (listing.intake_contact_name if listing else "") or "Intake contact"
    _event(
        None,
        referral,
        from_status,
        to_status,
        reason_code=reason_code,
        words=words,
        at=now,
        organization_id=referral.receiving_org_id,
        actor_name=contact,
        via_link=True,
    )
    _tell_other_side(referral, RECEIVER, to_status)
    return referral


# --- the overdue escalation (run daily by ``tasks.escalate_overdue_referrals``) -------------------------------


def _long_date(at: datetime, *, with_time: bool = False) -> str:
    with translation.override("en"):  # staff emails are in English for now
        return dateformat.format(at.astimezone(clock.zone()), "j F Y, P" if with_time else "j F Y")


def escalation_message(referral: Referral) -> tuple[str, str]:
    """The subject and words of an overdue referral's notice: the receiving organisation, the dates and a
    link. Never the family, the person or the need: the email leaves Kinfold."""
    sent_at = referral.sent_at or referral.created_at
    subject = "Kinfold: a referral is waiting for an answer"
    lines = [f"A referral sent to {referral.receiving_org.name} on {_long_date(sent_at)} is waiting for an answer."]
    if referral.due_at is not None:
        lines.append(f"The answer was due by {_long_date(referral.due_at, with_time=True)}.")
    lines += [
        "",
        f"See it in Kinfold: {notices.referral_url(referral.pk)}",
        "",
        "This email names no one on purpose: sign in to Kinfold to see the referral.",
    ]
    return subject, "\n".join(lines) + "\n"


def _referrer(referral: Referral) -> list[Any]:
    """The person who made the referral, while she still works there (an active account and membership)."""
    referrer = referral.created_by
    if referrer is None or not referrer.is_active:
        return []
    if not Membership.objects.filter(user_id=referrer.pk, is_active=True).exists():
        return []
    return [referrer]


def _escalate_one(referral_id: int, at: datetime) -> bool:
    overdue = {"status__in": AWAITING_ANSWER, "due_at__lt": at, "escalated_at__isnull": True}
    with transaction.atomic():
        # Another run holding this referral is escalating it: skip it rather than wait.
        referral = (
            Referral.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=referral_id, **overdue).first()
        )
        # The conditional update is what holds where rows are not locked (SQLite serialises writers instead).
        if referral is None or not Referral.objects.filter(pk=referral_id, **overdue).update(escalated_at=at):
            return False
        referral.escalated_at = at
        leads = notices.intake_leads(referral.receiving_org_id)
        recipients = _referrer(referral) + leads
        subject, body = escalation_message(referral)
        told = notices.notify(referral, recipients, key=f"escalation:{referral.pk}", subject=subject, body=body)
        listing = referral.directory_org
        if not leads and listing is not None and listing.intake_email:
            # An organisation without accounts: its intake contact gets a reminder with a fresh one-time link.
            path = links.issue_link(referral, listing.intake_email, at=at)
            transaction.on_commit(lambda: _email_link(referral.pk, listing.intake_email, path, reminder=True))
        record_event(
            actor=None,
            action=Action.UPDATE,
            record_type="Referral",
            record_id=referral.pk,
            family_id=referral.family_id,
            detail={
                "escalated": "the answer is overdue",
                "due_at": referral.due_at,
                "notified_user_ids": sorted({u.pk for u in recipients}),
                "new_notices": told,
            },
            at=at,
        )
    return True


def escalate_overdue(*, at: datetime | None = None) -> int:
    """Escalate every referral still waiting for its first answer (requested or received) whose deadline has
    passed and which was not escalated before: one notice to its referrer and to the receiving organisation's
    intake leads, in Kinfold and by email, and ``escalated_at`` set. How many were escalated.

    Safe to run twice and at once: each referral is taken under a row lock that the other run skips, and only
    if ``escalated_at`` is still empty; each notice's key is unique per person."""
    at = at or clock.now()
    waiting = (
        Referral.objects.filter(status__in=AWAITING_ANSWER, due_at__lt=at, escalated_at__isnull=True)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(_escalate_one(pk, at) for pk in list(waiting))


def notices_seen(*, user: Any, referral_id: int) -> int:
    """Her unread notices about a referral, once she has opened it: read."""
    ids = notices.unread_notices(user).filter(referral_id=referral_id).values_list("pk", flat=True)
    return notices.mark_read(user, list(ids))


def is_awaiting_answer(referral: Referral) -> bool:
    return referral.status in AWAITING_ANSWER
