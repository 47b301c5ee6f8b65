"""factory_boy factories for the world tests need. Families are made through the services, so tests
exercise the same rules a coordinator meets."""

from __future__ import annotations

from datetime import date
from typing import Any

import factory
from django.contrib.auth import get_user_model

from kinfold.access.viewer import Viewer
from kinfold.families import services
from kinfold.families.models import Family
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role

TEST_PASSWORD = "correct horse battery staple 42"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    type = OrganizationType.COMMUNITY
    is_part2_program = factory.LazyAttribute(
        lambda o: o.type in (OrganizationType.SUD_TREATMENT, OrganizationType.OPIOID_TREATMENT)
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"Staff{n}")
    last_name = "Example"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(obj: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.CARE_COORDINATOR


def staff(org: Organization | None = None, role: str = Role.CARE_COORDINATOR, **kwargs: Any) -> Membership:
    """A staff member with a role at ``org`` (a new community organisation by default)."""
    if org is None:
        return MembershipFactory(role=role, **kwargs)
    return MembershipFactory(organization=org, role=role, **kwargs)


def viewer_of(membership: Membership) -> Viewer:
    return Viewer.of(membership.user)


def make_family(
    coordinator: Membership,
    *,
    given_name: str = "Maria",
    family_name: str = "Lopez",
    estimated_due_on: date | None = None,
    **kwargs: Any,
) -> Family:
    return services.family_create(
        viewer=viewer_of(coordinator),
        given_name=given_name,
        family_name=family_name,
        estimated_due_on=estimated_due_on,
        **kwargs,
    )


def consent_team_wide(
    family: Family,
    *,
    by: Membership,
    categories: tuple[str, ...] = ("contact", "social_needs", "general_health"),
    purposes: tuple[str, ...] = ("treatment", "care_coordination", "child_welfare_case"),
    language: str = "en",
) -> Any:
    """The parent's team-wide coordination consent: her care team's organisations may share with each other."""
    from datetime import timedelta

    from kinfold import clock
    from kinfold.consent import services as consent_services

    return consent_services.consent_record(
        viewer=viewer_of(by),
        family=family,
        title="Team-wide coordination",
        terms=consent_services.ConsentTerms(
            discloser_classes=["care_team"],
            recipient_classes=["care_team"],
            purposes=list(purposes),
            categories=list(categories),
            expires_at=clock.now() + timedelta(days=365),
            signer_name=family.parent.display_name if family.parent else "Parent",
            signature_typed=family.parent.display_name if family.parent else "Parent",
            language=language,
        ),
    )
