"""``{% may_hand_tablet family as allowed %}``: whether the signed-in staff member may start parent mode."""

from __future__ import annotations

from typing import Any

from django import template

from kinfold.access.http import viewer_for
from kinfold.parentmode.services import may_hand_tablet as _may_hand_tablet

register = template.Library()


@register.simple_tag(takes_context=True)
def may_hand_tablet(context: dict[str, Any], family: Any) -> bool:
    request = context.get("request")
    if request is None or family is None:
        return False
    try:
        viewer = viewer_for(request)
    except Exception:  # no staff account: no tablet to hand
        return False
    return _may_hand_tablet(viewer, family.pk)
