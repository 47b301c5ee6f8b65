"""Her legal representative: recorded on the family, and the only person other than her who may sign for her."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from kinfold import clock
from kinfold.families import services
from kinfold.families.models import FamilyRelationship, Person, RelationshipCategory
from tests.factories import make_family, viewer_of

pytestmark = pytest.mark.django_db


def test_a_coordinator_records_her_legal_representative_and_the_family_page_says_so(client, coordinator):
    family = make_family(coordinator, given_name="Kayla", family_name="Reed")
    client.force_login(coordinator.user)
    response = client.post(
        f"/families/{family.pk}/members/new/",
        {
            "given_name": "Dana",
            "family_name": "Reed",
            "category": RelationshipCategory.OTHER_RELATIVE,
            "description": "my aunt, my guardian",
            "is_legal_representative": "on",
        },
    )
    assert response.status_code == 302
    relationship = FamilyRelationship.objects.get(family=family, person__given_name="Dana")
    assert relationship.is_legal_representative
    page = client.get(f"/families/{family.pk}/").content.decode()
    assert "Dana Reed" in page and 'data-testid="legal-representative"' in page
    timeline = family.activities.values_list("summary", flat=True)
    assert any("her legal representative" in line for line in timeline)


@pytest.mark.parametrize(
    ("category", "born_years_ago", "message"),
    [
        (RelationshipCategory.CHILD, None, "Her child cannot be her legal representative."),
        (RelationshipCategory.SIBLING, 16, "A legal representative must be an adult (18 or over)."),
    ],
)
def test_a_child_or_a_minor_cannot_be_recorded_as_her_legal_representative(
    coordinator, category, born_years_ago, message
):
    family = make_family(coordinator)
    before = Person.objects.count()
    born_on = clock.today() - timedelta(days=365 * born_years_ago + 10) if born_years_ago else None
    with pytest.raises(ValidationError) as err:
        services.family_member_add(
            viewer=viewer_of(coordinator),
            family=family,
            given_name="Sam",
            family_name="Reed",
            category=category,
            born_on=born_on,
            is_legal_representative=True,
        )
    assert err.value.message_dict == {"is_legal_representative": [message]}
    assert Person.objects.count() == before, "nothing is half-written"
