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
)


def declare() -> None:
    register(Family, family_path="pk", label="family", change_rule=ChangeRule.TEAM_KEPT)
    register(Person, family_path="family_id", label="person", change_rule=ChangeRule.TEAM_KEPT)
    register(FamilyRelationship, family_path="family_id", label="family member", change_rule=ChangeRule.TEAM_KEPT)
    register(PregnancyEpisode, family_path="family_id", label="pregnancy", change_rule=ChangeRule.TEAM_KEPT)
    register(
        CareTeam,
        family_path="family_id",
        label="care team",
        interactions={Interaction.READ, Interaction.CHANGE},
        create_rule=CreateRule.NEVER,
        change_rule=ChangeRule.COORDINATOR,
    )
    register(
        CareTeamMember,
        family_path="care_team.family_id",
        label="care-team place",
        interactions={Interaction.READ, Interaction.CREATE, Interaction.CHANGE, Interaction.RETIRE},
        read_rule=ReadRule.ADDRESSED,
        create_rule=CreateRule.COORDINATOR,
        change_rule=ChangeRule.COORDINATOR,
        retire_rule=ChangeRule.COORDINATOR_OR_HOLDER,
        holder_path="membership_id",
    )
    register(
        FamilyActivity,
        family_path="family_id",
        label="timeline line",
        interactions={Interaction.READ, Interaction.DISCLOSE_TO},
        read_rule=ReadRule.FOLLOWS_CONSENT,
        directive_path="consent_directive_id",
        create_rule=CreateRule.NEVER,
        change_rule=ChangeRule.NEVER,
    )
