"""Recording, changing, revoking and ending consents; court orders and restriction requests: each write
validates in plain words, is one transaction (a refused write leaves nothing behind) and is audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kinfold import clock
from kinfold.access.rules import decide
from kinfold.audit.models import Action, AuditEvent, Outcome
from kinfold.consent import services
from kinfold.consent.models import ConsentDirective, ConsentVersion, CourtOrder, Restriction, RestrictionStatus
from kinfold.consent.services import ConsentTerms
from kinfold.families import selectors
from kinfold.families import services as family_services
from kinfold.families.models import FamilyActivity
from kinfold.notes.services import note_add
from kinfold.organizations.models import OrganizationType, Role
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.django_db


def terms(treatment_org: Any, cps_org: Any, **overrides: Any) -> ConsentTerms:
    values: dict[str, Any] = {
        "discloser_orgs": [treatment_org],
        "recipient_orgs": [cps_org],
        "purposes": ["child_welfare_case"],
        "categories": ["sud_treatment"],
        "expires_at": clock.now() + timedelta(days=180),
        "signer_name": "Maria Lopez",
        "signature_typed": "Maria Lopez",
    }
    values.update(overrides)
    return ConsentTerms(**values)


def counts() -> tuple[int, int, int]:
    return ConsentDirective.objects.count(), ConsentVersion.objects.count(), FamilyActivity.objects.count()


def test_recording_a_consent_writes_version_one_a_timeline_line_and_an_audit_event(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    directive = services.consent_record(
        viewer=viewer_of(coordinator), family=family, terms=terms(treatment_org, cps_org), title="CPS updates"
    )
    [version] = directive.versions.all()
    assert version.number == 1
    assert version.effective_at == version.signed_at
    assert version.patient_name == "Maria Lopez"
    assert list(version.discloser_orgs.all()) == [treatment_org]
    assert version.right_to_revoke.startswith("You can take back")
    assert version.missing_elements() == []
    assert directive.created_by_org == coordinator.organization
    assert family.activities.filter(verb="consent_recorded").exists()
    event = AuditEvent.objects.get(action=Action.CREATE, record_type="ConsentDirective")
    assert (event.record_id, event.family_id, event.actor_id) == (str(directive.pk), family.pk, coordinator.user_id)


def test_a_consent_missing_its_elements_is_refused_in_plain_words_and_writes_nothing(coordinator):
    family = make_family(coordinator)
    before = counts()
    with pytest.raises(ValidationError) as err:
        services.consent_record(viewer=viewer_of(coordinator), family=family, terms=ConsentTerms())
    errors = err.value.message_dict
    assert errors["discloser_orgs"] == ["Choose who may share her information."]
    assert errors["recipient_orgs"] == ["Choose who may receive her information."]
    assert errors["purposes"] == ["Choose what the information may be used for."]
    assert errors["categories"] == ["Choose what kind of information may be shared."]
    assert "expires_at" in errors and "signature_typed" in errors
    assert "signer_name" not in errors, "the parent signs: her name is on her record, recorded with the version"
    assert counts() == before
    assert not AuditEvent.objects.filter(record_type="ConsentDirective").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"purposes": ["court_proceeding", "treatment"]}, "purposes", "must stand alone"),
        (
            {"purposes": ["court_proceeding"], "recipient_orgs": [], "recipient_classes": ["courts"]},
            "recipient_orgs",
            "must name the court",
        ),
        ({"purposes": ["emergency"]}, "purposes", "Emergencies need no consent"),
        ({"purposes": ["anything"]}, "purposes", "not known"),
        ({"categories": ["gossip"]}, "categories", "not known"),
        ({"recipient_classes": ["my neighbours"]}, "recipient_classes", "not known"),
        ({"expires_at": None, "expiry_event": "  "}, "expires_at", "when the consent ends"),
        ({"signature_method": "drawn", "signature_drawn": "scribble"}, "signature_drawn", "Draw the signature"),
        ({"language": "xx"}, "language", "language"),
    ],
)
def test_each_invalid_term_is_explained_and_nothing_is_written(
    coordinator, treatment_org, cps_org, overrides, field, words
):
    family = make_family(coordinator)
    before = counts()
    with pytest.raises(ValidationError) as err:
        services.consent_record(
            viewer=viewer_of(coordinator), family=family, terms=terms(treatment_org, cps_org, **overrides)
        )
    assert words in " ".join(err.value.message_dict[field])
    assert counts() == before


def test_an_expiry_in_the_past_and_an_effective_instant_before_signing_are_refused(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    v = viewer_of(coordinator)
    with pytest.raises(ValidationError, match="must be in the future"):
        services.consent_record(viewer=v, family=family, terms=terms(treatment_org, cps_org, expires_at=clock.now()))
    with pytest.raises(ValidationError, match="cannot take effect before it is signed"):
        services.consent_record(
            viewer=v,
            family=family,
            terms=terms(treatment_org, cps_org, effective_at=clock.now() - timedelta(days=1)),
        )
    later = clock.now() + timedelta(days=2)
    directive = services.consent_record(
        viewer=v, family=family, terms=terms(treatment_org, cps_org, effective_at=later)
    )
    assert directive.versions.get().effective_at == later


def test_a_minor_parent_without_her_guardians_signature_leaves_no_half_written_consent(
    coordinator, treatment_org, cps_org, settings
):
    settings.KINFOLD_MINOR_MAY_CONSENT_ALONE = False
    today = clock.today()
    family = make_family(coordinator, born_on=date(today.year - 16, 1, 1))
    before = counts()
    with pytest.raises(ValidationError) as err:
        services.consent_record(viewer=viewer_of(coordinator), family=family, terms=terms(treatment_org, cps_org))
    assert "guardian" in " ".join(err.value.message_dict["guardian_signature_typed"])
    assert counts() == before, "the directive written before the check is rolled back with it"
    directive = services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        terms=terms(treatment_org, cps_org, guardian_name="Rosa Lopez", guardian_signature_typed="Rosa Lopez"),
    )
    assert directive.versions.get().guardian_signature_typed == "Rosa Lopez"


def test_someone_who_cannot_open_the_family_cannot_record_a_consent_and_is_audited(
    coordinator, outsider, treatment_org, cps_org
):
    family = make_family(coordinator)
    before = counts()
    with pytest.raises(PermissionDenied):
        services.consent_record(viewer=viewer_of(outsider), family=family, terms=terms(treatment_org, cps_org))
    assert counts() == before
    assert AuditEvent.objects.filter(actor_id=outsider.user_id, outcome=Outcome.DENIED, family_id=family.pk).exists()


def test_a_new_version_is_numbered_and_leaves_the_old_one_as_it_was(coordinator, treatment_org, cps_org):
    family = make_family(coordinator)
    v = viewer_of(coordinator)
    directive = services.consent_record(viewer=v, family=family, terms=terms(treatment_org, cps_org))
    first = directive.versions.get()
    second = services.consent_new_version(
        viewer=v,
        directive=directive,
        terms=terms(treatment_org, cps_org, categories=["sud_treatment", "mental_health"]),
    )
    first.refresh_from_db()
    assert (first.number, first.categories) == (1, ["sud_treatment"])
    assert (second.number, second.categories) == (2, ["mental_health", "sud_treatment"])
    assert AuditEvent.objects.filter(
        action=Action.UPDATE, record_type="ConsentDirective", record_id=str(directive.pk), detail__version=2
    ).exists()
    before = counts()
    with pytest.raises(ValidationError):
        services.consent_new_version(viewer=v, directive=directive, terms=terms(treatment_org, cps_org, purposes=[]))
    assert counts() == before


def test_revoking_records_how_and_who_and_a_revoked_consent_takes_no_new_version(
    coordinator, caseworker, treatment_org, cps_org
):
    family = make_family(coordinator)
    v = viewer_of(coordinator)
    directive = services.consent_record(viewer=v, family=family, terms=terms(treatment_org, cps_org))
    with pytest.raises(ValidationError, match="Say how she revoked it"):
        services.consent_revoke(viewer=v, directive=directive, method="email")
    directive.refresh_from_db()
    assert directive.revoked_at is None

    before = clock.now()
    revoked = services.consent_revoke(
        viewer=v, directive=directive, method="spoken", received_by=coordinator, note="Told Ana at the clinic " * 40
    )
    assert revoked.revoked_at is not None and revoked.revoked_at >= before
    assert (revoked.revocation_method, revoked.revocation_received_by) == ("spoken", coordinator)
    assert len(revoked.revocation_note) == 500
    assert family.activities.filter(verb="consent_revoked").exists()
    assert AuditEvent.objects.filter(record_type="ConsentDirective", detail__revoked=True).count() == 1

    with pytest.raises(ValidationError, match="already revoked"):
        services.consent_revoke(viewer=v, directive=directive, method="written")
    versions = ConsentVersion.objects.count()
    with pytest.raises(ValidationError, match="A consent given after a revocation is a new consent"):
        services.consent_new_version(viewer=v, directive=directive, terms=terms(treatment_org, cps_org))
    assert ConsentVersion.objects.count() == versions
    again = services.consent_record(viewer=v, family=family, terms=terms(treatment_org, cps_org))
    assert again.pk != directive.pk and again.revoked_at is None


def test_an_expiry_event_is_recorded_once_and_only_for_a_consent_that_ends_on_an_event(
    coordinator, treatment_org, cps_org
):
    family = make_family(coordinator)
    v = viewer_of(coordinator)
    dated = services.consent_record(viewer=v, family=family, terms=terms(treatment_org, cps_org))
    with pytest.raises(ValidationError, match="ends on a date"):
        services.consent_expiry_event_record(viewer=v, version=dated.versions.get())
    by_event = services.consent_record(
        viewer=v,
        family=family,
        terms=terms(treatment_org, cps_org, expires_at=None, expiry_event="when my CPS case closes"),
    )
    version = services.consent_expiry_event_record(viewer=v, version=by_event.versions.get())
    assert version.expiry_event_recorded_at is not None
    assert version.ends_at(next_effective_at=None, revoked_at=None) == version.expiry_event_recorded_at
    assert AuditEvent.objects.filter(record_type="ConsentVersion", record_id=str(version.pk)).exists()
    with pytest.raises(ValidationError, match="already recorded"):
        services.consent_expiry_event_record(viewer=v, version=version)


def _privacy_officer_who_opens_the_family(family: Any, org: Any, *, coordinator: Any) -> Any:
    """A privacy officer of ``org``: a consent lets her organisation's operations staff see the parent's contact
    sheet, so she may open the family (ruling 1) without being on the care team."""
    services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        terms=terms(coordinator.organization, org, purposes=["operations"], categories=["contact"]),
        title="Operations",
    )
    return staff(org, Role.PRIVACY_OFFICER)


def test_a_court_order_for_sud_records_without_both_findings_is_recorded_and_opens_them_only_once_found(
    coordinator, treatment_org, cps_org
):
    """Rule 3a and "Who may change what": the privacy officer of the programme whose records the order names
    records it (not the coordinator); it must name a court. An order covering SUD treatment without both
    2.64(d) findings is recorded, but the programme's Part 2 records stay closed to the court until she
    records the findings."""
    family = make_family(coordinator)
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    court_coordinator = staff(court, Role.COURT_COORDINATOR)
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    for member in (court_coordinator, counsellor):
        family_services.care_team_member_add(
            viewer=viewer_of(coordinator), family=family, membership=member, role=member.role
        )
    consent_team_wide(family, by=coordinator)
    attendance = note_add(viewer=viewer_of(counsellor), family=family, kind="treatment_attendance", summary="Group")
    officer = _privacy_officer_who_opens_the_family(family, treatment_org, coordinator=coordinator)
    now = clock.now()
    common: dict[str, Any] = {
        "family": family,
        "order_reference": "FTC-1",
        "issued_on": clock.today(),
        "valid_from": now,
        "valid_until": now + timedelta(days=30),
    }
    # The coordinator is not a privacy officer: refused, audited, nothing written.
    with pytest.raises(PermissionDenied) as refused:
        services.court_order_record(
            viewer=viewer_of(coordinator),
            court=court,
            categories=["sud_treatment"],
            finding_other_means_unavailable=True,
            finding_public_interest_outweighs_harm=True,
            **common,
        )
    assert str(refused.value) == services.ONLY_PRIVACY_OFFICERS
    assert AuditEvent.objects.filter(
        actor_id=coordinator.user_id, record_type="CourtOrder", outcome=Outcome.DENIED, family_id=family.pk
    ).exists()
    # An order must name a court, and a period that ends after it starts.
    with pytest.raises(ValidationError) as err:
        services.court_order_record(
            viewer=viewer_of(officer),
            court=cps_org,
            categories=["legal"],
            finding_other_means_unavailable=False,
            finding_public_interest_outweighs_harm=False,
            **{**common, "valid_until": now},
        )
    assert set(err.value.message_dict) == {"court", "valid_until"}
    assert CourtOrder.objects.count() == 0

    order = services.court_order_record(
        viewer=viewer_of(officer),
        court=court,
        categories=["sud_treatment"],
        finding_other_means_unavailable=True,
        finding_public_interest_outweighs_harm=False,
        **common,
    )
    assert order.created_by_org == treatment_org and not order.has_part2_findings
    assert AuditEvent.objects.filter(action=Action.CREATE, record_type="CourtOrder", record_id=str(order.pk)).exists()
    court_viewer = viewer_of(court_coordinator)
    assert not decide(court_viewer, attendance, "court_proceeding").permitted, "Part 2 records wait for both findings"

    with pytest.raises(PermissionDenied):
        services.court_order_findings_record(viewer=viewer_of(coordinator), order=order)
    order.refresh_from_db()
    assert not order.has_part2_findings
    found = services.court_order_findings_record(viewer=viewer_of(officer), order=order)
    assert found.has_part2_findings
    assert AuditEvent.objects.filter(action=Action.UPDATE, record_type="CourtOrder", record_id=str(order.pk)).exists()
    decision = decide(court_viewer, attendance, "court_proceeding")
    assert (decision.permitted, decision.rule, decision.court_order_id) == (True, "3a", order.pk)
    assert decision.shows_redisclosure_notice
    with pytest.raises(ValidationError, match="already recorded"):
        services.court_order_findings_record(viewer=viewer_of(officer), order=order)


def test_the_timeline_line_for_a_court_order_is_as_private_as_the_order(coordinator, caseworker):
    """Someone the parent lets see her contact details must not learn of a court order from the timeline.
    The order is recorded by a privacy officer of the coordinator's organisation (whose records it opens)."""
    family = make_family(coordinator)
    family_services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role=Role.CPS_CASEWORKER
    )
    consent_team_wide(family, by=coordinator, categories=("contact",))
    officer = staff(coordinator.organization, Role.PRIVACY_OFFICER)
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    now = clock.now()
    order = services.court_order_record(
        viewer=viewer_of(officer),
        family=family,
        court=court,
        order_reference="FTC-2026-7",
        issued_on=clock.today(),
        categories=["legal"],
        valid_from=now,
        valid_until=now + timedelta(days=30),
        finding_other_means_unavailable=False,
        finding_public_interest_outweighs_harm=False,
    )
    own = selectors.family_detail(viewer=viewer_of(coordinator), family_id=family.pk)
    assert [o.pk for o in own.data["access"]["court_orders"]] == [order.pk]
    assert any("FTC-2026-7" in a.summary for a in own.timeline)
    page = selectors.family_detail(viewer=viewer_of(caseworker), family_id=family.pk)
    assert page.data["access"]["court_orders"] == []
    assert not any("FTC-2026-7" in a.summary or "court order" in a.summary for a in page.timeline)


def _counsellor_on_the_team(family: Any, coordinator: Any, treatment_org: Any) -> Any:
    """A counsellor of the programme, on her team: the team-wide consent lets her open the family."""
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    family_services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=counsellor, role=Role.SUD_COUNSELOR
    )
    consent_team_wide(family, by=coordinator)
    return counsellor


def test_restrictions_are_requested_then_decided_by_the_disclosing_organisation_only(
    coordinator, caseworker, treatment_org
):
    """Staff of the organisation she asked decide (rule A: they see the request when they may open her
    family); the coordinator who recorded it does not, nor the programme's staff who may not open the family."""
    family = make_family(coordinator)
    counsellor = _counsellor_on_the_team(family, coordinator, treatment_org)
    not_on_team = staff(treatment_org, Role.SUD_COUNSELOR)
    v = viewer_of(coordinator)
    with pytest.raises(ValidationError, match="whom the restriction is about"):
        services.restriction_request(viewer=v, family=family, disclosing_org=treatment_org)
    assert Restriction.objects.count() == 0
    r = services.restriction_request(
        viewer=v, family=family, disclosing_org=treatment_org, recipient_org=caseworker.organization,
        categories=["sud_treatment"],
    )  # fmt: skip
    assert r.status == RestrictionStatus.REQUESTED and r.decided_at is None
    with pytest.raises(PermissionDenied):
        services.restriction_decide(viewer=v, restriction=r, agree=True)
    with pytest.raises(PermissionDenied):
        services.restriction_decide(viewer=viewer_of(not_on_team), restriction=r, agree=True)
    r.refresh_from_db()
    assert r.status == RestrictionStatus.REQUESTED
    with pytest.raises(ValidationError, match="reason"):
        services.restriction_decide(viewer=viewer_of(counsellor), restriction=r, agree=False)
    decided = services.restriction_decide(viewer=viewer_of(counsellor), restriction=r, agree=True)
    assert decided.status == RestrictionStatus.AGREED and decided.decided_by == counsellor
    with pytest.raises(ValidationError, match="already decided"):
        services.restriction_decide(viewer=viewer_of(counsellor), restriction=r, agree=False, reason="changed mind")
    events = AuditEvent.objects.filter(record_type="Restriction", record_id=str(r.pk))
    assert sorted(events.filter(outcome=Outcome.SUCCESS).values_list("action", flat=True)) == [
        Action.CREATE,
        Action.UPDATE,
    ]
    refusals = events.filter(outcome=Outcome.DENIED)
    assert sorted(refusals.values_list("actor_id", flat=True)) == sorted([coordinator.user_id, not_on_team.user_id])
    assert {e.detail["interaction"] for e in refusals} == {"change"}


def test_a_self_pay_restriction_toward_a_health_plan_must_be_agreed(coordinator, treatment_org):
    family = make_family(coordinator)
    counsellor = _counsellor_on_the_team(family, coordinator, treatment_org)
    plan = OrganizationFactory(name="Lakeview Health Plan", type=OrganizationType.HEALTH_DEPARTMENT)
    r = services.restriction_request(
        viewer=viewer_of(coordinator), family=family, disclosing_org=treatment_org, recipient_org=plan,
        purposes=["payment"], is_self_pay_to_health_plan=True,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="must be agreed"):
        services.restriction_decide(viewer=viewer_of(counsellor), restriction=r, agree=False, reason="policy")
    r.refresh_from_db()
    assert r.status == RestrictionStatus.REQUESTED


def test_a_consent_about_treatment_is_a_treatment_record_seen_only_by_the_parties_it_names(
    coordinator, caseworker, treatment_org, cps_org
):
    """Reading a consent that names her treatment programme tells the reader she is in treatment (42 CFR
    Part 2): it is filed as an SUD-treatment record. Rule C: the CPS caseworker it names as recipient sees it
    (with the 2.32 notice: a Part 2 record outside the organisation that recorded it); a team member whose
    organisation it does not name does not, nor its timeline line; the coordinator who recorded it does."""
    family = make_family(coordinator)
    home_visitor = staff(OrganizationFactory(name="Healthy Starts Home Visiting"), Role.HOME_VISITOR)
    for member in (caseworker, home_visitor):
        family_services.care_team_member_add(
            viewer=viewer_of(coordinator), family=family, membership=member, role=member.role
        )
    team_wide = consent_team_wide(family, by=coordinator)
    treatment = services.consent_record(
        viewer=viewer_of(coordinator), family=family, terms=terms(treatment_org, cps_org), title="CPS updates"
    )
    assert team_wide.sensitivity == "contact"
    assert treatment.sensitivity == "sud_treatment"
    assert {v.sensitivity for v in treatment.versions.all()} == {"sud_treatment"}

    def consent_ids(detail: Any) -> list[int]:
        return [row.directive.pk for row in detail.data["consents"]["rows"]]

    seen_by_caseworker = selectors.family_detail(viewer=viewer_of(caseworker), family_id=family.pk)
    assert consent_ids(seen_by_caseworker) == [treatment.pk, team_wide.pk]
    assert seen_by_caseworker.gate.needs_notice(treatment)
    assert not seen_by_caseworker.gate.needs_notice(team_wide)

    seen_by_home_visitor = selectors.family_detail(viewer=viewer_of(home_visitor), family_id=family.pk)
    assert consent_ids(seen_by_home_visitor) == [team_wide.pk]
    lines = " ".join(a.summary for a in seen_by_home_visitor.timeline)
    assert "Hope" not in lines and "treatment" not in lines.lower()

    seen_by_coordinator = selectors.family_detail(viewer=viewer_of(coordinator), family_id=family.pk)
    assert set(consent_ids(seen_by_coordinator)) == {team_wide.pk, treatment.pk}
    assert not seen_by_coordinator.gate.needs_notice(treatment), "her own organisation recorded it"


def test_a_consent_for_a_court_case_must_name_a_court(coordinator, treatment_org, cps_org):
    """42 CFR 2.31(d) / rule 3(b): the consent names the court itself; naming a caseworker's agency for a
    court case is refused in plain words, and nothing is saved."""
    family = make_family(coordinator)
    before = counts()
    with pytest.raises(ValidationError) as err:
        services.consent_record(
            viewer=viewer_of(coordinator),
            family=family,
            terms=terms(treatment_org, cps_org, purposes=["court_proceeding"]),
        )
    assert err.value.message_dict["recipient_orgs"] == ["A consent for a court case must name the court."]
    assert counts() == before
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    directive = services.consent_record(
        viewer=viewer_of(coordinator), family=family, terms=terms(treatment_org, court, purposes=["court_proceeding"])
    )
    assert directive.versions.get().purposes == ["court_proceeding"]
