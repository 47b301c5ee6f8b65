"""records.py — referrals declare themselves to the door (CONSENT-RULES, "Referrals").

A referral is a record of the referring organisation, its kind the need; the organisation it asks is its
subject, and either side changes it (``services.py`` says which side makes which change). Each change of
status is a record of the organisation that made it: an answer is seen by the organisation that referred,
unless a Part 2 programme made it (then only as her consent allows).
"""

from __future__ import annotations

from kinfold.access.registry import ChangeRule, CreateRule, ReadRule, register
from kinfold.referrals.models import Referral, ReferralEvent


def declare() -> None:
    register(
        Referral,
        family_path="family_id",
        label="referral",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.CREATOR_OR_SUBJECT,
        retire_rule=ChangeRule.NEVER,
        kind_path="kind",
        subject_org_path="receiving_org_id",
        describe=_describe_referral,
    )
    register(
        ReferralEvent,
        family_path="family_id",
        label="referral answer",
        read_rule=ReadRule.ANSWERS,
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.NEVER,
        kind_path="kind",
        subject_org_path="referral.created_by_org_id",
        describe=_describe_event,
    )


def _describe_referral(referral: Referral) -> str:
    need = str(referral.get_need_display())
    return f"Referral for {need[:1].lower()}{need[1:]} ({referral.created_at:%-d %b %Y})"


def _describe_event(event: ReferralEvent) -> str:
    return f"Referral {event.get_to_status_display().lower()} ({event.occurred_at:%-d %b %Y})"
