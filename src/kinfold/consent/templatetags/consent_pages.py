"""Template helpers for the consent section of the family page."""

from __future__ import annotations

from typing import Any

from django import template

from kinfold import clock

register = template.Library()


@register.simple_tag
def consent_rows(directives: list[Any]) -> list[Any]:
    """``{% consent_rows d.consents as rows %}``: the consents the page already decided on, in plain words."""
    from kinfold.consent.views import consent_rows as rows_of

    return rows_of(list(directives), clock.now())
