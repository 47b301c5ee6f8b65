"""records.py — how the families app's records declare themselves to the door (``kinfold.access.registry``).

The records the team keeps together — the family, its people and relationships, the pregnancy, the care
team — may be changed by any care-team member who may read them; the coordinator manages the team and
anyone may remove herself (CONSENT-RULES, "Who may change what"). Timeline lines are written only by
Kinfold (``families.timeline``) and never changed.
"""

from __future__ import annotations

from kinfold.access.registry import ChangeRule, CreateRule, ReadRule, register
from kinfold.access.vocabulary import Interaction
from kinfold.families.models import (
    CareTeam,
    CareTeamMember,
    Family,
    FamilyActivity,
    FamilyRelationship,
    Person,
    PregnancyEpisode,
    Sensitivity,
)

CONTACT, GENERAL_HEALTH, SUD_TREATMENT = Sensitivity.CONTACT, Sensitivity.GENERAL_HEALTH, Sensitivity.SUD_TREATMENT


def declare() -> None:
    register(Family, family_path="pk", label="family", change_rule=ChangeRule.TEAM_KEPT, kinds={CONTACT: "identity"})
    # A person of her family is her identity information; a baby born is part of her pregnancy and birth.
    register(
        Person,
        family_path="family_id",
        label="person",
        change_rule=ChangeRule.TEAM_KEPT,
        kinds={CONTACT: "identity", GENERAL_HEALTH: "pregnancy"},
    )
    register(
        FamilyRelationship,
        family_path="family_id",
        label="family member",
        change_rule=ChangeRule.TEAM_KEPT,
        kinds={CONTACT: "family"},
    )
    register(
        PregnancyEpisode,
        family_path="family_id",
        label="pregnancy",
        change_rule=ChangeRule.TEAM_KEPT,
        kinds={GENERAL_HEALTH: "pregnancy"},
    )
    register(
        CareTeam,
        family_path="family_id",
        label="care team",
        interactions={Interaction.READ, Interaction.CHANGE},
        create_rule=CreateRule.NEVER,
        change_rule=ChangeRule.COORDINATOR,
        kinds={CONTACT: "care_team"},
    )
    register(
        CareTeamMember,
        family_path="care_team.family_id",
        label="care-team place",
        interactions={
            Interaction.READ,
            Interaction.CREATE,
            Interaction.CHANGE,
            Interaction.RETIRE,
            Interaction.HAND_OVER,
        },
        read_rule=ReadRule.ADDRESSED,
        create_rule=CreateRule.COORDINATOR,
        change_rule=ChangeRule.COORDINATOR,
        retire_rule=ChangeRule.COORDINATOR_OR_HOLDER,
        holder_path="membership_id",
        # A place for someone of a Part 2 programme tells that she is in treatment there.
        kinds={CONTACT: "care_team", SUD_TREATMENT: "treatment_enrolment"},
    )
    register(
        FamilyActivity,
        family_path="family_id",
        label="timeline line",
        interactions={Interaction.READ, Interaction.DISCLOSE_TO},
        read_rule=ReadRule.FOLLOWS_CONSENT,
        directive_path="consent_directive_id",
        kind_path="kind",
        create_rule=CreateRule.NEVER,
        change_rule=ChangeRule.NEVER,
    )
