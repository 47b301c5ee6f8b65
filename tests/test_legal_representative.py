"""Her legal representative: recorded on the family, and the only person other than her who may sign for her."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.access.rules import decide
from kinfold.access.viewer import Viewer
from kinfold.consent import services as consent_services
from kinfold.consent.models import ConsentDirective, ConsentVersion, SignerKind
from kinfold.families import services
from kinfold.families.models import FamilyRelationship, Person, RelationshipCategory, Sensitivity
from kinfold.families.selectors import legal_representatives
from kinfold.notes.services import note_add
from kinfold.organizations.models import Role
from tests.factories import consent_team_wide, make_family, staff, viewer_of
from tests.support import text
from tests.test_consent_pages import cps_post, new_url

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


# --- signing for her ----------------------------------------------------------------------------------


def _representative(coordinator, family, given_name="Dana"):
    return services.family_member_add(
        viewer=viewer_of(coordinator),
        family=family,
        given_name=given_name,
        family_name="Reed",
        category=RelationshipCategory.OTHER_RELATIVE,
        is_legal_representative=True,
    ).person


@pytest.fixture
def cps_world(coordinator, caseworker, treatment_org, cps_org):
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    family = make_family(coordinator, given_name="Kayla", family_name="Reed")
    for member, role in ((caseworker, Role.CPS_CASEWORKER), (counsellor, Role.SUD_COUNSELOR)):
        services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator)
    attendance = note_add(
        viewer=viewer_of(counsellor), family=family, kind="treatment_attendance", summary="Came to group"
    )
    return {"family": family, "treatment_org": treatment_org, "cps_org": cps_org, "attendance": attendance}


def test_her_recorded_legal_representative_signs_and_the_consent_governs_access(
    client, coordinator, caseworker, cps_world
):
    family = cps_world["family"]
    dana = _representative(coordinator, family)
    client.force_login(coordinator.user)
    url = new_url(family, template="cps_status", lang="en")
    # The signing step offers her recorded legal representatives by name.
    preview = text(client.post(url, cps_post(cps_world, action="preview", lang="en")))
    assert "Which legal representative is signing" in preview
    assert f'<option value="{dana.pk}">Dana Reed</option>' in preview
    signed = client.post(
        url,
        cps_post(
            cps_world,
            lang="en",
            signer_kind="legal_representative",
            signer_person=str(dana.pk),
            signer_name="",
            signature_typed="Dana Reed",
        ),
    )
    assert signed.status_code == 302, text(signed)[:2000]
    version = ConsentVersion.objects.get(directive__family=family, directive__title="CPS status updates")
    assert (version.signer_kind, version.signer_person, version.signer_name) == (
        SignerKind.LEGAL_REPRESENTATIVE,
        dana,
        "Dana Reed",
    )
    assert version.missing_elements() == []
    detail = text(client.get(signed["Location"]))
    assert "Dana Reed (her legal representative, recorded on her family as Dana Reed)" in detail
    assert decide(Viewer.of(caseworker.user), cps_world["attendance"], "child_welfare_case").permitted


@pytest.mark.parametrize("recorded", [False, True])
def test_a_legal_representative_who_is_not_recorded_cannot_sign_and_nothing_is_saved(
    client, coordinator, cps_world, recorded
):
    family = cps_world["family"]
    other_family = make_family(coordinator, given_name="Zoe", family_name="Park")
    stranger = _representative(coordinator, other_family, given_name="Lee")  # someone else's representative
    if recorded:
        _representative(coordinator, family)
    before = (ConsentDirective.objects.count(), ConsentVersion.objects.count())
    client.force_login(coordinator.user)
    response = client.post(
        new_url(family, template="cps_status", lang="es"),
        # With none recorded the page offers no choice, so none is sent; a forged choice is refused too.
        cps_post(cps_world, signer_kind="legal_representative", signer_person=str(stranger.pk) if recorded else ""),
    )
    assert response.status_code == 400
    html = text(response)
    expected = (
        "Elija de la lista." if recorded else "No hay un representante legal anotado para ella. Solo ella puede firmar"
    )
    error = re.search(r'id="id_signer_person_error" role="alert"[^>]*>([^<]*)</span>', html)
    assert error is not None and expected in error.group(1)
    assert (ConsentDirective.objects.count(), ConsentVersion.objects.count()) == before


def test_the_service_refuses_a_legal_representative_signature_without_her_recorded_representative(
    coordinator, cps_world
):
    family = cps_world["family"]
    terms = consent_services.ConsentTerms(
        discloser_orgs=[cps_world["treatment_org"]],
        recipient_orgs=[cps_world["cps_org"]],
        purposes=["child_welfare_case"],
        categories=[Sensitivity.SUD_TREATMENT],
        expires_at=clock.now() + timedelta(days=30),
        signer_kind=SignerKind.LEGAL_REPRESENTATIVE,
        signer_name="Dana Reed",
        signature_typed="Dana Reed",
    )
    _representative(coordinator, family)
    with pytest.raises(ValidationError) as err:
        consent_services.consent_record(viewer=viewer_of(coordinator), family=family, terms=terms)
    assert err.value.message_dict == {
        "signer_person": ["Choose which of her recorded legal representatives is signing."]
    }


def test_a_version_marked_signed_by_a_legal_representative_without_one_covers_nothing(
    coordinator, caseworker, cps_world
):
    family = cps_world["family"]
    dana = _representative(coordinator, family)
    directive = consent_services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        terms=consent_services.ConsentTerms(
            discloser_orgs=[cps_world["treatment_org"]],
            recipient_orgs=[cps_world["cps_org"]],
            purposes=["child_welfare_case"],
            categories=[Sensitivity.SUD_TREATMENT],
            expires_at=clock.now() + timedelta(days=30),
            signer_kind=SignerKind.LEGAL_REPRESENTATIVE,
            signer_person=dana,
            signer_name="Dana Reed",
            signature_typed="Dana Reed",
        ),
    )
    carl = Viewer.of(caseworker.user)
    assert decide(carl, cps_world["attendance"], "child_welfare_case").permitted
    # Data written around the service (an import, a bad migration) without the representative's record.
    ConsentVersion.objects.filter(directive=directive).update(signer_person=None)
    version = directive.versions.get()
    assert version.missing_elements() == ["which recorded legal representative signed"]
    assert not decide(carl, cps_world["attendance"], "child_welfare_case").permitted


def test_validate_terms_checks_the_signer_against_the_representatives_the_viewer_may_see(coordinator, cps_world):
    """The signers offered and accepted are ``families.selectors.legal_representatives`` through the viewer's
    gate; ``validate_terms`` checks the signer against exactly that list (none given: the terms step, before
    anyone signs, does not check the signer)."""
    family = cps_world["family"]
    dana = _representative(coordinator, family)
    stranger = _representative(coordinator, make_family(coordinator, given_name="Zoe"), given_name="Lee")
    gate = RecordGate.open(viewer_of(coordinator), [family.pk])
    offered = legal_representatives(gate=gate, family_id=family.pk)
    assert offered == [dana]

    def signed_by(person):
        return consent_services.ConsentTerms(
            discloser_orgs=[cps_world["treatment_org"]],
            recipient_orgs=[cps_world["cps_org"]],
            purposes=["child_welfare_case"],
            categories=[Sensitivity.SUD_TREATMENT],
            expires_at=clock.now() + timedelta(days=30),
            signer_kind=SignerKind.LEGAL_REPRESENTATIVE,
            signer_person=person,
            signer_name=person.display_name,
            signature_typed=person.display_name,
        )

    now = clock.now()
    consent_services.validate_terms(signed_by(dana), now=now, representatives=offered)
    consent_services.validate_terms(signed_by(stranger), now=now)  # the terms step
    with pytest.raises(ValidationError) as err:
        consent_services.validate_terms(signed_by(stranger), now=now, representatives=offered)
    assert err.value.message_dict == {
        "signer_person": ["Choose which of her recorded legal representatives is signing."]
    }
    with pytest.raises(ValidationError) as err:
        consent_services.validate_terms(signed_by(dana), now=now, representatives=[])
    assert "No legal representative is recorded for her" in err.value.message_dict["signer_person"][0]
