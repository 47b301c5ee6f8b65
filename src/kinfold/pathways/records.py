"""records.py — pathways' records declare themselves to the door (CONSENT-RULES, "Records still to come"): each is
a record of the organisation that made it, of the kind it was filed under (an enrolment and its steps: the kind
the pathway file names for the enrolling organisation's type; a child-welfare date: the child-welfare case; a
Plan of Safe Care and its needs: the plan's own kind; a shared decision-making record: the kind for its maker's
type). Care-team members who may read a step or a plan may also record what was done."""

from __future__ import annotations

from kinfold.access.registry import ChangeRule, CreateRule, register
from kinfold.pathways.models import (
    ChildWelfareEvent,
    PathwayEnrolment,
    PathwayStep,
    PlanNeed,
    PlanOfSafeCare,
    SharedDecisionRecord,
)


def declare() -> None:
    register(
        ChildWelfareEvent,
        family_path="family_id",
        label="child-welfare date",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.CREATOR,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        describe=lambda r: f"{r.get_event_display()} ({r.occurred_on:%-d %b %Y})",
    )
    register(
        PathwayEnrolment,
        family_path="family_id",
        label="pathway",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.CREATOR,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        describe=lambda r: f"{r.title} (enrolled {r.enrolled_on:%-d %b %Y})",
    )
    register(
        PathwayStep,
        family_path="family_id",
        label="pathway step",
        create_rule=CreateRule.NEVER,
        change_rule=ChangeRule.TEAM_KEPT,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        describe=lambda r: f"Pathway step: {r}",
    )
    register(
        SharedDecisionRecord,
        family_path="family_id",
        label="shared decision-making record",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.CREATOR,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        describe=lambda r: str(r),
    )
    register(
        PlanOfSafeCare,
        family_path="family_id",
        label="Plan of Safe Care",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.TEAM_KEPT,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        describe=lambda r: f"Plan of Safe Care ({r.identified_on:%-d %b %Y})",
    )
    register(
        PlanNeed,
        family_path="family_id",
        label="Plan of Safe Care need",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.TEAM_KEPT,
        retire_rule=ChangeRule.TEAM_KEPT,
        kind_path="kind",
        describe=lambda r: f"Plan of Safe Care: {r.get_domain_display()}",
    )
