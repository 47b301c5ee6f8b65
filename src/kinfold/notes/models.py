"""Records the team writes about a family: attendance, medication, therapy notes, case notes, reports.

Each note's category follows its kind, and only health-care providers write SUD-treatment records
(a caseworker's note that mentions substance use is a child-welfare record).
"""

from __future__ import annotations

from django.core.validators import MaxLengthValidator
from django.db import models

from kinfold import clock, text_limits
from kinfold.families.models import Family, FamilyRecord, Sensitivity


class NoteKind(models.TextChoices):
    """The kinds of note a person writes; each is a kind of information (``access/data/kinds.yaml``)."""

    TREATMENT_ATTENDANCE = "treatment_attendance", "Treatment attendance"
    MEDICATION = "medication", "Medication for OUD"
    TOXICOLOGY = "toxicology", "Toxicology result"
    SUD_ASSESSMENT = "sud_assessment", "Substance use assessment or diagnosis"
    TREATMENT_PLAN = "treatment_plan", "Treatment plan or progress"
    DISCHARGE = "discharge", "Discharge from treatment"
    COUNSELLING_NOTE = "counselling_note", "SUD counselling note"
    THERAPY_NOTE = "therapy_note", "Therapy note"
    PRENATAL_VISIT = "prenatal_visit", "Prenatal or medical visit"
    CASE_NOTE = "case_note", "Child welfare case note"
    COURT_REPORT = "court_report", "Court note"
    SOCIAL_NEEDS = "social_needs", "Social needs"
    CONTACT_LOG = "contact_log", "Contact log"


# A note's kind is its kind of information; its category follows from the kinds table (checked by a test).
NOTE_CATEGORY = {
    NoteKind.TREATMENT_ATTENDANCE: Sensitivity.SUD_TREATMENT,
    NoteKind.MEDICATION: Sensitivity.SUD_TREATMENT,
    NoteKind.TOXICOLOGY: Sensitivity.SUD_TREATMENT,
    NoteKind.SUD_ASSESSMENT: Sensitivity.SUD_TREATMENT,
    NoteKind.TREATMENT_PLAN: Sensitivity.SUD_TREATMENT,
    NoteKind.DISCHARGE: Sensitivity.SUD_TREATMENT,
    NoteKind.COUNSELLING_NOTE: Sensitivity.SUD_TREATMENT,
    NoteKind.THERAPY_NOTE: Sensitivity.MENTAL_HEALTH,
    NoteKind.PRENATAL_VISIT: Sensitivity.GENERAL_HEALTH,
    NoteKind.CASE_NOTE: Sensitivity.CHILD_WELFARE,
    NoteKind.COURT_REPORT: Sensitivity.LEGAL,
    NoteKind.SOCIAL_NEEDS: Sensitivity.SOCIAL_NEEDS,
    NoteKind.CONTACT_LOG: Sensitivity.CONTACT,
}


class Note(FamilyRecord):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=32, choices=NoteKind.choices)
    occurred_on = models.DateField(default=clock.today)
    summary = models.CharField(max_length=text_limits.NOTE_SUMMARY.chars)
    body = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.NOTE_BODY.chars)])

    class Meta:
        ordering = ["-occurred_on", "-pk"]
        indexes = [models.Index(fields=["family", "-occurred_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"
