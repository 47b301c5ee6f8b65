"""records.py — the consent feature's records declare themselves to the door.

- A consent (directive and versions) is seen by the parties it names and by whoever recorded it (rule C);
  anyone who may see it records her revocation or the event that ends it.
- A court order is recorded by a privacy officer, never of the court it authorises, and changed (its
  2.64(d) findings recorded) by a privacy officer of the organisation that recorded it.
- A restriction request is also seen by the organisation it asks, whose staff alone agree, refuse or end it
  on its side; anyone who may see it records her own request to end it.
"""

from __future__ import annotations

from kinfold.access.registry import ChangeRule, CreateRule, ReadRule, register
from kinfold.access.vocabulary import Interaction
from kinfold.consent.models import ConsentDirective, ConsentVersion, CourtOrder, Restriction
from kinfold.families.models import Sensitivity

# A consent or a request is about sharing; one that names a Part 2 programme tells that she is in treatment.
ABOUT_SHARING = {Sensitivity.CONTACT: "consent_record", Sensitivity.SUD_TREATMENT: "treatment_enrolment"}
WITHOUT_SENDING = {Interaction.READ, Interaction.CREATE, Interaction.CHANGE, Interaction.RETIRE}


def declare() -> None:
    register(
        ConsentDirective,
        family_path="family_id",
        label="consent",
        interactions=WITHOUT_SENDING,
        read_rule=ReadRule.CONSENT,
        change_rule=ChangeRule.READERS,
        directive_path="pk",
        kinds=ABOUT_SHARING,
    )
    register(
        ConsentVersion,
        family_path="directive.family_id",
        label="consent version",
        interactions=WITHOUT_SENDING,
        read_rule=ReadRule.CONSENT,
        change_rule=ChangeRule.READERS,
        directive_path="directive_id",
        kinds=ABOUT_SHARING,
    )
    register(
        CourtOrder,
        family_path="family_id",
        label="court order",
        interactions=WITHOUT_SENDING,
        create_rule=CreateRule.PRIVACY_OFFICER,
        change_rule=ChangeRule.PRIVACY_OFFICER,
        subject_org_path="court_id",
        kinds={Sensitivity.LEGAL: "court_order"},
    )
    register(
        Restriction,
        family_path="family_id",
        label="restriction request",
        interactions=WITHOUT_SENDING,
        read_rule=ReadRule.ADDRESSED,
        change_rule=ChangeRule.SUBJECT_ORG,
        retire_rule=ChangeRule.READERS,
        subject_org_path="disclosing_org_id",
        kinds=ABOUT_SHARING,
    )
