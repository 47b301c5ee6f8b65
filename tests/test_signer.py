"""Who signs a consent (CONSENT-RULES, "Who may change what"): the parent, or a recorded representative of
this family, recorded as a person; a typed signature is that person's name; a drawn signature is a real,
small image; where a minor may consent alone she signs, and her guardian's signature alone covers nothing."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kinfold import clock
from kinfold.access.rules import decide
from kinfold.access.viewer import Viewer
from kinfold.consent import services
from kinfold.consent.models import ConsentDirective, ConsentVersion, SignatureMethod, SignerKind
from kinfold.consent.services.directives import DRAWN_SIGNATURE_MAX_CHARS, comparable_name
from kinfold.families import services as family_services
from kinfold.families.models import RelationshipCategory
from kinfold.notes.services import note_add
from kinfold.organizations.models import Role
from tests.factories import consent_team_wide, make_family, staff, viewer_of
from tests.test_consent_services import terms

pytestmark = pytest.mark.django_db

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()


def _guardian(coordinator: Any, family: Any) -> Any:
    return family_services.family_member_add(
        viewer=viewer_of(coordinator),
        family=family,
        given_name="Rosa",
        family_name="Lopez",
        category=RelationshipCategory.PARENT,
        is_legal_representative=True,
    ).person


def _record(coordinator: Any, family: Any, treatment_org: Any, cps_org: Any, **overrides: Any) -> ConsentDirective:
    return services.consent_record(
        viewer=viewer_of(coordinator), family=family, terms=terms(treatment_org, cps_org, **overrides)
    )


def test_the_parent_who_signs_is_recorded_as_the_person_she_is(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    version = _record(coordinator, family, treatment_org, cps_org).versions.get()
    assert version.signer_kind == SignerKind.PARENT
    assert version.signer_person_id == family.parent_id
    assert version.signer_name == "Maria Lopez"


@pytest.mark.parametrize("typed", ["M. Lopez", "Maria", "Dana Reed", "Maria Lopez-Garcia"])
def test_a_typed_signature_that_is_not_the_signers_name_is_refused_and_nothing_is_saved(
    coordinator, treatment_org, cps_org, typed
):
    family = make_family(coordinator)
    with pytest.raises(ValidationError) as refused:
        _record(coordinator, family, treatment_org, cps_org, signature_typed=typed)
    assert "full name of the person signing" in " ".join(refused.value.message_dict["signature_typed"])
    assert not ConsentDirective.objects.filter(family=family).exists()


@pytest.mark.parametrize("typed", ["Maria Lopez", "maria lopez", "  María   López ", "MARÍA LÓPEZ"])
def test_a_typed_signature_matches_her_name_whatever_the_accents_case_and_spacing(
    coordinator, treatment_org, cps_org, typed
):
    family = make_family(coordinator)
    version = _record(coordinator, family, treatment_org, cps_org, signature_typed=typed).versions.get()
    assert version.signature_typed == typed.strip()
    assert comparable_name(typed) == "maria lopez"


def test_the_name_given_for_the_signer_must_be_hers(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    with pytest.raises(ValidationError) as refused:
        _record(coordinator, family, treatment_org, cps_org, signer_name="Somebody Else")
    assert "signer_name" in refused.value.message_dict


def test_her_recorded_representative_signs_with_his_own_name(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    rosa = _guardian(coordinator, family)
    representative = {"signer_kind": SignerKind.LEGAL_REPRESENTATIVE, "signer_person": rosa, "signer_name": ""}
    with pytest.raises(ValidationError) as refused:
        _record(coordinator, family, treatment_org, cps_org, **representative, signature_typed="Maria Lopez")
    assert "signature_typed" in refused.value.message_dict
    version = _record(
        coordinator, family, treatment_org, cps_org, **representative, signature_typed="Rosa Lopez"
    ).versions.get()
    assert (version.signer_person, version.signer_name) == (rosa, "Rosa Lopez")


def test_a_representative_of_another_family_cannot_sign(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    elsewhere = make_family(coordinator, given_name="Tanya", family_name="Whitehorse")
    stranger = _guardian(coordinator, elsewhere)
    with pytest.raises(ValidationError) as refused:
        _record(
            coordinator,
            family,
            treatment_org,
            cps_org,
            signer_kind=SignerKind.LEGAL_REPRESENTATIVE,
            signer_person=stranger,
            signature_typed="Rosa Lopez",
        )
    assert "signer_person" in refused.value.message_dict


def test_where_a_minor_may_consent_alone_her_guardians_signature_alone_covers_nothing(
    coordinator, caseworker, treatment_org, cps_org, settings
):
    settings.KINFOLD_MINOR_MAY_CONSENT_ALONE = True
    family = make_family(coordinator, born_on=date(clock.today().year - 16, 1, 1))
    rosa = _guardian(coordinator, family)
    guardian_alone = {"signer_kind": SignerKind.LEGAL_REPRESENTATIVE, "signer_person": rosa}
    with pytest.raises(ValidationError) as refused:
        _record(coordinator, family, treatment_org, cps_org, **guardian_alone, signature_typed="Rosa Lopez")
    assert "she signs herself" in " ".join(refused.value.message_dict["signer_kind"])
    assert not ConsentDirective.objects.filter(family=family).exists()

    # A version already on file signed by the guardian alone (say, imported) covers nothing: the policy says so.
    family_services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role=caseworker.role
    )
    directive = _record(coordinator, family, treatment_org, cps_org)
    ConsentVersion.objects.filter(directive=directive).update(
        signer_kind=SignerKind.LEGAL_REPRESENTATIVE, signer_person=rosa, signer_name="Rosa Lopez"
    )
    version = directive.versions.get()
    assert "the minor parent's own signature" in version.missing_elements(parent_is_minor=True)
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    family_services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=counsellor, role=Role.SUD_COUNSELOR
    )
    consent_team_wide(family, by=coordinator, categories=("contact",))  # the programme may open the family
    note = note_add(viewer=viewer_of(counsellor), family=family, kind="treatment_attendance", summary="Came")
    assert not decide(Viewer.of(caseworker.user), note, "child_welfare_case").permitted

    # She signs herself: the same consent now covers the note.
    _record(coordinator, family, treatment_org, cps_org)
    assert decide(Viewer.of(caseworker.user), note, "child_welfare_case").permitted


@pytest.mark.parametrize(
    ("drawn", "message"),
    [
        ("data:image/png;base64," + "A" * DRAWN_SIGNATURE_MAX_CHARS, "too large"),
        ("data:image/png;base64,not-base64!!", "could not be read"),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a" + b"\x00" * 20).decode(), "could not be read"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "Draw the signature"),
    ],
)
def test_a_drawn_signature_must_be_a_readable_png_of_sane_size(coordinator, treatment_org, cps_org, drawn, message):
    family = make_family(coordinator)
    with pytest.raises(ValidationError) as refused:
        _record(
            coordinator,
            family,
            treatment_org,
            cps_org,
            signature_method=SignatureMethod.DRAWN,
            signature_typed="",
            signature_drawn=drawn,
        )
    assert message in " ".join(refused.value.message_dict["signature_drawn"])
    assert not ConsentDirective.objects.filter(family=family).exists()


def test_a_small_drawn_signature_is_kept(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    version = _record(
        coordinator,
        family,
        treatment_org,
        cps_org,
        signature_method=SignatureMethod.DRAWN,
        signature_typed="",
        signature_drawn=PNG,
    ).versions.get()
    assert version.signature_drawn == PNG
