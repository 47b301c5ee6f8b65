"""Changes to families, pregnancies and care teams. Each function is one transaction: it asks the door
(``access.door.require``: nobody changes what she may not read, the care team keeps the family's own records
together, and only the coordinator manages the team), validates, writes, and adds a timeline line and an
audit event (``families.timeline.record_written``).

Errors a person can fix are raised as ``django.core.exceptions.ValidationError`` with plain words;
a write based on a stale read raises ``ConcurrentEditError``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from kinfold import clock, text_limits
from kinfold.access.door import require, require_create
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, role_access
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write
from kinfold.families.models import (
    CareTeam,
    CareTeamMember,
    Family,
    FamilyRelationship,
    Insurance,
    Language,
    Person,
    PregnancyEpisode,
    PregnancyOutcome,
    RelationshipCategory,
    Sensitivity,
)
from kinfold.families.timeline import category_naming, record_written
from kinfold.organizations.models import Membership, Role, role_words

# An EDD further out than a full pregnancy (plus a margin for early recording) is almost surely a typo.
MAX_DAYS_TO_EDD = 300
MAX_DAYS_PAST_EDD_WITHOUT_DELIVERY = 6 * 7
# Her age on the due date: outside these bounds a date of birth or a due date has been mistyped (the youngest
# and oldest recorded births are outside them, but no care-coordination caseload is).
MIN_PARENT_AGE_AT_EDD = 10
MAX_PARENT_AGE_AT_EDD = 65
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
MAX_AGE_YEARS = 120
# A baby is born (alive or stillborn) from 20 weeks; before that a pregnancy ends in a loss (CDC/NCHS).
MIN_WEEKS_AT_BIRTH = 20


class ConcurrentEditError(Exception):
    """Someone else changed this record after it was read; reload and try again."""


def _may_create(viewer: Viewer, model: type[Any], family: Family, category: str, **facts: Any) -> RecordGate:
    """The write gate for a new record of ``model`` in her organisation's name; the gate, for what follows."""
    gate = RecordGate.open(viewer, [family.pk])
    require_create(viewer, model, family_id=family.pk, category=category, gate=gate, **facts)
    return gate


# The kind of information each line tells (a line naming a Part 2 programme becomes that category's kind).
LINE_KINDS = {
    "family_created": "identity",
    "member_added": "family",
    "pregnancy_recorded": "pregnancy",
    "due_date_corrected": "pregnancy",
    "delivery_recorded": "pregnancy",
    "team_member_added": "care_team",
    "team_member_removed": "care_team",
    "coordinator_changed": "care_team",
    "team_handed_over": "care_team",
}


# Apps above ``families`` whose dates count from a pregnancy (pathways' due dates) are told when its due date or
# delivery changes, as part of the same write, so ``families`` never imports them: ``listener(viewer, family_id,
# why)``.
ANCHOR_LISTENERS: list[Callable[[Viewer, int, str], Any]] = []


def register_anchor_listener(listener: Callable[[Viewer, int, str], Any]) -> None:
    if listener not in ANCHOR_LISTENERS:
        ANCHOR_LISTENERS.append(listener)


def _anchors_changed(viewer: Viewer, family_id: int, why: str) -> None:
    for listener in ANCHOR_LISTENERS:
        listener(viewer, family_id, why)


def _log(
    *,
    viewer: Viewer,
    family: Family,
    verb: str,
    summary: str,
    record: Any,
    action: str,
    sensitivity: str = Sensitivity.CONTACT,
    detail: dict[str, Any] | None = None,
) -> None:
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=record,
        action=action,
        verb=verb,
        summary=summary,
        category=sensitivity,
        kind=LINE_KINDS[verb],
        detail=detail,
    )


def _provenance(viewer: Viewer, sensitivity: str = Sensitivity.CONTACT) -> dict[str, Any]:
    assert viewer.membership is not None
    return {
        "created_by": viewer.user,
        "created_by_org_id": viewer.membership.organization_id,
        "sensitivity": sensitivity,
    }


def _validate_edd(edd: date, today: date) -> None:
    if edd > today + timedelta(days=MAX_DAYS_TO_EDD):
        raise ValidationError({"estimated_due_on": "That due date is more than 300 days away. Please check the year."})
    if edd < today - timedelta(days=MAX_DAYS_PAST_EDD_WITHOUT_DELIVERY):
        raise ValidationError(
            {
                "estimated_due_on": "That due date is more than 6 weeks ago. If the baby has been born, "
                "record the delivery instead."
            }
        )


def _validate_birth_date(born_on: date | None, today: date, field: str = "born_on") -> None:
    if born_on is None:
        return
    if born_on > today:
        raise ValidationError({field: "A date of birth cannot be in the future."})
    if born_on < EARLIEST_BIRTH_DATE:
        raise ValidationError({field: "A date of birth before 1900 cannot be right. Please check the year."})
    if born_on < clock.add_months(today, -12 * MAX_AGE_YEARS):
        raise ValidationError(
            {field: f"That date of birth is more than {MAX_AGE_YEARS} years ago. Please check the year."}
        )


def _validate_age_at_due_date(*, first_name: str, born_on: date | None, edd: date) -> None:
    """Refuse a pregnancy whose parent would be implausibly young or old on her due date: one of the two
    dates is mistyped, and the message says which two to check."""
    if born_on is None:
        return
    years = clock.age(born_on=born_on, on=edd).years if born_on <= edd else 0
    if MIN_PARENT_AGE_AT_EDD <= years <= MAX_PARENT_AGE_AT_EDD:
        return
    who = first_name or "She"
    raise ValidationError(
        {"estimated_due_on": f"{who} would be {years} on her due date. Check her date of birth or the due date."}
    )


def _first_name(person: Person | None) -> str:
    return (person.preferred_name or person.given_name) if person is not None else ""


@atomic_write
def family_create(
    *,
    viewer: Viewer,
    given_name: str,
    family_name: str,
    preferred_name: str = "",
    pronouns: str = "",
    born_on: date | None = None,
    preferred_language: str = Language.ENGLISH,
    phone: str = "",
    estimated_due_on: date | None = None,
    postal_code: str = "",
    county: str = "",
    insurance: str = "",
    first_pregnancy: bool | None = None,
) -> Family:
    """A new family with its parent, an optional pregnancy, and a care team coordinated by the creator."""
    access = role_access(viewer.role) if viewer.may_see_family_data else None
    if access is None or Sensitivity.CONTACT not in access.categories:
        raise PermissionDenied("Only staff with a role in an organisation can create families.")
    membership = viewer.membership
    assert membership is not None
    given_name, family_name = given_name.strip(), family_name.strip()
    errors: dict[str, str] = {}
    if not given_name:
        errors["given_name"] = "Enter the parent's first name."
    if not family_name:
        errors["family_name"] = "Enter the parent's last name."
    if errors:
        raise ValidationError(errors)
    preferred_name, pronouns, phone = preferred_name.strip(), pronouns.strip(), phone.strip()
    text_limits.refuse_long_text(
        given_name=(given_name, text_limits.GIVEN_NAME),
        family_name=(family_name, text_limits.FAMILY_NAME),
        preferred_name=(preferred_name, text_limits.PREFERRED_NAME),
        pronouns=(pronouns, text_limits.PRONOUNS),
        phone=(phone, text_limits.PHONE),
    )
    if preferred_language not in Language.values:
        raise ValidationError({"preferred_language": "Choose her preferred language from the list."})
    postal_code, county = postal_code.strip(), county.strip()
    if postal_code and not (len(postal_code) == 5 and postal_code.isdigit()):
        raise ValidationError({"postal_code": "Enter a 5-digit ZIP code, like 40508."})
    if len(county) > 120:
        raise ValidationError({"county": "Enter the county name only (up to 120 characters)."})
    if insurance and insurance not in Insurance.values:
        raise ValidationError({"insurance": "Choose how her care is paid for from the list."})
    today = clock.today()
    _validate_birth_date(born_on, today)
    if estimated_due_on is not None:
        _validate_edd(estimated_due_on, today)
        _validate_age_at_due_date(first_name=preferred_name or given_name, born_on=born_on, edd=estimated_due_on)

    # A new family is made whole in her organisation's name: she coordinates it and reads all of it (rule 1).
    family = Family.objects.create(sort_name=f"{family_name} {given_name}".lower(), **_provenance(viewer))
    parent = Person.objects.create(
        family=family,
        given_name=given_name,
        family_name=family_name,
        preferred_name=preferred_name,
        pronouns=pronouns,
        born_on=born_on,
        preferred_language=preferred_language,
        phone=phone,
        postal_code=postal_code,
        county=county,
        insurance=insurance,
        **_provenance(viewer),
    )
    family.parent = parent
    family.save(update_fields=["parent"])
    team = CareTeam.objects.create(family=family, **_provenance(viewer))
    CareTeamMember.objects.create(
        care_team=team,
        membership=membership,
        role=membership.role,
        is_coordinator=True,
        **_provenance(viewer),
    )
    _log(
        viewer=viewer,
        family=family,
        verb="family_created",
        action=Action.CREATE,
        record=family,
        summary=f"Created the family of {parent.display_name}, with {membership.display_name} as coordinator",
    )
    if estimated_due_on is not None:
        pregnancy_start(
            viewer=viewer, family=family, estimated_due_on=estimated_due_on, first_pregnancy=first_pregnancy
        )
    return family


@atomic_write
def family_member_add(
    *,
    viewer: Viewer,
    family: Family,
    given_name: str,
    family_name: str,
    category: str,
    description: str = "",
    born_on: date | None = None,
    lives_with_parent: bool = False,
    is_legal_representative: bool = False,
) -> FamilyRelationship:
    """Add a person to the family as the parent describes them."""
    _may_create(viewer, FamilyRelationship, family, Sensitivity.CONTACT)
    given_name, family_name, description = given_name.strip(), family_name.strip(), description.strip()
    if not given_name:
        raise ValidationError({"given_name": "Enter the person's first name."})
    text_limits.refuse_long_text(
        given_name=(given_name, text_limits.GIVEN_NAME),
        family_name=(family_name, text_limits.FAMILY_NAME),
        description=(description, text_limits.RELATIONSHIP_DESCRIPTION),
    )
    if category not in RelationshipCategory.values:
        raise ValidationError({"category": "Choose how this person is related to the parent."})
    _validate_birth_date(born_on, clock.today())
    if is_legal_representative:
        if category == RelationshipCategory.CHILD:
            raise ValidationError({"is_legal_representative": "Her child cannot be her legal representative."})
        if born_on is not None and clock.age(born_on=born_on, on=clock.today()).years < 18:
            raise ValidationError({"is_legal_representative": "A legal representative must be an adult (18 or over)."})
    person = Person.objects.create(
        family=family, given_name=given_name, family_name=family_name, born_on=born_on, **_provenance(viewer)
    )
    relationship = FamilyRelationship.objects.create(
        family=family,
        person=person,
        category=category,
        description=description,
        lives_with_parent=lives_with_parent,
        is_legal_representative=is_legal_representative,
        **_provenance(viewer),
    )
    label = description or RelationshipCategory(category).label.lower()
    if is_legal_representative:
        label += ", her legal representative"
    _log(
        viewer=viewer,
        family=family,
        verb="member_added",
        action=Action.CREATE,
        record=relationship,
        summary=f"Added {person.display_name} to the family ({label})",
    )
    return relationship


@atomic_write
def pregnancy_start(
    *, viewer: Viewer, family: Family, estimated_due_on: date, first_pregnancy: bool | None = None
) -> PregnancyEpisode:
    _may_create(viewer, PregnancyEpisode, family, Sensitivity.GENERAL_HEALTH)
    _validate_edd(estimated_due_on, clock.today())
    if family.parent is None:
        raise ValidationError("Record the parent before a pregnancy.")
    _validate_age_at_due_date(
        first_name=_first_name(family.parent), born_on=family.parent.born_on, edd=estimated_due_on
    )
    if PregnancyEpisode.objects.filter(family=family, delivered_on__isnull=True).exists():
        raise ValidationError({"estimated_due_on": "This family already has an ongoing pregnancy."})
    try:
        with transaction.atomic():
            episode = PregnancyEpisode.objects.create(
                family=family,
                person=family.parent,
                estimated_due_on=estimated_due_on,
                first_pregnancy=first_pregnancy,
                **_provenance(viewer, Sensitivity.GENERAL_HEALTH),
            )
    except IntegrityError as exc:  # one_ongoing_pregnancy_per_family: another write won the race
        raise ValidationError({"estimated_due_on": "This family already has an ongoing pregnancy."}) from exc
    _log(
        viewer=viewer,
        family=family,
        verb="pregnancy_recorded",
        action=Action.CREATE,
        record=episode,
        sensitivity=Sensitivity.GENERAL_HEALTH,
        summary=f"Recorded a pregnancy, estimated due date {estimated_due_on:%-d %B %Y}",
    )
    _anchors_changed(viewer, family.pk, "pregnancy recorded")
    return episode


def _bump_version(model: type[Any], pk: int, expected_version: int | None, **changes: Any) -> None:
    """Write ``changes`` only if nobody else has changed the row since it was read."""
    rows = model.objects.filter(pk=pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if rows.update(version=F("version") + 1, **changes) != 1:
        raise ConcurrentEditError("Someone else changed this record while you were editing. Reload the page.")


@atomic_write
def pregnancy_correct_due_date(
    *, viewer: Viewer, episode: PregnancyEpisode, estimated_due_on: date, expected_version: int | None = None
) -> PregnancyEpisode:
    family = episode.family
    require(viewer, Interaction.CHANGE, episode)
    if not episode.is_ongoing:
        raise ValidationError({"estimated_due_on": "The due date of a pregnancy that has ended cannot change."})
    _validate_edd(estimated_due_on, clock.today())
    _validate_age_at_due_date(
        first_name=_first_name(episode.person), born_on=episode.person.born_on, edd=estimated_due_on
    )
    previous = episode.estimated_due_on
    _bump_version(PregnancyEpisode, episode.pk, expected_version, estimated_due_on=estimated_due_on)
    episode.refresh_from_db()
    _log(
        viewer=viewer,
        family=family,
        verb="due_date_corrected",
        action=Action.UPDATE,
        record=episode,
        sensitivity=Sensitivity.GENERAL_HEALTH,
        summary=f"Corrected the estimated due date from {previous:%-d %B %Y} to {estimated_due_on:%-d %B %Y}",
    )
    _anchors_changed(viewer, family.pk, "estimated due date corrected")
    return episode


@atomic_write
def delivery_record(
    *,
    viewer: Viewer,
    episode: PregnancyEpisode,
    delivered_on: date,
    outcome: str,
    infants: list[dict[str, Any]] | None = None,
    expected_version: int | None = None,
) -> PregnancyEpisode:
    """Record the end of a pregnancy; each infant born becomes a family member (the parent's child)."""
    family = episode.family
    gate = RecordGate.open(viewer, [family.pk])
    require(viewer, Interaction.CHANGE, episode, gate=gate)
    today = clock.today()
    if not episode.is_ongoing:
        raise ValidationError("A delivery is already recorded for this pregnancy.")
    if outcome not in PregnancyOutcome.values:
        raise ValidationError({"outcome": "Choose the outcome of the pregnancy."})
    if delivered_on > today:
        raise ValidationError({"delivered_on": "The delivery date cannot be in the future."})
    began_on = episode.estimated_due_on - timedelta(days=clock.DAYS_IN_TERM_PREGNANCY)
    if delivered_on < began_on:
        raise ValidationError(
            {
                "delivered_on": f"That date is before this pregnancy began (about {began_on:%-d %B %Y}, from its "
                f"due date of {episode.estimated_due_on:%-d %B %Y}). Check the date, or correct the due date first."
            }
        )
    # Before 20 weeks a pregnancy ends in a loss, not a birth with a baby to link.
    ga = episode.gestational_age_on(delivered_on)
    if outcome in (PregnancyOutcome.LIVE_BIRTH, PregnancyOutcome.STILLBIRTH) and (
        ga is None or ga.weeks < MIN_WEEKS_AT_BIRTH
    ):
        weeks = ga.weeks if ga is not None else 0
        raise ValidationError(
            {
                "delivered_on": f"That date is too early for a birth: the pregnancy would have been {weeks} weeks "
                f"along (a birth is from {MIN_WEEKS_AT_BIRTH} weeks). Check the date or the outcome."
            }
        )
    if delivered_on > episode.estimated_due_on + timedelta(days=MAX_DAYS_PAST_EDD_WITHOUT_DELIVERY):
        raise ValidationError({"delivered_on": "That date is more than 6 weeks after the due date. Please check it."})
    infants = infants or []
    if len(infants) > 4:
        raise ValidationError({"infants": "Enter at most four babies."})
    for infant in infants:
        for key, limit in (("given_name", text_limits.INFANT_NAME), ("family_name", text_limits.FAMILY_NAME)):
            text_limits.refuse_long_text(infants=(str(infant.get(key, "")).strip(), limit))
    if outcome == PregnancyOutcome.LIVE_BIRTH and not infants:
        raise ValidationError({"infants": "Add the baby's name (a first name or “Baby”) for a live birth."})
    if outcome != PregnancyOutcome.LIVE_BIRTH and infants:
        raise ValidationError({"infants": "Infants are linked only for a live birth."})
    if infants:
        # Each infant is a person of the family, made in her organisation's name.
        for model, category in ((Person, Sensitivity.GENERAL_HEALTH), (FamilyRelationship, Sensitivity.CONTACT)):
            require_create(viewer, model, family_id=family.pk, category=category, gate=gate)
    _bump_version(PregnancyEpisode, episode.pk, expected_version, delivered_on=delivered_on, outcome=outcome)
    episode.refresh_from_db()
    names = []
    for infant in infants:
        given = str(infant.get("given_name", "")).strip() or "Baby"
        surname = str(infant.get("family_name", "")).strip() or (family.parent.family_name if family.parent else "")
        person = Person.objects.create(
            family=family,
            given_name=given,
            family_name=surname,
            born_on=delivered_on,
            **_provenance(viewer, Sensitivity.GENERAL_HEALTH),
        )
        FamilyRelationship.objects.create(
            family=family,
            person=person,
            category=RelationshipCategory.CHILD,
            description="baby",
            lives_with_parent=True,
            **_provenance(viewer),
        )
        episode.infants.add(person)
        names.append(person.display_name)
    outcome_words = PregnancyOutcome(outcome).label.lower()
    summary = f"Recorded the delivery on {delivered_on:%-d %B %Y}: {outcome_words}"
    if names:
        summary += f" ({', '.join(names)})"
    _log(
        viewer=viewer,
        family=family,
        verb="delivery_recorded",
        action=Action.UPDATE,
        record=episode,
        sensitivity=Sensitivity.GENERAL_HEALTH,
        summary=summary,
    )
    _anchors_changed(viewer, family.pk, "delivery recorded")
    return episode


@atomic_write
def care_team_member_add(*, viewer: Viewer, family: Family, membership: Membership, role: str) -> CareTeamMember:
    """Put a staff member of any organisation on the family's care team (her coordinator does). A place for
    someone of a Part 2 programme names the programme: it is a Part 2 record, like its timeline line."""
    category = category_naming([membership.organization])
    _may_create(
        viewer,
        CareTeamMember,
        family,
        category,
        authored_category=Sensitivity.CONTACT,
        holder_membership_id=membership.pk,
    )
    if role not in Role.values:
        raise ValidationError({"role": "Choose this person's role on the team."})
    if not membership.is_active or not membership.user.is_active:
        raise ValidationError({"membership": "This person's account is not active."})
    team = CareTeam.objects.select_for_update().get(family=family)
    if CareTeamMember.objects.active().filter(care_team=team, membership=membership).exists():
        raise ValidationError({"membership": f"{membership.display_name} is already on the care team."})
    try:
        with transaction.atomic():
            member = CareTeamMember.objects.create(
                care_team=team, membership=membership, role=role, **_provenance(viewer, category)
            )
    except IntegrityError as exc:
        raise ValidationError({"membership": f"{membership.display_name} is already on the care team."}) from exc
    _log(
        viewer=viewer,
        family=family,
        verb="team_member_added",
        action=Action.CREATE,
        record=member,
        sensitivity=category,
        summary=f"Added {membership.display_name} ({membership.organization.name}) to the care team as "
        f"{role_words(role)}",
    )
    return member


@atomic_write
def care_team_member_remove(*, viewer: Viewer, member: CareTeamMember) -> CareTeamMember:
    """Her coordinator removes a member; anyone may remove herself."""
    family = member.care_team.family
    require(viewer, Interaction.RETIRE, member)
    CareTeam.objects.select_for_update().get(pk=member.care_team_id)
    member.refresh_from_db()
    if member.left_at is not None:
        raise ValidationError("This person has already left the care team.")
    if member.is_coordinator:
        raise ValidationError(
            "The designated coordinator cannot be removed. Hand the coordinator role to someone else first."
        )
    at = clock.now()
    _bump_version(CareTeamMember, member.pk, None, left_at=at)
    member.refresh_from_db()
    _log(
        viewer=viewer,
        family=family,
        verb="team_member_removed",
        action=Action.DELETE,
        record=member,
        sensitivity=category_naming([member.membership.organization]),
        summary=f"Removed {member.membership.display_name} ({member.membership.organization.name}) from the care team",
    )
    return member


@atomic_write
def coordinator_handover(*, viewer: Viewer, family: Family, to_member: CareTeamMember) -> CareTeamMember:
    """Make ``to_member`` the one designated coordinator; the previous coordinator stays on the team. Only
    the coordinator hands the role over (she manages the team)."""
    require(viewer, Interaction.CHANGE, to_member)
    team = CareTeam.objects.select_for_update().get(family=family)
    to_member.refresh_from_db()
    if to_member.care_team_id != team.pk or to_member.left_at is not None:
        raise ValidationError("Only a current member of this family's care team can become coordinator.")
    if to_member.is_coordinator:
        raise ValidationError(f"{to_member.membership.display_name} is already the coordinator.")
    previous = CareTeamMember.objects.active().filter(care_team=team, is_coordinator=True).first()
    if previous is not None:
        _bump_version(CareTeamMember, previous.pk, None, is_coordinator=False)
    _bump_version(CareTeamMember, to_member.pk, None, is_coordinator=True)
    to_member.refresh_from_db()
    from_words = f" from {previous.membership.display_name}" if previous else ""
    _log(
        viewer=viewer,
        family=family,
        verb="coordinator_changed",
        action=Action.UPDATE,
        record=to_member,
        sensitivity=category_naming(
            [to_member.membership.organization, previous.membership.organization if previous else None]
        ),
        summary=f"Handed the coordinator role{from_words} to {to_member.membership.display_name} "
        f"({to_member.membership.organization.name})",
    )
    return to_member


@atomic_write
def team_place_hand_over(
    *, viewer: Viewer, place: CareTeamMember, to_membership: Membership | None, why: str
) -> CareTeamMember | None:
    """A lead of the holder's organisation hands her place on a family's team to a colleague (rule H):
    the colleague takes the place (and the coordinator role, if she held it) and the holder leaves the team.
    With no colleague named, the holder's place ends; a coordinator's place always needs a successor, so no
    family is left without a coordinator. ``why`` says on the timeline why (she left, her role changed).
    Returns the successor's place, or None."""
    require(viewer, Interaction.HAND_OVER, place)
    team = CareTeam.objects.select_for_update().get(pk=place.care_team_id)
    family = team.family
    place.refresh_from_db()
    if place.left_at is not None:
        raise ValidationError(f"{place.membership.display_name} has already left this family's care team.")
    holder = place.membership
    if to_membership is None:
        if place.is_coordinator:
            raise ValidationError(
                f"{holder.display_name} coordinates family {family.pk}: choose a colleague to take over."
            )
    elif (
        to_membership.pk == holder.pk
        or to_membership.organization_id != holder.organization_id
        or not to_membership.is_active
        or not to_membership.user.is_active
    ):
        raise ValidationError("Choose an active colleague of the same organisation to take over.")
    category = category_naming([holder.organization])
    at = clock.now()
    _bump_version(CareTeamMember, place.pk, None, left_at=at, is_coordinator=False)
    successor: CareTeamMember | None = None
    if to_membership is not None:
        successor = CareTeamMember.objects.active().filter(care_team=team, membership=to_membership).first()
        if successor is None:
            successor = CareTeamMember.objects.create(
                care_team=team,
                membership=to_membership,
                role=place.role,
                is_coordinator=place.is_coordinator,
                **_provenance(viewer, category),
            )
        elif place.is_coordinator:
            _bump_version(CareTeamMember, successor.pk, None, is_coordinator=True)
            successor.refresh_from_db()
    place.refresh_from_db()
    lead = viewer.membership.display_name if viewer.membership else "her organisation"
    if successor is not None:
        what = "coordinator role and team place" if successor.is_coordinator else "team place"
        summary = (
            f"{lead} handed {holder.display_name}'s {what} to {successor.membership.display_name} "
            f"({holder.organization.name}): {why}"
        )
        record: CareTeamMember = successor
    else:
        summary = f"{holder.display_name} ({holder.organization.name}) left the care team: {why}"
        record = place
    _log(
        viewer=viewer,
        family=family,
        verb="team_handed_over",
        action=Action.UPDATE,
        record=record,
        sensitivity=category,
        summary=summary,
        detail={"from_membership": holder.pk, "to_membership": to_membership.pk if to_membership else None},
    )
    return successor
