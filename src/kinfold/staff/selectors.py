"""What a lead sees of her organisation's staff: people, roles, second factors, waiting invitations, and the
families each holds a place for (as places, not records: a family is named only where the door opens it)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.families.models import CareTeamMember
from kinfold.families.selectors import team_places_held
from kinfold.organizations.models import Membership
from kinfold.staff.services import require_lead


@dataclass(frozen=True)
class PlaceRow:
    place: CareTeamMember
    family_id: int
    opens: bool  # the lead herself may open this family (a link); otherwise only its number is shown


def staff_of(viewer: Viewer, organization_id: int) -> list[Membership]:
    """Her organisation's staff, active first, each with how many families she coordinates / is on."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    require_lead(viewer, organization_id)
    places = CareTeamMember.objects.active()
    return list(
        Membership.objects.filter(organization_id=organization_id)
        .select_related("user")
        .annotate(
            places=Count("team_places", filter=Q(team_places__in=places), distinct=True),
            coordinates=Count(
                "team_places", filter=Q(team_places__in=places.filter(is_coordinator=True)), distinct=True
            ),
            has_app=Exists(TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)),
        )
        .order_by("-is_active", "user__last_name", "user__first_name")
    )


def places_to_hand_over(viewer: Viewer, membership: Membership) -> list[PlaceRow]:
    require_lead(viewer, membership.organization_id)
    places = team_places_held(membership)
    # One gate over all her families: the policy's facts load once, not once per family.
    gate = RecordGate.open(viewer, [p.care_team.family_id for p in places])
    return [
        PlaceRow(place=p, family_id=p.care_team.family_id, opens=gate.opens_family(p.care_team.family_id))
        for p in places
    ]
