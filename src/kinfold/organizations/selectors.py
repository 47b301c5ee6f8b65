"""Reads about organisations and their staff. No family data here."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from kinfold.organizations.models import Membership, Organization


def organizations_in_region(*, search: str = "", type: str = "") -> QuerySet[Organization]:
    # Both counts join Membership, once as employer and once as placement, so each organisation's rows are
    # (its staff times the people placed there): without ``distinct`` an organisation with 10 staff and 1 person
    # embedded there counted 10 of each. ``staff_of`` lists the same people on the organisation's own page.
    orgs = Organization.objects.annotate(
        staff_count=Count("memberships", filter=Q(memberships__is_active=True), distinct=True),
        placed_count=Count("placed_memberships", filter=Q(placed_memberships__is_active=True), distinct=True),
    )
    if search:
        orgs = orgs.filter(name__icontains=search)
    if type:
        orgs = orgs.filter(type=type)
    return orgs.order_by("name")


def staff_of(*, organization: Organization) -> QuerySet[Membership]:
    """Everyone employed by the organisation, and everyone embedded there from elsewhere."""
    return (
        Membership.objects.filter(Q(organization=organization) | Q(placed_at=organization), is_active=True)
        .select_related("user", "organization", "placed_at")
        .order_by("user__last_name", "user__first_name")
    )


def organization(*, organization_id: int) -> Organization:
    """One organisation of the region (directory data, not family data: anyone signed in may see it)."""
    found = Organization.objects.filter(pk=organization_id).first()
    if found is None:
        raise Http404("No organisation found.")
    return found
