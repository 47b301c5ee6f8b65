"""Consent directives: record one the parent has just signed, add a version (signed again, never an edit),
record her revocation or the event that ends it. Each function is one transaction that asks the door
(``access.door.require``), validates every 42 CFR 2.31 element, writes, and adds a timeline line and an audit
event. Nothing here decides access: that is ``access.rules``.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import ngettext

from kinfold import clock
from kinfold.access.door import require, require_create
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import (
    Interaction,
    OrganizationClass,
    Purpose,
    category_of_kind,
    kind_of,
    own_consent_kinds,
    whole_category,
)
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write
from kinfold.consent.models import ConsentDirective, ConsentVersion, SignatureMethod, SignerKind
from kinfold.consent.summaries import long_date, version_summary
from kinfold.families.models import Family, Language, Person, Sensitivity
from kinfold.families.selectors import legal_representatives
from kinfold.families.timeline import category_naming, record_written
from kinfold.organizations.models import Membership, Organization, OrganizationType


def consent_sensitivity(terms: ConsentTerms) -> str:
    """A consent about SUD treatment records, or that names a Part 2 programme (as discloser or recipient),
    tells its reader that she is in treatment: it is itself a Part 2 record. Any other consent is contact
    information. Who sees a consent is rule C (the parties it names); the category decides its timeline line
    and its notice."""
    if Sensitivity.SUD_TREATMENT in covered_categories(terms) or OrganizationClass.PART2_PROGRAMS in (
        set(terms.discloser_classes) | set(terms.recipient_classes)
    ):
        return Sensitivity.SUD_TREATMENT
    named = [*terms.discloser_orgs, *terms.recipient_orgs, *(m.organization for m in terms.recipient_people)]
    return category_naming(named)


COUNSELLING_NOTES_ALONE = (
    "SUD counselling notes are shared only under a consent of their own (42 CFR 2.31(b)). Record them as a "
    "separate consent that lists nothing else."
)


def covered_kinds(terms: ConsentTerms) -> list[str]:
    """What a version will list: the kinds chosen one by one, and every kind of each whole category chosen
    (as the kinds table has them now), except those that need a consent of their own."""
    chosen = set(terms.kinds)
    for category in terms.categories:
        if category in Sensitivity.values:
            chosen.update(whole_category(category))
    return sorted(chosen)


def covered_categories(terms: ConsentTerms) -> list[str]:
    return sorted({category_of_kind(k) for k in covered_kinds(terms) if kind_of(k) is not None})


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
    categories: list[str] = field(default_factory=list)  # whole categories chosen: every kind they have now
    kinds: list[str] = field(default_factory=list)  # kinds chosen one by one
    information_description: str = ""
    expires_at: datetime | None = None
    expiry_event: str = ""
    confirm_long_expiry: bool = False  # she means an end beyond the horizon (KINFOLD_CONSENT_EXPIRY_HORIZON_DAYS)
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


SIGNER_NAME_MISMATCH = "Enter the full name of the person signing, as her family's record has it."
TYPED_SIGNATURE_MISMATCH = "A typed signature is the full name of the person signing, as her family's record has it."
MINOR_SIGNS_HERSELF = (
    "She is under 18 and may consent on her own here, so she signs herself: her guardian's signature alone "
    "covers nothing."
)
DRAWN_TOO_LARGE = "The drawn signature is too large to keep. Clear the box and sign again, or type the name instead."
DRAWN_UNREADABLE = "The drawn signature could not be read. Clear the box and sign again, or type the name instead."
# Issue 11: a consent ending beyond the horizon is most often a slip of the year (2126 for 2026). The date and the
# span are parameters so that the form shows the message in the consent's language (``forms.service_message``).
LONG_EXPIRY = (
    "This consent would last until %(until)s, more than %(span)s from now. Check the date. If it is right, tick "
    "the box to confirm."
)
LONG_EXPIRY_CODE = "long_expiry"

# A drawn signature is a PNG the size of the signature box (600 x 200): a few kilobytes, never megabytes.
DRAWN_SIGNATURE_MAX_CHARS = 200_000
PNG_DATA_URL = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def comparable_name(name: str) -> str:
    """A name as two spellings of it compare: accents, case and spacing aside ("María  López" = "maria lopez")."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def names_of(person: Person) -> set[str]:
    """The names a person may sign with: her full name, and her preferred name with her family name."""
    names = {f"{person.given_name} {person.family_name}"}
    if person.preferred_name:
        names.add(f"{person.preferred_name} {person.family_name}")
    return {comparable_name(n) for n in names}


def _drawn_signature_error(drawn: str) -> str | None:
    if not drawn.startswith(PNG_DATA_URL):
        return "Draw the signature in the box, or switch to a typed signature."
    if len(drawn) > DRAWN_SIGNATURE_MAX_CHARS:
        return DRAWN_TOO_LARGE
    try:
        image = base64.b64decode(drawn[len(PNG_DATA_URL) :], validate=True)
    except (binascii.Error, ValueError):
        image = b""
    if not image.startswith(PNG_MAGIC):
        return DRAWN_UNREADABLE
    return None


def expiry_horizon_days() -> int:
    return int(getattr(settings, "KINFOLD_CONSENT_EXPIRY_HORIZON_DAYS", 1826))


def _date_words(day: date) -> str:
    return long_date(day, translation.get_language() or "en")


def _span_words(days: int) -> str:
    """The horizon in words: "5 years" for 1826 or 1825 days (leap days or not), else "90 days"."""
    years = round(days / 365.25)
    if years >= 1 and abs(days - years * 365.25) <= 1 + years / 4:
        return ngettext("%(n)s year", "%(n)s years", years) % {"n": years}
    return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}


# Worded when shown, in the language active then: English for the API, hers on the consent pages.
_date_words_lazy = lazy(_date_words, str)
_span_words_lazy = lazy(_span_words, str)


def long_expiry_error(expires_at: datetime, *, now: datetime) -> ValidationError | None:
    """An end date further out than the horizon, unless confirmed (the caller checks the confirmation)."""
    days = expiry_horizon_days()
    if expires_at <= now + timedelta(days=days):
        return None
    return ValidationError(
        LONG_EXPIRY,
        code=LONG_EXPIRY_CODE,
        params={"until": _date_words_lazy(clock.local_date(expires_at)), "span": _span_words_lazy(days)},
    )


def signer_errors(terms: ConsentTerms, *, parent: Person, now: datetime, minor_signs_alone: bool) -> dict[str, str]:
    """Who signs (CONSENT-RULES, "Who may change what"): the parent herself, or a recorded representative of
    this family (``validate_terms`` checks which); where a minor may consent alone, she signs, and a
    guardian's signature alone covers nothing. The name and a typed signature are that person's name."""
    errors: dict[str, str] = {}
    is_minor = parent.born_on is not None and clock.age(born_on=parent.born_on, on=clock.local_date(now)).years < 18
    if is_minor and minor_signs_alone and terms.signer_kind == SignerKind.LEGAL_REPRESENTATIVE:
        errors["signer_kind"] = MINOR_SIGNS_HERSELF
        return errors
    signer = parent if terms.signer_kind == SignerKind.PARENT else terms.signer_person
    if signer is None:
        return errors
    names = names_of(signer)
    if terms.signer_name.strip() and comparable_name(terms.signer_name) not in names:
        errors["signer_name"] = SIGNER_NAME_MISMATCH
    if (
        terms.signature_method == SignatureMethod.TYPED
        and terms.signature_typed.strip()
        and comparable_name(terms.signature_typed) not in names
    ):
        errors["signature_typed"] = TYPED_SIGNATURE_MISMATCH
    return errors


def validate_terms(
    terms: ConsentTerms,
    *,
    now: datetime,
    representatives: list[Person] | None = None,
    parent: Person | None = None,
) -> None:
    """Every element 42 CFR 2.31 requires, explained in plain words when missing. With ``representatives``
    (her recorded legal representatives the staff member may see), also that one of them signs for her; with
    ``parent``, that the signer's name and a typed signature are the signer's own name."""
    errors: dict[str, str | ValidationError] = {}
    if terms.signer_kind not in SignerKind.values:
        errors["signer_kind"] = "Choose who is signing."
    elif terms.signer_kind == SignerKind.LEGAL_REPRESENTATIVE and representatives is not None:
        recorded = representatives
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
    kinds = covered_kinds(terms)
    if set(terms.categories) - set(Sensitivity.values) or any(kind_of(k) is None for k in terms.kinds):
        errors["categories"] = "One of the kinds of information is not known."
    elif not kinds:
        errors["categories"] = "Choose what kind of information may be shared."
    elif own_consent_kinds() & set(kinds) and len(kinds) > 1:
        # 42 CFR 2.31(b) (2024): SUD counselling notes are shared only under a consent of their own.
        errors["categories"] = COUNSELLING_NOTES_ALONE
    unknown_classes = set(terms.discloser_classes + terms.recipient_classes) - set(OrganizationClass.values)
    if unknown_classes:
        errors["recipient_classes"] = "One of the groups of organisations is not known."
    if terms.expires_at is None and not terms.expiry_event.strip():
        errors["expires_at"] = "Choose when the consent ends: a date, or an event such as “when my case closes”."
    if terms.expires_at is not None and terms.expires_at <= now:
        errors["expires_at"] = "The end date must be in the future."
    elif (
        terms.expires_at is not None
        and not terms.confirm_long_expiry
        and (too_far := long_expiry_error(terms.expires_at, now=now)) is not None
    ):
        errors["expires_at"] = too_far
    signer_known = parent is not None and (terms.signer_kind == SignerKind.PARENT or terms.signer_person is not None)
    if not terms.signer_name.strip() and not signer_known:
        errors["signer_name"] = "Enter the name of the person signing."
    if terms.signature_method == SignatureMethod.TYPED and not terms.signature_typed.strip():
        errors["signature_typed"] = "Type the name as a signature, or switch to a drawn signature."
    if terms.signature_method == SignatureMethod.DRAWN and (problem := _drawn_signature_error(terms.signature_drawn)):
        errors["signature_drawn"] = problem
    if terms.language not in Language.values:
        errors["language"] = "Choose the language the consent was presented in."
    if terms.effective_at is not None and terms.effective_at < now - timedelta(minutes=5):
        errors["effective_at"] = "A consent cannot take effect before it is signed."
    if parent is not None:
        minor_signs_alone = getattr(settings, "KINFOLD_MINOR_MAY_CONSENT_ALONE", True)
        for key, message in signer_errors(terms, parent=parent, now=now, minor_signs_alone=minor_signs_alone).items():
            errors.setdefault(key, message)
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
    signer = parent if terms.signer_kind == SignerKind.PARENT else terms.signer_person
    assert signer is not None  # validate_terms: a representative signs only once chosen
    version = ConsentVersion.objects.create(
        directive=directive,
        number=number,
        template_key=terms.template_key,
        patient_name=parent.display_name if not parent.preferred_name else f"{parent.given_name} {parent.family_name}",
        discloser_classes=sorted(terms.discloser_classes),
        recipient_classes=sorted(terms.recipient_classes),
        purposes=sorted(terms.purposes),
        purpose_description=terms.purpose_description.strip(),
        kinds=covered_kinds(terms),
        categories=covered_categories(terms),
        information_description=terms.information_description.strip(),
        right_to_revoke=terms.right_to_revoke.strip() or right_to_revoke_text(terms.language),
        expires_at=terms.expires_at,
        expiry_event=terms.expiry_event.strip(),
        signer_kind=terms.signer_kind,
        # The signer is recorded as a person: the parent, or the recorded representative who signed.
        signer_name=f"{signer.given_name} {signer.family_name}",
        signer_person=signer,
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


def _representatives(gate: RecordGate, family: Family) -> list[Person]:
    return legal_representatives(gate=gate, family_id=family.pk)


@atomic_write
def consent_record(*, viewer: Viewer, family: Family, terms: ConsentTerms, title: str = "") -> ConsentDirective:
    """Record a new consent the parent has just signed with a staff member."""
    gate = RecordGate.open(viewer, [family.pk])
    # Kinfold files a consent by what it names (a Part 2 programme makes it a Part 2 record); what she
    # records is her consent, never an SUD-treatment record of her own making.
    require_create(
        viewer,
        ConsentDirective,
        family_id=family.pk,
        category=consent_sensitivity(terms),
        authored_category=Sensitivity.CONTACT,
        gate=gate,
    )
    assert viewer.membership is not None
    membership = viewer.membership
    now = clock.now()
    if family.parent is None:
        raise ValidationError("Record the parent before a consent.")
    validate_terms(terms, now=now, representatives=_representatives(gate, family), parent=family.parent)
    directive = ConsentDirective.objects.create(
        family=family,
        patient=family.parent,
        title=title.strip(),
        created_by=viewer.user,
        created_by_org_id=membership.organization_id,
        sensitivity=consent_sensitivity(terms),
    )
    version = _save_version(viewer=viewer, directive=directive, terms=terms, number=1, now=now)
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=directive,
        consent_directive_id=directive.pk,
        action=Action.CREATE,
        verb="consent_recorded",
        summary=f"Recorded a consent: {version_summary(version, language='en')}",
        category=directive.sensitivity,
        kind="consent_record",
        detail={"version": 1, "language": terms.language},
        at=now,
    )
    return directive


@atomic_write
def consent_new_version(*, viewer: Viewer, directive: ConsentDirective, terms: ConsentTerms) -> ConsentVersion:
    """A change to a consent is a new version, signed again; the old version stays as it was."""
    directive = ConsentDirective.objects.select_for_update().get(pk=directive.pk)
    family = directive.family
    gate = RecordGate.open(viewer, [family.pk])
    require(viewer, Interaction.READ, directive, gate=gate)  # she signs again what the viewer may see
    require_create(
        viewer,
        ConsentVersion,
        family_id=family.pk,
        category=consent_sensitivity(terms),
        authored_category=Sensitivity.CONTACT,
        directive_id=directive.pk,
        gate=gate,
    )
    now = clock.now()
    if directive.revoked_at is not None:
        raise ValidationError("This consent was revoked. A consent given after a revocation is a new consent.")
    assert family.parent is not None
    validate_terms(terms, now=now, representatives=_representatives(gate, family), parent=family.parent)
    number = (directive.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    if consent_sensitivity(terms) == Sensitivity.SUD_TREATMENT and directive.sensitivity != Sensitivity.SUD_TREATMENT:
        # Once any version is about treatment, the whole consent is (its earlier versions are shown with it).
        directive.sensitivity = Sensitivity.SUD_TREATMENT
        directive.save(update_fields=["sensitivity", "updated_at"])
        ConsentVersion.objects.filter(directive=directive).update(sensitivity=Sensitivity.SUD_TREATMENT)
    version = _save_version(viewer=viewer, directive=directive, terms=terms, number=number, now=now)
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=directive,
        consent_directive_id=directive.pk,
        action=Action.UPDATE,
        verb="consent_changed",
        summary=f"Recorded version {number} of a consent, signed again",
        category=directive.sensitivity,
        kind="consent_record",
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
    """Revocation ends every version at once, for future access; what was disclosed before stays accounted.
    Anyone who may see the consent records her revocation (CONSENT-RULES, "Who sees consents")."""
    directive = ConsentDirective.objects.select_for_update().get(pk=directive.pk)
    family = directive.family
    require(viewer, Interaction.RETIRE, directive)
    assert viewer.membership is not None
    membership = viewer.membership
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
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=directive,
        consent_directive_id=directive.pk,
        action=Action.UPDATE,
        verb="consent_revoked",
        summary=f"Recorded that she revoked a consent ({directive.get_revocation_method_display().lower()})",
        category=directive.sensitivity,
        kind="consent_record",
        detail={"revoked": True, "method": method},
        at=now,
    )
    return directive


@atomic_write
def consent_expiry_event_record(*, viewer: Viewer, version: ConsentVersion) -> ConsentVersion:
    """The event a consent named as its end (e.g. "when my court case closes") has happened. Like a
    revocation, it only ends sharing: anyone who may see the consent records it."""
    family = version.directive.family
    require(viewer, Interaction.CHANGE, version)
    if not version.expiry_event:
        raise ValidationError("This consent ends on a date, not an event.")
    if version.expiry_event_recorded_at is not None:
        raise ValidationError("The event was already recorded.")
    now = clock.now()
    ConsentVersion.objects.filter(pk=version.pk).update(expiry_event_recorded_at=now, version=version.version + 1)
    version.refresh_from_db()
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=version,
        consent_directive_id=version.directive_id,
        action=Action.UPDATE,
        verb="consent_ended",
        summary=f"Recorded that “{version.expiry_event}” happened; the consent has ended",
        category=version.sensitivity,
        kind="consent_record",
        at=now,
    )
    return version
