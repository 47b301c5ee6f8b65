"""viewer.py — who is asking: a signed-in person, with their one employer (Membership) and role. It decides
nothing; the rules read it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kinfold.access.vocabulary import default_purpose, role_access, stated_purposes
from kinfold.organizations.models import Membership
from kinfold.prepared import prepared_list


def _membership_of(user_id: Any) -> Any:
    return Membership.objects.select_related("organization").filter(user_id=user_id).order_by("pk")[:1]


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a signed-in person, with their one employer and role. One per request; what follows
    from the role is worked out once (``cached_property``), since the door asks it for every record."""

    user: Any
    membership: Membership | None

    @classmethod
    def of(cls, user: Any) -> Viewer:
        membership = None
        if user is not None and getattr(user, "is_authenticated", False):
            descriptor = user.__class__.membership  # the model's, also through a lazy request.user
            if not descriptor.is_cached(user):
                # Her employer with her membership, in one query (the pages and the audit trail name it), kept
                # on the user as Django keeps a related object it has read.
                found = next(iter(prepared_list("viewer.membership", _membership_of, user.pk)), None)
                descriptor.related.set_cached_value(user, found)
                if found is not None:
                    Membership.user.field.set_cached_value(found, user)  # and her, from her membership
            membership = getattr(user, "membership", None)
        return cls(user=user, membership=membership)

    @cached_property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None) if self.user is not None else None

    @cached_property
    def organization_id(self) -> int | None:
        return self.membership.organization_id if self.membership else None

    @cached_property
    def membership_id(self) -> int | None:
        return self.membership.pk if self.membership else None

    @cached_property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @cached_property
    def default_purpose(self) -> str:
        """The purpose her pages state unless they say otherwise, and the one her writes are judged for."""
        return default_purpose(self.role)

    def may_state(self, purpose: str) -> bool:
        """Whether her role may state ``purpose`` (a care coordinator cannot read "for treatment")."""
        return purpose in stated_purposes(self.role)

    @cached_property
    def may_see_family_data(self) -> bool:
        """Rule 0: superusers (in the normal UI), people with no role and inactive accounts see nothing."""
        user = self.user
        return bool(
            user is not None
            and getattr(user, "is_active", False)
            and not getattr(user, "is_superuser", False)
            and self.membership is not None
            and self.membership.is_active
            and role_access(self.membership.role) is not None
        )

    @cached_property
    def is_clinician(self) -> bool:
        access = role_access(self.role)
        return bool(access and access.clinician)
