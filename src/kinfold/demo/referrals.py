"""demo.py — the demo region's referrals: where the demo's parents live (ZIP code, county, how their care is paid
for, so "fits this family" has her facts), and a few of Ana Rivera's families' referrals in every state a loop
goes through — a MOUD referral Hope Recovery Center accepted, a housing referral waiting on Riverside Housing
Alliance, and a home-visiting referral to a programme without accounts, answered by nobody and overdue. Each is
made through the services (consents recorded with her, the door deciding what is sent). Invented data only;
loading again changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model

from kinfold import clock
from kinfold.access.viewer import Viewer
from kinfold.consent import services as consent_services
from kinfold.directory.models import Need, Service
from kinfold.families.models import CareTeamMember, Family, Insurance, Person
from kinfold.organizations.models import Membership, Organization
from kinfold.referrals import services
from kinfold.referrals.models import Referral, ReferralStatus

# Lexington ZIP codes: the demo's "Lakeview County" (see kinfold.directory.demo).
HOME_ZIPS = ("40502", "40503", "40504", "40505", "40507", "40508", "40509", "40510", "40511", "40513", "40517")


def _viewer(username: str) -> Viewer | None:
    user = get_user_model().objects.filter(username=username).first()
    return Viewer.of(user) if user is not None else None


def _homes() -> None:
    """Every demo parent gets a home ZIP code in the county and, for most, Medicaid (deterministic)."""
    parents = list(Person.objects.filter(family_as_parent__isnull=False, postal_code="").only("pk"))
    for parent in parents:
        parent.postal_code = HOME_ZIPS[parent.pk % len(HOME_ZIPS)]
        parent.county = "Lakeview County"
        parent.insurance = Insurance.PRIVATE if parent.pk % 5 == 0 else Insurance.MEDICAID
    Person.objects.bulk_update(parents, ["postal_code", "county", "insurance"], batch_size=500)


def _consent(
    viewer: Viewer,
    family: Family,
    *,
    title: str,
    recipients: list[Organization],
    classes: list[str],
    kinds: list[str],
    purposes: list[str],
) -> None:
    assert family.parent is not None and viewer.membership is not None
    consent_services.consent_record(
        viewer=viewer,
        family=family,
        title=title,
        terms=consent_services.ConsentTerms(
            discloser_orgs=[viewer.membership.organization],
            recipient_orgs=recipients,
            recipient_classes=classes,
            purposes=purposes,
            kinds=kinds,
            expires_at=clock.now() + timedelta(days=365),
            signer_name=family.parent.display_name,
            signature_typed=family.parent.display_name,
        ),
    )


def load_demo_referrals() -> int:
    """The demo's referrals (once); how many were made."""
    _homes()
    ana = _viewer("ana.rivera")
    if ana is None or ana.membership is None or Referral.objects.exists():
        return 0
    hope = Organization.objects.filter(name="Hope Recovery Center").first()
    moud = next(
        (s for s in Service.objects.filter(organization__organization=hope).order_by("pk") if Need.MOUD in s.needs),
        None,
    )
    housing = Service.objects.filter(organization__name="Riverside Housing Alliance").first()
    unlinked = Service.objects.filter(organization__organization__isnull=True, organization__intake_email__gt="")
    visiting = next(
        (
            s
            for s in sorted(unlinked, key=lambda s: (not s.name.startswith("Lexington"), s.name))
            if Need.HOME_VISITING in s.needs
        ),
        None,
    )
    family_ids = list(
        CareTeamMember.objects.active()
        .filter(membership=ana.membership, is_coordinator=True)
        .order_by("care_team__family_id")
        .values_list("care_team__family_id", flat=True)[:3]
    )
    families = list(Family.objects.filter(pk__in=family_ids).select_related("parent").order_by("pk"))
    made = 0
    plans = [(moud, Need.MOUD), (housing, Need.HOUSING), (visiting, Need.HOME_VISITING)]
    for family, (service, need) in zip(families, plans, strict=False):
        if service is None:
            continue
        receiving = services.receiving_organization(service=service, directory_org=service.organization)
        treatment = need == Need.MOUD
        _consent(
            ana,
            family,
            title=f"Referral to {receiving.name}",
            recipients=[receiving],
            classes=[],
            kinds=["identity", "medication" if treatment else "social_needs"],
            purposes=["treatment" if treatment else "care_coordination"],
        )
        referral = services.create_referral(
            viewer=ana,
            family=family,
            need=need,
            service=service,
            reason="She would like to start soon." if treatment else "She is looking for a safe place with her baby.",
            handoff_note="Best reached by text in the afternoon.",
        )
        made += 1
        if treatment and hope is not None:
            intake = Membership.objects.filter(organization=hope, is_active=True, role="sud_counselor").first()
            if intake is not None:
                referral.refresh_from_db()
                services.change_status(
                    viewer=Viewer.of(intake.user),
                    referral_id=referral.pk,
                    family_id=family.pk,
                    to_status=ReferralStatus.ACCEPTED,
                    expected_version=referral.version,
                )
        elif need == Need.HOME_VISITING:
            # Sent four days ago and not answered: overdue, for the daily escalation to find.
            sent = clock.now() - timedelta(days=4)
            Referral.objects.filter(pk=referral.pk).update(sent_at=sent, due_at=sent + timedelta(days=2))
    return made
