"""Consent by kind of information (CONSENT-RULES, "Kinds of information"): the sentence she reads names exactly
the kinds the policy will let its recipients see — no fewer, no more — and every shipped template promises in
its words exactly the kinds it lists.

(1) Property: for any consent (any set of kinds, SUD counselling notes only alone), a kind is named in its
    summary sentence, in English and in Spanish, if and only if the policy permits its recipient a record of
    that kind under it.
(2) Table: for every shipped template, the kinds its words promise equal its kinds, and a consent recorded
    from it lists exactly them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfold import clock
from kinfold.access.rules import decide
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import kind_of, kind_table, own_consent_kinds, role_access
from kinfold.consent import services as consent_services
from kinfold.consent.library import library
from kinfold.consent.summaries import version_summary
from kinfold.families import services as family_services
from kinfold.notes.models import Note, NoteKind
from kinfold.notes.services import note_add
from kinfold.organizations.models import Role
from tests.factories import make_family, staff, viewer_of

pytestmark = pytest.mark.django_db


def role_categories(role: str) -> frozenset[str]:
    access = role_access(role)
    assert access is not None
    return access.categories


KINDS = [k.key for k in kind_table().kinds]
# The kinds of note Hope's counsellor writes (her role's categories; a court note is not hers to write).
NOTE_KINDS = [
    k
    for k in NoteKind.values
    if (found := kind_of(k)) is not None and found.category in role_categories("sud_counselor")
]
COUNSELLING = sorted(own_consent_kinds())


def words(kind: str, language: str) -> str:
    found = kind_of(kind)
    assert found is not None
    return found.words.in_(language)


def test_no_kinds_words_hide_inside_another_kinds_words():
    """Otherwise "named in the sentence" could not be told apart."""
    for language in ("en", "es"):
        for a in KINDS:
            for b in KINDS:
                if a != b:
                    assert words(a, language) not in words(b, language), (language, a, b)


# --- (1) the summary names a kind iff the policy permits it ------------------------------------------------


@pytest.fixture
def world(coordinator, caseworker, treatment_org, cps_org) -> dict[str, Any]:
    """Hope (a Part 2 programme) has written one note of every kind; the CPS caseworker is on her team and may
    open the family through a consent that lets Bridges share her contact details (not Hope's records)."""
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    for member in (caseworker, counsellor):
        family_services.care_team_member_add(
            viewer=viewer_of(coordinator), family=family, membership=member, role=member.role
        )
    consent_services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        title="Contact details for CPS",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[coordinator.organization],
            recipient_orgs=[cps_org, treatment_org],
            purposes=["child_welfare_case", "treatment"],
            kinds=["identity"],
            expires_at=clock.now() + timedelta(days=365),
            signature_typed="Maria Lopez",
        ),
    )
    notes = {
        kind: note_add(viewer=viewer_of(counsellor), family=family, kind=kind, summary=f"A note: {kind}")
        for kind in NOTE_KINDS
    }
    return {
        "family": family,
        "coordinator": coordinator,
        "caseworker": caseworker,
        "notes": notes,
        "hope": treatment_org,
    }


@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


consents = st.one_of(
    st.just(frozenset(COUNSELLING)),
    st.frozensets(st.sampled_from([k for k in KINDS if k not in COUNSELLING]), min_size=1),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=consents, language=st.sampled_from(["en", "es"]))
def test_a_kind_is_named_in_the_summary_if_and_only_if_the_policy_permits_it(world, kinds, language):
    with rolled_back():
        directive = consent_services.consent_record(
            viewer=viewer_of(world["coordinator"]),
            family=world["family"],
            title="CPS status updates",
            terms=consent_services.ConsentTerms(
                discloser_orgs=[world["hope"]],
                recipient_orgs=[world["caseworker"].organization],
                purposes=["child_welfare_case"],
                kinds=sorted(kinds),
                expires_at=clock.now() + timedelta(days=365),
                signature_typed="Maria Lopez",
                language=language,
            ),
        )
        version = directive.versions.get()
        assert set(version.kinds) == set(kinds)
        sentence = version_summary(version, language=language)
        caseworker = Viewer.of(world["caseworker"].user)
        note: Note
        for kind, note in world["notes"].items():
            named = words(kind, language) in sentence
            permitted = decide(caseworker, note, "child_welfare_case").permitted
            assert named == permitted, (kind, named, permitted, sentence)
        # Every kind the consent lists is named, whether or not a record of it exists yet.
        assert all(words(kind, language) in sentence for kind in kinds)


def test_counselling_notes_are_never_listed_beside_another_kind(world):
    with pytest.raises(Exception, match="consent of their own"):
        consent_services.validate_terms(
            consent_services.ConsentTerms(
                discloser_orgs=[world["hope"]],
                recipient_orgs=[world["caseworker"].organization],
                purposes=["child_welfare_case"],
                kinds=["counselling_note", "treatment_attendance"],
                expires_at=clock.now() + timedelta(days=30),
                signer_name="Maria Lopez",
                signature_typed="Maria Lopez",
            ),
            now=clock.now(),
        )


def test_choosing_a_whole_category_lists_its_kinds_except_counselling_notes(world):
    directive = consent_services.consent_record(
        viewer=viewer_of(world["coordinator"]),
        family=world["family"],
        terms=consent_services.ConsentTerms(
            discloser_orgs=[world["hope"]],
            recipient_orgs=[world["caseworker"].organization],
            purposes=["child_welfare_case"],
            categories=["sud_treatment"],
            expires_at=clock.now() + timedelta(days=30),
            signature_typed="Maria Lopez",
        ),
    )
    listed = set(directive.versions.get().kinds)
    sud = {k.key for k in kind_table().kinds if k.category == "sud_treatment"}
    assert listed == sud - set(COUNSELLING)
    caseworker = Viewer.of(world["caseworker"].user)
    assert not decide(caseworker, world["notes"]["counselling_note"], "child_welfare_case").permitted
    assert decide(caseworker, world["notes"]["toxicology"], "child_welfare_case").permitted


# --- (2) every shipped template promises exactly its kinds -------------------------------------------------

# What each template's words promise, read by a person from its description (the table this test keeps).
PROMISED = {
    "team_wide": None,  # checked against its own list below: every kind of the categories it names
    "cps_status": {"treatment_attendance", "medication"},
    "court_compliance": {"treatment_attendance", "medication", "toxicology", "treatment_plan"},
}


@pytest.mark.parametrize("template", library().templates, ids=lambda t: t.key)
@pytest.mark.parametrize("language", ["en", "es"])
def test_each_template_promises_in_words_exactly_the_kinds_it_lists(template, language):
    promise = template.promise(language)
    named = {k for k in KINDS if words(k, language) in promise}
    assert named == set(template.kinds), promise
    if PROMISED.get(template.key):
        assert set(template.kinds) == PROMISED[template.key]
    if template.key == "cps_status":
        assert "toxicology" not in template.kinds
        assert promise.endswith("Nothing else.") or promise.endswith("Nada más.")
