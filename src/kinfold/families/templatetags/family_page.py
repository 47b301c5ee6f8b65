"""family_page — the family page's "What is due" list (issue 11): what the page's sections already hold that asks
someone to act or to plan, gathered in one place near the top, each item pointing at the section where it is
done. It reads only what the page has loaded through the door (``FamilyDetail`` and each section's data); it
never queries, never decides access, and never writes.

The consent app's sections are read by the keys their loaders return (``d.data.access``, ``d.data.consents``),
never imported: ``families`` stays below the apps that fill its page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django import template
from django.utils.formats import date_format

from kinfold import clock
from kinfold.families.selectors import FamilyDetail

register = template.Library()

# Full term: from 40 weeks 0 days a pregnancy is past its estimated due date.
FULL_TERM_WEEKS = 40


@dataclass(frozen=True)
class DueItem:
    """One line of "What is due": ``headline`` in bold, then ``detail``; a link to the heading ``target``."""

    key: str  # what kind of thing is due (data-due, for tests and styles)
    headline: str
    detail: str
    target: str
    label: str
    needs_action: bool  # someone has to act now, rather than plan ahead


def _day(value: date | datetime) -> str:
    """A date in words; a moment as the calendar day it fell on where Kinfold runs (``kinfold.clock``)."""
    return date_format(clock.local_date(value) if isinstance(value, datetime) else value, "j F Y")


def _pregnancy_items(d: FamilyDetail) -> list[DueItem]:
    pregnancy = d.current_pregnancy
    if pregnancy is None:
        return []
    due_on = _day(pregnancy.estimated_due_on)
    age = d.gestational_age
    if age is not None and age.weeks >= FULL_TERM_WEEKS:
        action = ": record the delivery once she has given birth" if d.may_change_pregnancy else ""
        past = f" of {due_on}{action}."
        return [DueItem("delivery", "Past her estimated due date", past, "pregnancy-heading", "Pregnancy", True)]
    today = f" ({age.weeks} weeks {age.days} day{'s' if age.days != 1 else ''} today)" if age is not None else ""
    return [DueItem("due-date", f"Baby due {due_on}", f"{today}.", "pregnancy-heading", "Pregnancy", False)]


def _access_items(access: dict[str, Any]) -> list[DueItem]:
    items = []
    for r in access.get("restrictions", []):
        if r.status != "requested":
            continue
        asked = f" (asked {_day(r.requested_at)})."
        if r.pk in access.get("decidable", set()):
            headline, detail = "Her request to restrict sharing waits for your answer", asked
        else:
            headline = f"Her request to restrict sharing waits for {r.disclosing_org.name}"
            detail = f" to agree or refuse{asked}"
        items.append(DueItem("restriction", headline, detail, "restrictions-heading", "Her requests", True))
    for o in access.get("court_orders", []):
        if o.pk in access.get("orders_needing_findings", set()):
            items.append(
                DueItem(
                    "court-order",
                    f"Court order {o.order_reference} has not both findings recorded",
                    " (42 CFR 2.64(d)): its Part 2 records stay closed until you record them.",
                    "court-orders-heading",
                    "Court orders",
                    True,
                )
            )
    return items


def _consent_items(consents: dict[str, Any]) -> list[DueItem]:
    rows = consents.get("rows", [])
    if not rows and consents.get("may_record"):
        return [
            DueItem(
                "no-consent",
                "No consent you may see yet",
                " — until she gives one, her team shares only what the law allows without it.",
                "consents-heading",
                "Her consents",
                False,
            )
        ]
    return [
        DueItem(
            "consent",
            f"“{row.directive.title or 'Consent'}” covers nothing yet",
            f" — {row.status.text.removeprefix('Covers nothing: ')}.",
            "consents-heading",
            "Her consents",
            True,
        )
        for row in rows
        if row.status.key == "incomplete"
    ]


@register.simple_tag
def due_items(d: FamilyDetail) -> list[DueItem]:
    """What is due on this family's page, for this viewer: things to act on first, then what to plan for."""
    items = [
        *_pregnancy_items(d),
        *_access_items(d.data.get("access") or {}),
        *_consent_items(d.data.get("consents") or {}),
    ]
    return sorted(items, key=lambda item: not item.needs_action)
