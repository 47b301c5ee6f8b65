"""records.py — screening responses and safety alerts declare themselves to the door (CONSENT-RULES, "Records
still to come"): each is a record of the organisation that gave the screen, of the kind its instrument file names
for that organisation's type. An alert has its response's organisation and kind, so the door lets read it
exactly those who may read the response. Care-team members who may read an alert may record what was done."""

from __future__ import annotations

from kinfold.access.registry import ChangeRule, CreateRule, register
from kinfold.screening.models import SafetyAlert, ScreeningResponse


def declare() -> None:
    register(
        ScreeningResponse,
        family_path="family_id",
        label="screening",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.CREATOR,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        named_by_orders=True,
        describe=_describe_response,
    )
    register(
        SafetyAlert,
        family_path="family_id",
        label="safety alert",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.TEAM_KEPT,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        describe=_describe_alert,
    )


def _describe_response(response: ScreeningResponse) -> str:
    return f"{response.short_title} screening ({response.created_at:%-d %b %Y})"


def _describe_alert(alert: SafetyAlert) -> str:
    return f"Safety alert from a screening ({alert.raised_at:%-d %b %Y})"
