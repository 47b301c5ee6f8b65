"""Changes to consent: record a directive, add a version, revoke, record an expiry event; court orders;
break-the-glass and the privacy officers' notifications; restriction requests, decisions and ends; and
writing the accounting of disclosures.

Each function is one transaction that validates, writes and audits. Nothing here decides access:
that is ``policy.decide``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction

from kinfold import clock
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import Refused, atomic_write, record_event
from kinfold.consent.models import (
    ConsentDirective,
    ConsentVersion,
    CourtOrder,
    Disclosure,
    EmergencyAccess,
    EmergencyNotification,
    Restriction,
    RestrictionStatus,
    SignatureMethod,
    SignerKind,
)
from kinfold.consent.policy import Viewer, may_open_family
from kinfold.consent.vocabulary import OrganizationClass, Purpose
from kinfold.families.models import Family, FamilyActivity, Language, Person, Sensitivity
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role

if TYPE_CHECKING:
    from kinfold.consent.selectors import Shown


def _require_team_access(viewer: Viewer, family: Family) -> Membership:
    if not may_open_family(viewer, family):
        raise Refused(
            "You cannot work on this family's record.",
            {
                "actor": viewer.user,
                "action": Action.UPDATE,
                "record_type": "Family",
                "record_id": family.pk,
                "family_id": family.pk,
                "outcome": Outcome.DENIED,
            },
        )
    assert viewer.membership is not None
    return viewer.membership


def consent_sensitivity(terms: ConsentTerms) -> str:
    """A consent about SUD treatment records, or from a Part 2 programme, tells its reader that she is in
    treatment: it is itself a treatment (Part 2) record, shown only to those who may see treatment records.
    Any other consent is contact information."""
    about_treatment = (
        Sensitivity.SUD_TREATMENT in terms.categories
        or OrganizationClass.PART2_PROGRAMS in terms.discloser_classes
        or any(org.is_part2_program for org in terms.discloser_orgs)
    )
    return Sensitivity.SUD_TREATMENT if about_treatment else Sensitivity.CONTACT


def _timeline(
    viewer: Viewer, family: Family, verb: str, summary: str, at: datetime, sensitivity: str = Sensitivity.CONTACT
) -> None:
    """A timeline line; it carries the category of what it tells, so it is shown only where that is."""
    assert viewer.membership is not None
    FamilyActivity.objects.create(
        family=family,
        occurred_at=at,
        verb=verb,
        summary=summary,
        sensitivity=sensitivity,
        created_by=viewer.user,
        created_by_org_id=viewer.membership.organization_id,
    )
    Family.objects.filter(pk=family.pk).update(last_activity_at=at)


@dataclass
class ConsentTerms:
    """The 2.31 elements of one version, as a form or the API collects them."""

    discloser_orgs: list[Organization] = field(default_factory=list)
    discloser_classes: list[str] = field(default_factory=list)
    recipient_orgs: list[Organization] = field(default_factory=list)
    recipient_people: list[Membership] = field(default_factory=list)
    recipient_classes: list[str] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)
    purpose_description: str = ""
    categories: list[str] = field(default_factory=list)
    information_description: str = ""
    expires_at: datetime | None = None
    expiry_event: str = ""
    signer_kind: str = "parent"
    signer_name: str = ""
    signer_person: Person | None = None  # her recorded legal representative, when one signs for her
    signature_method: str = SignatureMethod.TYPED
    signature_typed: str = ""
    signature_drawn: str = ""
    guardian_name: str = ""
    guardian_signature_typed: str = ""
    language: str = Language.ENGLISH
    template_key: str = ""
    right_to_revoke: str = ""
    effective_at: datetime | None = None


def legal_representatives(family: Family) -> list[Person]:
    """The people recorded on the family as her legal representative: the only ones who may sign for her."""
    return list(
        Person.objects.filter(relationships__family=family, relationships__is_legal_representative=True).order_by(
            "family_name", "given_name", "pk"
        )
    )


def validate_terms(terms: ConsentTerms, *, now: datetime, family: Family | None = None) -> None:
    """Every element 42 CFR 2.31 requires, explained in plain words when missing. With ``family``, also
    that a legal representative who signs for her is one recorded on the family."""
    errors: dict[str, str] = {}
    if terms.signer_kind not in SignerKind.values:
        errors["signer_kind"] = "Choose who is signing."
    elif terms.signer_kind == SignerKind.LEGAL_REPRESENTATIVE and family is not None:
        recorded = legal_representatives(family)
        if not recorded:
            errors["signer_person"] = (
                "No legal representative is recorded for her. Only she can sign, unless her legal representative "
                "is added to her family first."
            )
        elif terms.signer_person is None or terms.signer_person.pk not in {p.pk for p in recorded}:
            errors["signer_person"] = "Choose which of her recorded legal representatives is signing."
    if not terms.discloser_orgs and not terms.discloser_classes:
        errors["discloser_orgs"] = "Choose who may share her information."
    if not terms.recipient_orgs and not terms.recipient_people and not terms.recipient_classes:
        errors["recipient_orgs"] = "Choose who may receive her information."
    if not terms.purposes:
        errors["purposes"] = "Choose what the information may be used for."
    elif set(terms.purposes) - set(Purpose.values):
        errors["purposes"] = "One of the purposes is not known."
    elif Purpose.EMERGENCY in terms.purposes:
        errors["purposes"] = "Emergencies need no consent; choose another purpose."
    if Purpose.COURT_PROCEEDING in terms.purposes:
        if len(terms.purposes) > 1:
            errors["purposes"] = (
                "A consent for a court case must stand alone (42 CFR 2.31(d)). Record the court use as its own consent."
            )
        elif not any(org.type == OrganizationType.COURT for org in terms.recipient_orgs) and not any(
            person.organization.type == OrganizationType.COURT for person in terms.recipient_people
        ):
            errors["recipient_orgs"] = "A consent for a court case must name the court."
    if not terms.categories:
        errors["categories"] = "Choose what kind of information may be shared."
    elif set(terms.categories) - set(Sensitivity.values):
        errors["categories"] = "One of the kinds of information is not known."
    unknown_classes = set(terms.discloser_classes + terms.recipient_classes) - set(OrganizationClass.values)
    if unknown_classes:
        errors["recipient_classes"] = "One of the groups of organisations is not known."
    if terms.expires_at is None and not terms.expiry_event.strip():
        errors["expires_at"] = "Choose when the consent ends: a date, or an event such as “when my case closes”."
    if terms.expires_at is not None and terms.expires_at <= now:
        errors["expires_at"] = "The end date must be in the future."
    if not terms.signer_name.strip():
        errors["signer_name"] = "Enter the name of the person signing."
    if terms.signature_method == SignatureMethod.TYPED and not terms.signature_typed.strip():
        errors["signature_typed"] = "Type the name as a signature, or switch to a drawn signature."
    if terms.signature_method == SignatureMethod.DRAWN and not terms.signature_drawn.startswith(
        "data:image/png;base64,"
    ):
        errors["signature_drawn"] = "Draw the signature in the box, or switch to a typed signature."
    if terms.language not in Language.values:
        errors["language"] = "Choose the language the consent was presented in."
    if terms.effective_at is not None and terms.effective_at < now - timedelta(minutes=5):
        errors["effective_at"] = "A consent cannot take effect before it is signed."
    if errors:
        raise ValidationError(errors)


def right_to_revoke_text(language: str) -> str:
    if language == Language.SPANISH:
        return (
            "Puede cancelar este permiso en cualquier momento, por escrito o diciéndoselo a un miembro de su "
            "equipo. La cancelación vale desde ese momento; no cambia lo que ya se compartió."
        )
    return (
        "You can take back (revoke) this permission at any time, in writing or by telling a member of your "
        "team. It stops future sharing from that moment; it does not undo what was already shared."
    )


def _save_version(
    *, viewer: Viewer, directive: ConsentDirective, terms: ConsentTerms, number: int, now: datetime
) -> ConsentVersion:
    assert viewer.membership is not None
    family = directive.family
    parent = family.parent
    assert parent is not None
    is_minor = parent.born_on is not None and clock.age(born_on=parent.born_on, on=clock.local_date(now)).years < 18
    minor_signs_alone = getattr(settings, "KINFOLD_MINOR_MAY_CONSENT_ALONE", True)
    if is_minor and not minor_signs_alone and not terms.guardian_signature_typed.strip():
        raise ValidationError(
            {
                "guardian_signature_typed": (
                    "A parent under 18 signs with her guardian here: add the guardian's signature."
                )
            }
        )
    version = ConsentVersion.objects.create(
        directive=directive,
        number=number,
        template_key=terms.template_key,
        patient_name=parent.display_name if not parent.preferred_name else f"{parent.given_name} {parent.family_name}",
        discloser_classes=sorted(terms.discloser_classes),
        recipient_classes=sorted(terms.recipient_classes),
        purposes=sorted(terms.purposes),
        purpose_description=terms.purpose_description.strip(),
        categories=sorted(terms.categories),
        information_description=terms.information_description.strip(),
        right_to_revoke=terms.right_to_revoke.strip() or right_to_revoke_text(terms.language),
        expires_at=terms.expires_at,
        expiry_event=terms.expiry_event.strip(),
        signer_kind=terms.signer_kind,
        signer_name=terms.signer_name.strip(),
        signer_person=terms.signer_person if terms.signer_kind == SignerKind.LEGAL_REPRESENTATIVE else None,
        signature_method=terms.signature_method,
        signature_typed=terms.signature_typed.strip(),
        signature_drawn=terms.signature_drawn if terms.signature_method == SignatureMethod.DRAWN else "",
        guardian_name=terms.guardian_name.strip(),
        guardian_signature_typed=terms.guardian_signature_typed.strip(),
        signed_at=now,
        effective_at=max(terms.effective_at or now, now),
        language=terms.language,
        created_by=viewer.user,
        created_by_org_id=viewer.membership.organization_id,
        sensitivity=directive.sensitivity,
    )
    version.discloser_orgs.set(terms.discloser_orgs)
    version.recipient_orgs.set(terms.recipient_orgs)
    version.recipient_people.set(terms.recipient_people)
    return version


@atomic_write
def consent_record(*, viewer: Viewer, family: Family, terms: ConsentTerms, title: str = "") -> ConsentDirective:
    """Record a new consent the parent has just signed with a staff member."""
    membership = _require_team_access(viewer, family)
    now = clock.now()
    validate_terms(terms, now=now, family=family)
    if family.parent is None:
        raise ValidationError("Record the parent before a consent.")
    directive = ConsentDirective.objects.create(
        family=family,
        patient=family.parent,
        title=title.strip(),
        created_by=viewer.user,
        created_by_org_id=membership.organization_id,
        sensitivity=consent_sensitivity(terms),
    )
    version = _save_version(viewer=viewer, directive=directive, terms=terms, number=1, now=now)
    from kinfold.consent.summaries import version_summary

    _timeline(
        viewer,
        family,
        "consent_recorded",
        f"Recorded a consent: {version_summary(version, language='en')}",
        now,
        sensitivity=directive.sensitivity,
    )
    record_event(
        actor=viewer.user,
        action=Action.CREATE,
        record_type="ConsentDirective",
        record_id=directive.pk,
        family_id=family.pk,
        purpose="care_coordination",
        detail={"version": 1, "language": terms.language},
        at=now,
    )
    return directive


@atomic_write
def consent_new_version(*, viewer: Viewer, directive: ConsentDirective, terms: ConsentTerms) -> ConsentVersion:
    """A change to a consent is a new version, signed again; the old version stays as it was."""
    directive = ConsentDirective.objects.select_for_update().get(pk=directive.pk)
    family = directive.family
    _require_team_access(viewer, family)
    now = clock.now()
    if directive.revoked_at is not None:
        raise ValidationError("This consent was revoked. A consent given after a revocation is a new consent.")
    validate_terms(terms, now=now, family=family)
    number = (directive.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    if consent_sensitivity(terms) == Sensitivity.SUD_TREATMENT and directive.sensitivity != Sensitivity.SUD_TREATMENT:
        # Once any version is about treatment, the whole consent is (its earlier versions are shown with it).
        directive.sensitivity = Sensitivity.SUD_TREATMENT
        directive.save(update_fields=["sensitivity", "updated_at"])
        ConsentVersion.objects.filter(directive=directive).update(sensitivity=Sensitivity.SUD_TREATMENT)
    version = _save_version(viewer=viewer, directive=directive, terms=terms, number=number, now=now)
    _timeline(
        viewer,
        family,
        "consent_changed",
        f"Recorded version {number} of a consent, signed again",
        now,
        sensitivity=directive.sensitivity,
    )
    record_event(
        actor=viewer.user,
        action=Action.UPDATE,
        record_type="ConsentDirective",
        record_id=directive.pk,
        family_id=family.pk,
        detail={"version": number},
        at=now,
    )
    return version


@atomic_write
def consent_revoke(
    *,
    viewer: Viewer,
    directive: ConsentDirective,
    method: str,
    received_by: Membership | None = None,
    note: str = "",
) -> ConsentDirective:
    """Revocation ends every version at once, for future access; what was disclosed before stays accounted."""
    directive = ConsentDirective.objects.select_for_update().get(pk=directive.pk)
    family = directive.family
    membership = _require_team_access(viewer, family)
    if directive.revoked_at is not None:
        raise ValidationError("This consent is already revoked.")
    if method not in ("written", "spoken"):
        raise ValidationError({"method": "Say how she revoked it: in writing, or by telling a staff member."})
    now = clock.now()
    directive.revoked_at = now
    directive.revocation_method = method
    directive.revocation_received_by = received_by or membership
    directive.revocation_note = note.strip()[:500]
    directive.version += 1
    directive.save(
        update_fields=[
            "revoked_at",
            "revocation_method",
            "revocation_received_by",
            "revocation_note",
            "version",
            "updated_at",
        ]
    )
    _timeline(
        viewer,
        family,
        "consent_revoked",
        f"Recorded that she revoked a consent ({directive.get_revocation_method_display().lower()})",
        now,
        sensitivity=directive.sensitivity,
    )
    record_event(
        actor=viewer.user,
        action=Action.UPDATE,
        record_type="ConsentDirective",
        record_id=directive.pk,
        family_id=family.pk,
        detail={"revoked": True, "method": method},
        at=now,
    )
    return directive


@atomic_write
def consent_expiry_event_record(*, viewer: Viewer, version: ConsentVersion) -> ConsentVersion:
    """The event a consent named as its end (e.g. "when my court case closes") has happened."""
    family = version.directive.family
    _require_team_access(viewer, family)
    if not version.expiry_event:
        raise ValidationError("This consent ends on a date, not an event.")
    if version.expiry_event_recorded_at is not None:
        raise ValidationError("The event was already recorded.")
    now = clock.now()
    ConsentVersion.objects.filter(pk=version.pk).update(expiry_event_recorded_at=now, version=version.version + 1)
    version.refresh_from_db()
    _timeline(
        viewer,
        family,
        "consent_ended",
        f"Recorded that “{version.expiry_event}” happened; the consent has ended",
        now,
        sensitivity=version.sensitivity,
    )
    record_event(
        actor=viewer.user,
        action=Action.UPDATE,
        record_type="ConsentVersion",
        record_id=version.pk,
        family_id=family.pk,
        at=now,
    )
    return version


@atomic_write
def court_order_record(
    *,
    viewer: Viewer,
    family: Family,
    court: Organization,
    order_reference: str,
    issued_on: Any,
    categories: list[str],
    valid_from: datetime,
    valid_until: datetime,
    finding_other_means_unavailable: bool,
    finding_public_interest_outweighs_harm: bool,
    judge_name: str = "",
    named_person: Membership | None = None,
) -> CourtOrder:
    membership = _require_team_access(viewer, family)
    errors: dict[str, str] = {}
    if court.type != "court":
        errors["court"] = "Choose a court."
    if not order_reference.strip():
        errors["order_reference"] = "Enter the order's reference number."
    if not categories or set(categories) - set(Sensitivity.values):
        errors["categories"] = "Choose which kinds of records the order covers."
    if valid_until <= valid_from:
        errors["valid_until"] = "The end of the period must be after its start."
    if Sensitivity.SUD_TREATMENT in categories and not (
        finding_other_means_unavailable and finding_public_interest_outweighs_harm
    ):
        errors["finding_public_interest_outweighs_harm"] = (
            "An order covering SUD treatment records must record both findings of 42 CFR 2.64(d)."
        )
    if errors:
        raise ValidationError(errors)
    order = CourtOrder.objects.create(
        family=family,
        court=court,
        named_person=named_person,
        order_reference=order_reference.strip(),
        issued_on=issued_on,
        judge_name=judge_name.strip(),
        categories=sorted(categories),
        valid_from=valid_from,
        valid_until=valid_until,
        finding_other_means_unavailable=finding_other_means_unavailable,
        finding_public_interest_outweighs_harm=finding_public_interest_outweighs_harm,
        created_by=viewer.user,
        created_by_org_id=membership.organization_id,
        sensitivity=Sensitivity.LEGAL,
    )
    now = clock.now()
    _timeline(
        viewer,
        family,
        "court_order_recorded",
        f"Recorded court order {order.order_reference} for {court.name}",
        now,
        sensitivity=Sensitivity.LEGAL,  # like the order itself: a contact-only consent does not reveal it
    )
    record_event(
        actor=viewer.user,
        action=Action.CREATE,
        record_type="CourtOrder",
        record_id=order.pk,
        family_id=family.pk,
        at=now,
    )
    return order


def emergency_window() -> timedelta:
    return timedelta(hours=float(getattr(settings, "KINFOLD_EMERGENCY_ACCESS_HOURS", 4)))


def emergency_declare(*, viewer: Viewer, family: Family, reason: str) -> EmergencyAccess:
    """Break-the-glass (42 CFR 2.51): a clinician opens a family's records in a medical emergency.

    A refusal is audited outside the declaration's transaction, so raising the refusal does not roll
    its audit event back (CONSENT-RULES: every refusal is audited)."""
    now = clock.now()
    refusal = None
    if not viewer.may_see_family_data or not viewer.is_clinician:
        refusal = "Only clinicians can declare a medical emergency."
    elif len(reason.strip()) < 10:
        refusal = "Describe the medical emergency (at least a few words)."
    if refusal is not None:
        record_event(
            actor=viewer.user,
            action=Action.EMERGENCY,
            record_type="Family",
            record_id=family.pk,
            family_id=family.pk,
            purpose=Purpose.EMERGENCY,
            outcome=Outcome.DENIED,
            detail={"refused": refusal},
            at=now,
        )
        if "clinicians" in refusal:
            raise PermissionDenied(refusal)
        raise ValidationError({"reason": refusal})
    return _emergency_record(viewer=viewer, family=family, reason=reason, now=now)


@transaction.atomic
def _emergency_record(*, viewer: Viewer, family: Family, reason: str, now: datetime) -> EmergencyAccess:
    assert viewer.membership is not None
    access = EmergencyAccess.objects.create(
        family=family,
        user=viewer.user,
        membership=viewer.membership,
        reason=reason.strip(),
        declared_at=now,
        expires_at=now + emergency_window(),
    )
    record_event(
        actor=viewer.user,
        action=Action.EMERGENCY,
        record_type="Family",
        record_id=family.pk,
        family_id=family.pk,
        purpose=Purpose.EMERGENCY,
        detail={"emergency_id": access.pk, "reason": access.reason, "expires_at": access.expires_at},
        at=now,
    )
    # Rule 4: the clinician's own organisation is told now; every other organisation is told when its
    # records are first opened (disclosures_record), since only then is there a disclosure to document.
    own_org_id = viewer.membership.organization_id
    notification = EmergencyNotification.objects.create(
        emergency=access,
        organization_id=own_org_id,
        notified_at=now,
        recipients=_privacy_officer_emails(own_org_id),
        records_opened=0,
    )
    # Not robust: a failed email reaches the view, which tells the clinician to tell her privacy officer.
    transaction.on_commit(partial(emergency_notification_send, notification_id=notification.pk, raise_errors=True))
    return access


def _privacy_officer_emails(organization_id: int) -> list[str]:
    officers = Membership.objects.filter(
        organization_id=organization_id, role=Role.PRIVACY_OFFICER, is_active=True, user__is_active=True
    ).select_related("user")
    return sorted({m.user.email for m in officers if m.user.email})


def _emergency_notifications_record(*, opened: dict[tuple[int, int], set[tuple[str, int]]], at: datetime) -> None:
    """Tell the privacy officers of each organisation whose records an emergency opened for the first time.

    Called inside the accounting's transaction: the unique (emergency, organisation) row is the claim, so
    two pages opened at once never both email, and the email goes only once the row is committed."""
    emergency_ids = {emergency_id for emergency_id, _ in opened}
    already_told = set(
        EmergencyNotification.objects.filter(emergency_id__in=emergency_ids).values_list(
            "emergency_id", "organization_id"
        )
    )
    for (emergency_id, org_id), records in sorted(opened.items()):
        if (emergency_id, org_id) in already_told:
            continue
        notification, created = EmergencyNotification.objects.get_or_create(
            emergency_id=emergency_id,
            organization_id=org_id,
            defaults={"notified_at": at, "recipients": _privacy_officer_emails(org_id), "records_opened": len(records)},
        )
        if created:
            # Robust: a clinician in an emergency must see the records even if the mail server is down;
            # the failure is in the audit trail.
            transaction.on_commit(partial(emergency_notification_send, notification_id=notification.pk), robust=True)


def _when(instant: datetime) -> str:
    local = instant.astimezone(clock.zone())
    return f"{local:%-d %B %Y} at {local:%H:%M}"


def _notification_email(notification: EmergencyNotification) -> tuple[str, str]:
    """Who, at which organisation, why and when; never the family's names or the records' content."""
    access = notification.emergency
    clinician = access.membership
    who = f"{clinician.display_name} ({clinician.get_role_display()}, {clinician.organization.name})"
    family_id = access.family_id
    if notification.organization_id == clinician.organization_id:
        return (
            f"Kinfold: emergency access to family {family_id}",
            f"{who} declared a medical emergency on {_when(access.declared_at)} and may open every record of "
            f"family {family_id} until {_when(access.expires_at)}.\n\n"
            f"Reason given: {access.reason}\n\n"
            "Each record opened is flagged in the audit trail and listed in the family's accounting of "
            "disclosures. The privacy officers of each other organisation are told when its records are first "
            "opened. Please review it (42 CFR 2.51).",
        )
    org = notification.organization.name
    count = notification.records_opened
    opened = f"{count} of {org}'s records for family {family_id} {'was' if count == 1 else 'were'} opened"
    return (
        f"Kinfold: {org} records opened in a medical emergency (family {family_id})",
        f"{opened} under a declared medical emergency, on {_when(notification.notified_at)}.\n\n"
        f"Opened by: {who}\n"
        f"Emergency declared: {_when(access.declared_at)}; emergency access ends {_when(access.expires_at)}\n"
        f"Reason given: {access.reason}\n\n"
        "This is a disclosure without consent in a medical emergency. Your organisation must document it in the "
        "patient's records: the clinician and the facility they work for, the date and time, and the nature "
        "of the emergency, as given above (42 CFR 2.51(c)).\n\n"
        "Each record opened is listed in the family's accounting of disclosures in Kinfold. Records of yours "
        "opened later in this emergency are listed there too, without another email.",
    )


def emergency_notification_send(*, notification_id: int, raise_errors: bool = False) -> int:
    """Email one organisation's privacy officers about an emergency, and audit whether they were told.

    Runs once the notification row is committed. An organisation with no active privacy officer with an
    email address keeps its row (recipients empty: nobody could be told) and an audit event with outcome
    ``error``, as does an email the mail server refused; ``raise_errors`` passes that failure on."""
    notification = EmergencyNotification.objects.select_related(
        "organization",
        "emergency__membership__organization",
        "emergency__membership__user",
        "emergency__user__membership__organization",
    ).get(pk=notification_id)
    access = notification.emergency
    audit: dict[str, Any] = {
        "actor": access.user,
        "action": Action.EMERGENCY,
        "record_type": "EmergencyNotification",
        "record_id": notification.pk,
        "family_id": access.family_id,
        "purpose": Purpose.EMERGENCY,
    }
    detail: dict[str, Any] = {
        "emergency_id": access.pk,
        "organization_id": notification.organization_id,
        "organization": notification.organization.name,
        "recipients": notification.recipients,
        "records_opened": notification.records_opened,
    }
    if not notification.recipients:
        detail["not_sent"] = "The organisation has no active privacy officer with an email address."
        record_event(**audit, outcome=Outcome.ERROR, detail=detail, at=clock.now())
        return 0
    subject, body = _notification_email(notification)
    try:
        sent = send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=notification.recipients,
        )
    except OSError as error:  # smtplib.SMTPException is an OSError
        detail["not_sent"] = f"The email could not be sent ({type(error).__name__})."
        record_event(**audit, outcome=Outcome.ERROR, detail=detail, at=clock.now())
        if raise_errors:
            raise
        return 0
    record_event(**audit, detail=detail, at=clock.now())
    return sent


@atomic_write
def restriction_request(
    *,
    viewer: Viewer,
    family: Family,
    disclosing_org: Organization,
    recipient_org: Organization | None = None,
    recipient_person: Membership | None = None,
    categories: Sequence[str] = (),
    purposes: Sequence[str] = (),
    description: str = "",
    is_self_pay_to_health_plan: bool = False,
) -> Restriction:
    """Record the parent's request (2.26) that a disclosure be restricted."""
    membership = _require_team_access(viewer, family)
    if recipient_org is None and recipient_person is None:
        raise ValidationError({"recipient_org": "Choose whom the restriction is about."})
    if set(categories) - set(Sensitivity.values) or set(purposes) - set(Purpose.values):
        raise ValidationError("Unknown category or purpose.")
    now = clock.now()
    restriction = Restriction.objects.create(
        family=family,
        disclosing_org=disclosing_org,
        recipient_org=recipient_org,
        recipient_person=recipient_person,
        categories=sorted(categories),
        purposes=sorted(purposes),
        description=description.strip(),
        is_self_pay_to_health_plan=is_self_pay_to_health_plan,
        requested_at=now,
        created_by=viewer.user,
        created_by_org_id=membership.organization_id,
        sensitivity=Sensitivity.CONTACT,
    )
    _timeline(
        viewer,
        family,
        "restriction_requested",
        f"Recorded her request to restrict what {disclosing_org.name} shares",
        now,
    )
    record_event(
        actor=viewer.user,
        action=Action.CREATE,
        record_type="Restriction",
        record_id=restriction.pk,
        family_id=family.pk,
        at=now,
    )
    return restriction


@transaction.atomic
def restriction_decide(*, viewer: Viewer, restriction: Restriction, agree: bool, reason: str = "") -> Restriction:
    """The disclosing organisation agrees or refuses, with a reason. Self-pay-to-health-plan must be agreed."""
    restriction = Restriction.objects.select_for_update().get(pk=restriction.pk)
    if viewer.organization_id != restriction.disclosing_org_id or not viewer.may_see_family_data:
        raise PermissionDenied("Only the organisation asked to restrict its disclosures can decide.")
    if restriction.status != RestrictionStatus.REQUESTED:
        raise ValidationError("This request was already decided.")
    if not agree and restriction.is_self_pay_to_health_plan:
        raise ValidationError(
            "A request to keep from a health plan what she paid for herself must be agreed (45 CFR 164.522(a)(1)(vi))."
        )
    if not agree and not reason.strip():
        raise ValidationError({"reason": "Give the reason for refusing."})
    now = clock.now()
    restriction.status = RestrictionStatus.AGREED if agree else RestrictionStatus.REFUSED
    restriction.decided_at = now
    restriction.decided_by = viewer.membership
    restriction.decision_reason = reason.strip()
    restriction.version += 1
    restriction.save()
    _timeline(
        viewer,
        restriction.family,
        "restriction_decided",
        f"{restriction.disclosing_org.name} {'agreed to' if agree else 'refused'} her request to restrict sharing",
        now,
    )
    record_event(
        actor=viewer.user,
        action=Action.UPDATE,
        record_type="Restriction",
        record_id=restriction.pk,
        family_id=restriction.family_id,
        detail={"status": restriction.status},
        at=now,
    )
    return restriction


# What ending a restriction asks for, in the words the form also uses before its confirm step.
END_WHO_ASKED = "Say who asked to end it: she did, or the organisation."
END_REASON_REQUIRED = "Give the reason the organisation is ending it: she will be told."


@atomic_write
def restriction_end(*, viewer: Viewer, restriction: Restriction, on_request_of: str, reason: str = "") -> Restriction:
    """End an agreed restriction (45 CFR 164.522(a)(2)), from the instant it is recorded.

    At her request (``"parent"``: she asked in writing, or agreed aloud and this records it), any staff
    member who may open the family records it, and her consents share again what it covered. By the
    disclosing organisation (``"organization"``), after telling her, only its own staff record it, with a
    reason; the end then reaches only what the organisation creates or receives from now on, and a self-pay
    restriction toward a health plan cannot be ended this way (164.522(a)(1)(vi))."""
    restriction = (
        Restriction.objects.select_for_update().select_related("family", "disclosing_org").get(pk=restriction.pk)
    )
    family = restriction.family
    by_organization = on_request_of == Restriction.EndRequestedBy.ORGANIZATION
    if on_request_of not in Restriction.EndRequestedBy.values:
        raise ValidationError({"on_request_of": END_WHO_ASKED})
    refusal = {
        "actor": viewer.user,
        "action": Action.UPDATE,
        "record_type": "Restriction",
        "record_id": restriction.pk,
        "family_id": family.pk,
        "outcome": Outcome.DENIED,
        "detail": {"end": on_request_of},
    }
    if by_organization:
        if viewer.organization_id != restriction.disclosing_org_id or not viewer.may_see_family_data:
            raise Refused(
                f"Only staff of {restriction.disclosing_org.name}, which agreed to the restriction, can end it "
                "on its side.",
                refusal,
            )
        membership = viewer.membership
        assert membership is not None
    else:
        membership = _require_team_access(viewer, family)
    if restriction.status != RestrictionStatus.AGREED:
        if restriction.status == RestrictionStatus.ENDED:
            raise ValidationError("This restriction has already ended.")
        raise ValidationError("Only an agreed restriction can be ended; this request was not agreed.")
    if by_organization and restriction.is_self_pay_to_health_plan:
        raise ValidationError(
            "A restriction on telling a health plan about care she paid for herself cannot be ended by the "
            "organisation; only she can end it (45 CFR 164.522(a)(1)(vi))."
        )
    if by_organization and not reason.strip():
        raise ValidationError({"reason": END_REASON_REQUIRED})
    now = clock.now()
    restriction.status = RestrictionStatus.ENDED
    restriction.ended_at = now
    restriction.ended_by = membership
    restriction.ended_on_request_of = on_request_of
    restriction.end_reason = reason.strip()[:300]
    restriction.version += 1
    restriction.save(
        update_fields=["status", "ended_at", "ended_by", "ended_on_request_of", "end_reason", "version", "updated_at"]
    )
    org_name = restriction.disclosing_org.name
    _timeline(
        viewer,
        family,
        "restriction_ended",
        f"{org_name} ended the restriction on what it shares; records it made before stay restricted"
        if by_organization
        else f"Recorded that she ended her restriction on what {org_name} shares",
        now,
    )
    record_event(
        actor=viewer.user,
        action=Action.UPDATE,
        record_type="Restriction",
        record_id=restriction.pk,
        family_id=family.pk,
        detail={"status": restriction.status, "on_request_of": on_request_of},
        at=now,
    )
    return restriction


@transaction.atomic
def disclosures_record(*, viewer: Viewer, purpose: str, shown: Sequence[Shown], at: datetime, channel: str) -> int:
    """One Disclosure row per family, disclosing organisation and basis: who received what, when, and why.

    Under break-the-glass (rule 4), each disclosing organisation's privacy officers are also told, once per
    emergency, when its records are first opened (42 CFR 2.51(c))."""
    if not shown:
        return 0
    assert viewer.membership is not None
    groups: dict[tuple[int, int, str, int | None, int | None, int | None], list[Shown]] = defaultdict(list)
    for item in shown:
        d = item.decision
        key = (
            item.facts.family_id,
            item.facts.created_by_org_id,
            d.rule,
            d.consent_version_id,
            d.court_order_id,
            d.emergency_id,
        )
        groups[key].append(item)
    rows = []
    name = viewer.membership.display_name
    for (family_id, org_id, rule, version_id, order_id, emergency_id), items in groups.items():
        rows.append(
            Disclosure(
                occurred_at=at,
                family_id=family_id,
                recipient_user=viewer.user,
                recipient_name=name,
                recipient_org_id=viewer.membership.organization_id,
                disclosing_org_id=org_id,
                purpose=purpose,
                rule=rule,
                consent_version_id=version_id,
                court_order_id=order_id,
                emergency_id=emergency_id,
                channel=channel,
                categories=sorted({i.facts.category for i in items}),
                records=[
                    {
                        "type": i.facts.record_type,
                        "id": i.facts.record_id,
                        "category": i.facts.category,
                        "label": i.label[:120],
                    }
                    for i in items
                ],
            )
        )
    Disclosure.objects.bulk_create(rows)
    opened: dict[tuple[int, int], set[tuple[str, int]]] = defaultdict(set)
    for row in rows:
        if row.rule == "4":
            assert row.emergency_id is not None
            opened[(row.emergency_id, row.disclosing_org_id)] |= {(r["type"], r["id"]) for r in row.records}
            record_event(
                actor=viewer.user,
                action=Action.EMERGENCY,
                record_type="Disclosure",
                family_id=row.family_id,
                purpose=purpose,
                detail={
                    "flag": "break_the_glass",
                    "records": len(row.records),
                    "emergency_id": row.emergency_id,
                },
                at=at,
            )
    if opened:
        _emergency_notifications_record(opened=opened, at=at)
    return len(rows)
