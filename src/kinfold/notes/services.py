"""Writing a note to a family's record. The note's category follows its kind; only health-care providers
write SUD-treatment records (CONSENT-RULES: a caseworker's note that mentions substance use is a
child-welfare record)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError

from kinfold import clock
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import Refused, atomic_write, record_event
from kinfold.consent.policy import Viewer, may_open_family
from kinfold.families.models import Family, FamilyActivity, Sensitivity
from kinfold.notes.models import NOTE_CATEGORY, Note, NoteKind
from kinfold.organizations.models import HEALTH_CARE_PROVIDER_TYPES


def kinds_for(viewer: Viewer) -> list[tuple[str, str]]:
    """The kinds of note the viewer's organisation may write."""
    org = viewer.membership.organization if viewer.membership else None
    is_provider = org is not None and org.type in HEALTH_CARE_PROVIDER_TYPES
    return [(k.value, k.label) for k in NoteKind if is_provider or NOTE_CATEGORY[k] != Sensitivity.SUD_TREATMENT]


@atomic_write
def note_add(
    *, viewer: Viewer, family: Family, kind: str, summary: str, body: str = "", occurred_on: date | None = None
) -> Note:
    if not may_open_family(viewer, family):
        raise Refused(
            "You cannot write to this family's record.",
            {
                "actor": viewer.user,
                "action": Action.CREATE,
                "record_type": "Note",
                "family_id": family.pk,
                "outcome": Outcome.DENIED,
            },
        )
    assert viewer.membership is not None
    if kind not in dict(kinds_for(viewer)):
        raise ValidationError({"kind": "Your organisation cannot write this kind of note."})
    summary = summary.strip()
    if not summary:
        raise ValidationError({"summary": "Write a one-line summary."})
    today = clock.today()
    occurred_on = occurred_on or today
    if occurred_on > today:
        raise ValidationError({"occurred_on": "The date cannot be in the future."})
    if occurred_on < today - timedelta(days=3 * 366):
        raise ValidationError({"occurred_on": "That date is more than three years ago. Please check it."})
    category = NOTE_CATEGORY[NoteKind(kind)]
    note = Note.objects.create(
        family=family,
        kind=kind,
        summary=summary,
        body=body.strip(),
        occurred_on=occurred_on,
        sensitivity=category,
        created_by=viewer.user,
        created_by_org_id=viewer.membership.organization_id,
    )
    now = clock.now()
    # The timeline line carries the note's own category, so it is shown only where the note is.
    FamilyActivity.objects.create(
        family=family,
        occurred_at=now,
        verb="note_added",
        sensitivity=category,
        summary=f"Added a note: {NoteKind(kind).label.lower()}",
        created_by=viewer.user,
        created_by_org_id=viewer.membership.organization_id,
    )
    Family.objects.filter(pk=family.pk).update(last_activity_at=now)
    record_event(
        actor=viewer.user,
        action=Action.CREATE,
        record_type="Note",
        record_id=note.pk,
        family_id=family.pk,
        detail={"category": category},
        at=now,
    )
    return note
