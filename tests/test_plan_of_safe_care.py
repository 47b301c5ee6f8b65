"""Plan of Safe Care (CAPTA as amended by CARA): a hospital social worker starts a plan for an infant with prenatal
substance exposure, writes its needs domain by domain, records the notification to child welfare as the
jurisdiction names it, agrees the plan with the parent before discharge (late, and said so, after it), records
the discharge (the pathway's due dates move with it), closes it, and prints it (an HTML print view and a PDF).
Copies leave only as her consent allows: another organisation without a consent covering the plan gets a 404 on
the plan, its print view and its PDF. Real database, the real door."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pypdf import PdfReader

from kinfold import clock
from kinfold.audit.models import AuditEvent
from kinfold.audit.services import Refused
from kinfold.consent import services as consent_services
from kinfold.consent.models import Disclosure
from kinfold.families import services as family_services
from kinfold.families.models import FamilyActivity, FamilyRelationship, PregnancyEpisode
from kinfold.families.services import ConcurrentEditError
from kinfold.organizations.models import OrganizationType, Role
from kinfold.pathways.models import (
    IdentificationReason,
    NeedStatus,
    PathwayStep,
    PlanDomain,
    PlanNeed,
    PlanOfSafeCare,
    PlanStatus,
)
from kinfold.pathways.safecare import pdf
from kinfold.pathways.safecare import services as safecare
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of
from tests.support import client_for, text

pytestmark = pytest.mark.django_db

FOOTER = "Shared only as her consent allows. Do not re-disclose."
STIGMATISING = ("drug-exposed", "drug baby", "addict", "abuser", "substance-exposed infant")


# --- the world ------------------------------------------------------------------------------------------------------


@pytest.fixture
def hospital():
    return OrganizationFactory(name="Lakeview Birthing Center", type=OrganizationType.HOSPITAL)


@pytest.fixture
def social_worker(hospital):
    return staff(hospital, Role.SOCIAL_WORKER, user__first_name="Sofia", user__last_name="Reyes")


@pytest.fixture
def family(social_worker):
    """Maria Lopez, whose baby Luz was born today at the hospital (the social worker recorded the birth)."""
    family = make_family(social_worker, estimated_due_on=clock.today() + timedelta(days=3))
    episode = PregnancyEpisode.objects.get(family=family)
    family_services.delivery_record(
        viewer=viewer_of(social_worker),
        episode=episode,
        delivered_on=clock.today(),
        outcome="live_birth",
        infants=[{"given_name": "Luz"}],
    )
    return family


@pytest.fixture
def infant(family):
    return FamilyRelationship.objects.get(family=family, category="child").person


def start(member, family, infant, *, expected=None, identified=None, reasons=(IdentificationReason.PRENATAL_MOUD,)):
    return safecare.start_plan(
        viewer=viewer_of(member),
        family=family,
        infant_id=infant.pk if infant is not None else None,
        identified_on=identified or clock.today(),
        reasons=list(reasons),
        expected_discharge_on=expected,
    )


def add(member, plan, domain, words, *, status=NeedStatus.PLANNED, responsible="Hospital social worker", **kw):
    return safecare.add_need(
        viewer=viewer_of(member),
        plan_id=plan.pk,
        data=safecare.NeedInput(domain=domain, need=words, responsible=responsible, status=status, **kw),
    )


def fresh(plan):
    plan.refresh_from_db()
    return plan


def pdf_words(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def url(name, *args):
    return reverse(f"pathways:{name}", args=args)


# --- the whole journey --------------------------------------------------------------------------------------------


def test_a_hospital_social_worker_builds_agrees_and_prints_a_plan(social_worker, family, infant):
    client = client_for(social_worker)
    today = clock.today()
    page = client.get(url("plan_new", family.pk))
    assert page.status_code == 200
    assert "Luz Lopez" in text(page)
    assert "a notification, not a report of abuse or neglect" in text(page)
    assert AuditEvent.objects.filter(
        record_type="Family", record_id=str(family.pk), detail__children_shown=[infant.pk]
    ).exists()

    response = client.post(
        url("plan_new", family.pk),
        {
            "infant": str(infant.pk),
            "identified_on": today.isoformat(),
            "reasons": ["prenatal_moud", "withdrawal_signs"],
            "expected_discharge_on": (today + timedelta(days=4)).isoformat(),
        },
    )
    plan = PlanOfSafeCare.objects.get(family=family)
    assert response.status_code == 302 and response["Location"] == url("plan", plan.pk)
    assert plan.infant == infant and plan.status == PlanStatus.DRAFT
    assert plan.reasons == ["prenatal_moud", "withdrawal_signs"]
    assert plan.notification_kind == "notification"
    assert plan.kind == "plan_of_safe_care" and plan.sensitivity == "general_health"
    assert plan.created_by_org == social_worker.organization
    line = FamilyActivity.objects.get(family=family, verb="plan_of_safe_care_started")
    assert line.sensitivity == "general_health" and line.kind == "plan_of_safe_care"

    # All ten domains, "Baby" first, each with its empty state.
    body = text(client.get(url("plan", plan.pk)))
    for domain in PlanDomain:
        assert f'data-domain="{domain.value}"' in body
    assert body.count('data-testid="empty-domain"') == 10
    assert body.index('id="group-baby"') < body.index('id="group-family"')
    assert "Parent and family" in body

    # Needs, through the page, for the baby and for her.
    for posted in (
        {
            "domain": "safe_sleep",
            "need": "A safe place for Luz to sleep at home",
            "responsible": "Hospital social worker",
            "service": "A crib from Bridges Family Resource Center",
            "status": "in_progress",
        },
        {
            "domain": "sud_treatment",
            "need": "Keep her methadone dose going after discharge",
            "responsible": "Hope Recovery Center",
            "service": "Daily dosing, the first visit booked",
            "status": "planned",
        },
    ):
        response = client.post(url("plan_need_new", plan.pk), posted)
        assert response.status_code == 302
        assert response["Location"].endswith(f"#domain-{posted['domain']}")
    body = text(client.get(url("plan", plan.pk)))
    assert "A safe place for Luz to sleep at home" in body and "Keep her methadone dose going" in body
    assert body.count('data-testid="empty-domain"') == 8
    assert not any(word in body.lower() for word in STIGMATISING)

    # She agrees it before discharge: the plan says so.
    response = client.post(
        url("plan_agree", plan.pk), {"version": fresh(plan).version, "agreed_on": today.isoformat(), "she_agrees": "on"}
    )
    assert response.status_code == 302
    plan = fresh(plan)
    assert plan.status == PlanStatus.AGREED and plan.agreed_on == today
    assert "agreed with her, before discharge" in text(client.get(url("plan", plan.pk)))

    # The print view.
    printed = client.get(url("plan_print", plan.pk))
    body = text(printed)
    assert printed.status_code == 200 and printed["Cache-Control"] == "no-store"
    assert "Maria Lopez and Luz Lopez" in body
    assert "A safe place for Luz to sleep at home" in body and "Hope Recovery Center" in body
    assert FOOTER in body and "Notification to child welfare: not recorded yet." in body

    # The PDF: a download, with the domains, the needs, the notification line and the footer.
    download = client.get(url("plan_pdf", plan.pk))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == f'attachment; filename="plan-of-safe-care-{plan.pk}.pdf"'
    words = pdf_words(download)
    assert "Plan of Safe Care" in words and "Maria Lopez and Luz Lopez" in words
    for title in ("Baby", "Parent and family", "Safe sleep", "Substance use treatment and MOUD continuity"):
        assert title in words
    assert "Postpartum care and family planning" in words  # an empty domain is printed too
    assert "A safe place for Luz to sleep at home" in words and "Under way" in words
    assert "Keep her methadone dose going after discharge" in words and "Hope Recovery Center" in words
    assert "Notification to child welfare: not recorded yet." in words
    assert FOOTER in words
    assert not any(word in words.lower() for word in STIGMATISING)

    # Every read audited: the print view a view, the PDF an export.
    events = AuditEvent.objects.filter(record_type="PlanOfSafeCare", record_id=str(plan.pk), outcome="success")
    assert events.filter(action="view", detail__channel="print").exists()
    assert events.filter(action="export", detail__channel="export").exists()


# --- copies only where her consent allows -------------------------------------------------------------------------


def test_another_organisation_reads_the_plan_only_when_her_consent_covers_it(
    social_worker, family, infant, caseworker, cps_org, hospital
):
    plan = start(social_worker, family, infant)
    add(social_worker, plan, PlanDomain.SAFE_SLEEP, "A crib for Luz")
    add(social_worker, plan, PlanDomain.SOCIAL_NEEDS, "A bus pass for her visits")
    family_services.care_team_member_add(
        viewer=viewer_of(social_worker), family=family, membership=caseworker, role=Role.CPS_CASEWORKER
    )
    # Her team may share her contact details and social needs, not her general-health records.
    consent_team_wide(family, by=social_worker, categories=("contact", "social_needs"))
    client = client_for(caseworker)
    for name in ("plan", "plan_print", "plan_pdf"):
        response = client.get(url(name, plan.pk))
        assert response.status_code == 404, name
        assert b"A crib for Luz" not in response.content
    assert (
        AuditEvent.objects.filter(
            actor_id=caseworker.user_id, record_type="PlanOfSafeCare", record_id=str(plan.pk), outcome="denied"
        ).count()
        == 3
    )
    assert not Disclosure.objects.filter(recipient_org=cps_org).exclude(channel="page").exists()

    # She consents to the hospital sharing her general-health records with the child-welfare agency.
    consent_services.consent_record(
        viewer=viewer_of(social_worker),
        family=family,
        title="Plan of Safe Care for child welfare",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[hospital],
            recipient_orgs=[cps_org],
            purposes=["child_welfare_case"],
            categories=["contact", "general_health"],
            expires_at=clock.now() + timedelta(days=180),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    page = client.get(url("plan", plan.pk))
    assert page.status_code == 200 and "A crib for Luz" in text(page) and "A bus pass for her visits" in text(page)
    download = client.get(url("plan_pdf", plan.pk))
    assert download.status_code == 200
    words = pdf_words(download)
    assert "A crib for Luz" in words and "Luz Lopez" in words and FOOTER in words
    # The download is in her accounting of disclosures, as an export to the agency.
    exported = list(Disclosure.objects.filter(family=family, recipient_org=cps_org, channel="export"))
    assert exported and {d.disclosing_org for d in exported} == {hospital}
    assert {r["type"] for d in exported for r in d.records} >= {"PlanOfSafeCare", "PlanNeed", "Person"}


# --- agreeing -----------------------------------------------------------------------------------------------------


def test_a_plan_is_agreed_only_with_a_need_for_the_baby_and_one_for_the_parent(social_worker, family, infant):
    plan = start(social_worker, family, infant, expected=clock.today() + timedelta(days=2))
    add(social_worker, plan, PlanDomain.SAFE_SLEEP, "A crib for Luz")
    with pytest.raises(ValidationError) as raised:
        safecare.agree_plan(viewer=viewer_of(social_worker), plan_id=plan.pk, expected_version=fresh(plan).version)
    assert "add a need for the parent or family" in " ".join(raised.value.messages)

    client = client_for(social_worker)
    assert "add a need for the parent or family" in text(client.get(url("plan", plan.pk)))
    response = client.post(
        url("plan_agree", plan.pk),
        {"version": fresh(plan).version, "agreed_on": clock.today().isoformat(), "she_agrees": "on"},
    )
    assert response.status_code == 400
    assert "add a need for the parent or family (under “Parent and family”)" in text(response)
    plan = fresh(plan)
    assert plan.status == PlanStatus.DRAFT and plan.agreed_on is None
    assert not FamilyActivity.objects.filter(verb="plan_of_safe_care_agreed").exists()

    # Without ticking that she agrees, nothing happens either.
    add(social_worker, plan, PlanDomain.HEALTH, "See her own doctor in two weeks")
    response = client.post(url("plan_agree", plan.pk), {"version": fresh(plan).version, "agreed_on": ""})
    assert response.status_code == 400
    assert "Tick the box once she has gone through the plan with you" in text(response)
    assert "Enter the day she agreed to the plan." in text(response)
    assert fresh(plan).status == PlanStatus.DRAFT


def test_agreeing_after_the_discharge_day_is_allowed_and_said_to_be_late(social_worker, family, infant):
    today = clock.today()
    plan = start(
        social_worker, family, infant, identified=today - timedelta(days=6), expected=today - timedelta(days=2)
    )
    add(social_worker, plan, PlanDomain.PEDIATRIC_FOLLOW_UP, "A visit with a paediatrician")
    add(social_worker, plan, PlanDomain.POSTPARTUM, "Her postpartum visit")
    client = client_for(social_worker)
    assert 'data-testid="late"' in text(client.get(url("plan", plan.pk)))
    response = client.post(
        url("plan_agree", plan.pk),
        {"version": fresh(plan).version, "agreed_on": today.isoformat(), "she_agrees": "on"},
        follow=True,
    )
    body = text(response)
    assert "The plan is agreed with her, but late" in body and "after discharge: late" in body
    plan = fresh(plan)
    assert plan.status == PlanStatus.AGREED
    assert "after the discharge day" in FamilyActivity.objects.get(verb="plan_of_safe_care_agreed").summary


# --- concurrency --------------------------------------------------------------------------------------------------


def test_a_stale_edit_is_refused_and_changes_nothing(social_worker, family, infant):
    plan = start(social_worker, family, infant)
    need = add(social_worker, plan, PlanDomain.SAFE_SLEEP, "A crib for Luz")
    read = need.version
    viewer = viewer_of(social_worker)
    safecare.change_need(
        viewer=viewer,
        need_id=need.pk,
        expected_version=read,
        data=safecare.NeedInput("safe_sleep", "A crib for Luz", "Hospital social worker", status=NeedStatus.MET),
    )
    with pytest.raises(ConcurrentEditError):
        safecare.change_need(
            viewer=viewer,
            need_id=need.pk,
            expected_version=read,
            data=safecare.NeedInput("safe_sleep", "Something else", "Nobody"),
        )
    need.refresh_from_db()
    assert (need.need, need.status) == ("A crib for Luz", NeedStatus.MET)

    # The page carries the version it read: a second screen's save is refused, in plain words.
    response = client_for(social_worker).post(
        url("plan_need_edit", need.pk),
        {"version": read, "domain": "safe_sleep", "need": "Overwritten", "responsible": "Me", "status": "planned"},
    )
    assert response.status_code == 409 and "Someone else changed this need" in text(response)
    need.refresh_from_db()
    assert need.need == "A crib for Luz"

    # Agreeing a plan read before a need was added is refused too: she agrees what she saw.
    seen = fresh(plan).version
    add(social_worker, plan, PlanDomain.SUD_TREATMENT, "Keep her buprenorphine going")
    with pytest.raises(ConcurrentEditError):
        safecare.agree_plan(viewer=viewer, plan_id=plan.pk, expected_version=seen)
    assert fresh(plan).status == PlanStatus.DRAFT


# --- discharge and the pathway ------------------------------------------------------------------------------------


def test_the_discharge_day_moves_the_pathway_due_dates(social_worker, family, infant):
    from kinfold.pathways import definitions
    from kinfold.pathways import services as pathway_services

    try:
        definitions.latest("plan_of_safe_care")
    except KeyError:
        pytest.skip("the pathway file pathways/data/pathways/plan_of_safe_care.yaml is not there yet")
    today = clock.today()
    plan = start(social_worker, family, infant, expected=today + timedelta(days=5))
    pathway_services.enrol(viewer=viewer_of(social_worker), family=family, pathway_key="plan_of_safe_care")
    follow_up = PathwayStep.objects.get(family=family, step_key="pediatric_follow_up")
    before_discharge = PathwayStep.objects.get(family=family, step_key="plan_before_discharge")
    assert follow_up.due_on == today + timedelta(days=8)  # 3 days after the expected discharge
    assert before_discharge.due_on == today + timedelta(days=4)  # the day before it

    # The expected discharge day moves: so do the steps counted from it.
    safecare.update_details(
        viewer=viewer_of(social_worker),
        plan_id=plan.pk,
        expected_version=fresh(plan).version,
        infant_id=infant.pk,
        identified_on=today,
        reasons=["prenatal_moud"],
        expected_discharge_on=today + timedelta(days=7),
    )
    follow_up.refresh_from_db()
    assert follow_up.due_on == today + timedelta(days=10)

    # The baby goes home today, earlier than expected (recorded through the page).
    client = client_for(social_worker)
    response = client.post(
        url("plan_discharge", plan.pk), {"version": fresh(plan).version, "discharged_on": today.isoformat()}
    )
    assert response.status_code == 302
    assert fresh(plan).discharged_on == today
    follow_up.refresh_from_db()
    assert follow_up.due_on == today + timedelta(days=3)
    assert FamilyActivity.objects.filter(family=family, verb="pathway_rescheduled").exists()

    # Agreeing the plan completes the step "plan built before discharge".
    add(social_worker, plan, PlanDomain.SAFE_SLEEP, "A crib for Luz")
    add(social_worker, plan, PlanDomain.SUD_TREATMENT, "Keep her methadone dose going")
    safecare.agree_plan(viewer=viewer_of(social_worker), plan_id=plan.pk, expected_version=fresh(plan).version)
    before_discharge.refresh_from_db()
    assert before_discharge.status == "done" and before_discharge.evidence == f"PlanOfSafeCare:{plan.pk}"


def test_a_discharge_in_the_future_or_before_identification_is_refused(social_worker, family, infant):
    plan = start(social_worker, family, infant)
    client = client_for(social_worker)
    tomorrow = clock.today() + timedelta(days=1)
    response = client.post(
        url("plan_discharge", plan.pk), {"version": fresh(plan).version, "discharged_on": tomorrow.isoformat()}
    )
    assert response.status_code == 400 and "The day of discharge cannot be in the future." in text(response)
    with pytest.raises(ValidationError) as raised:
        safecare.record_discharge(
            viewer=viewer_of(social_worker),
            plan_id=plan.pk,
            expected_version=fresh(plan).version,
            discharged_on=clock.today() - timedelta(days=1),
        )
    assert "cannot be before the baby was identified" in raised.value.message_dict["discharged_on"][0]
    assert fresh(plan).discharged_on is None


# --- removing a need ----------------------------------------------------------------------------------------------


def test_removing_a_need_asks_first_then_removes_it(social_worker, family, infant):
    plan = start(social_worker, family, infant)
    need = add(social_worker, plan, PlanDomain.SAFE_SLEEP, "A crib for Luz")
    client = client_for(social_worker)
    assert url("plan_need_remove", need.pk) in text(client.get(url("plan", plan.pk)))
    confirm = client.get(url("plan_need_remove", need.pk))
    assert confirm.status_code == 200
    assert "Remove this need?" in text(confirm) and "A crib for Luz" in text(confirm)
    assert PlanNeed.objects.filter(pk=need.pk).exists()  # asking removes nothing
    response = client.post(url("plan_need_remove", need.pk), {"version": need.version})
    assert response.status_code == 302
    assert not PlanNeed.objects.filter(pk=need.pk).exists()
    assert FamilyActivity.objects.filter(family=family, verb="plan_of_safe_care_need_removed").exists()


# --- checking what is typed ---------------------------------------------------------------------------------------


def test_the_start_form_explains_each_problem_and_saves_nothing(social_worker, family, infant, coordinator):
    client = client_for(social_worker)
    today = clock.today()
    response = client.post(
        url("plan_new", family.pk),
        {"infant": str(infant.pk), "identified_on": (today + timedelta(days=1)).isoformat(), "reasons": []},
    )
    body = text(response)
    assert response.status_code == 400
    assert "The day the baby was identified cannot be in the future." in body
    assert "Choose at least one reason the baby was identified." in body

    response = client.post(
        url("plan_new", family.pk),
        {
            "infant": "",
            "identified_on": today.isoformat(),
            "reasons": ["newborn_test"],
            "expected_discharge_on": (today - timedelta(days=2)).isoformat(),
        },
    )
    assert "The expected discharge day cannot be before the day the baby was identified." in text(response)

    # A child of another family is not hers to choose.
    other = make_family(coordinator, given_name="Ana", family_name="Diaz")
    other_child = family_services.family_member_add(
        viewer=viewer_of(coordinator), family=other, given_name="Leo", family_name="Diaz", category="child"
    ).person
    response = client.post(
        url("plan_new", family.pk),
        {"infant": str(other_child.pk), "identified_on": today.isoformat(), "reasons": ["parent_shared"]},
    )
    assert "Choose one of her children listed" in text(response)
    with pytest.raises(ValidationError) as raised:
        start(social_worker, family, other_child)
    assert "infant" in raised.value.message_dict
    assert not PlanOfSafeCare.objects.exists()

    # A need's words are checked too.
    plan = start(social_worker, family, infant)
    with pytest.raises(ValidationError) as raised:
        add(social_worker, plan, PlanDomain.HEALTH, "x" * 301, responsible="")
    assert raised.value.message_dict["need"] == ["Keep the need to 300 characters or fewer; it has 301."]
    assert "Say who is responsible" in raised.value.message_dict["responsible"][0]
    response = client.post(url("plan_need_new", plan.pk), {"domain": "nonsense", "need": "", "responsible": "x"})
    assert response.status_code == 400
    assert "Say what is needed, in plain words." in text(response)
    assert not PlanNeed.objects.exists()


def test_only_a_hospital_or_an_obstetric_clinic_starts_a_plan(coordinator):
    family = make_family(coordinator)
    client = client_for(coordinator)
    response = client.get(url("plan_new", family.pk))
    assert response.status_code == 403
    assert "Only a birthing hospital or an obstetric clinic" in text(response)
    with pytest.raises(Refused):
        start(coordinator, family, None)
    assert not PlanOfSafeCare.objects.exists()
    assert (
        AuditEvent.objects.filter(
            actor_id=coordinator.user_id, record_type="PlanOfSafeCare", outcome="denied", family_id=family.pk
        ).count()
        == 2
    )


# --- the notification -----------------------------------------------------------------------------------------------


def test_where_the_jurisdiction_makes_it_a_report_the_plan_says_so(social_worker, family, infant, settings):
    settings.KINFOLD_POSC_NOTIFICATION = "report"
    plan = start(social_worker, family, infant)
    assert plan.notification_kind == "report"
    client = client_for(social_worker)
    body = text(client.get(url("plan", plan.pk)))
    assert "Report to child protective services" in body and "a notification, not a report" not in body

    tomorrow = clock.today() + timedelta(days=1)
    response = client.post(
        url("plan_notification", plan.pk), {"version": fresh(plan).version, "notified_on": tomorrow.isoformat()}
    )
    assert response.status_code == 400 and "cannot be in the future" in text(response)
    response = client.post(
        url("plan_notification", plan.pk), {"version": fresh(plan).version, "notified_on": clock.today().isoformat()}
    )
    assert response.status_code == 302 and fresh(plan).notified_on == clock.today()
    words = pdf_words(client.get(url("plan_pdf", plan.pk)))
    assert f"Report to child protective services: made on {clock.today():%-d %B %Y}." in words

    # A plan keeps what its notification was when it was started.
    settings.KINFOLD_POSC_NOTIFICATION = "notification"
    assert "Report to child protective services" in text(client.get(url("plan", plan.pk)))


def test_a_notification_is_explained_as_not_a_report_by_default(social_worker, family, infant):
    plan = start(social_worker, family, infant)
    client = client_for(social_worker)
    page = text(client.get(url("plan_notification", plan.pk)))
    assert "this is a notification, not a report of abuse or neglect" in page
    client.post(
        url("plan_notification", plan.pk), {"version": fresh(plan).version, "notified_on": clock.today().isoformat()}
    )
    line = FamilyActivity.objects.get(family=family, verb="plan_of_safe_care_notified")
    assert "notification to child welfare recorded" in line.summary


# --- a referral carries a need --------------------------------------------------------------------------------------


def test_a_need_shows_the_status_of_the_referral_that_carries_it(social_worker, family, infant, coordinator):
    from kinfold.directory.models import DirectoryOrganization, Service
    from kinfold.referrals import services as referral_services

    pantry = OrganizationFactory(name="Riverside Food Bank", type=OrganizationType.COMMUNITY)
    listing = DirectoryOrganization.objects.create(hsds_id="org-pantry", name=pantry.name, organization=pantry)
    service = Service.objects.create(hsds_id="svc-pantry", organization=listing, name="Food boxes", needs=["food"])
    referral = referral_services.create_referral(
        viewer=viewer_of(social_worker), family=family, need="food", service=service, send=False
    )
    plan = start(social_worker, family, infant)
    client = client_for(social_worker)
    form = text(client.get(url("plan_need_new", plan.pk) + "?domain=social_needs"))
    assert "Food referral to Riverside Food Bank (Draft)" in form
    response = client.post(
        url("plan_need_new", plan.pk),
        {
            "domain": "social_needs",
            "need": "Food at home in the first weeks",
            "responsible": "Riverside Food Bank",
            "referral": str(referral.pk),
            "status": "planned",
        },
    )
    assert response.status_code == 302
    assert PlanNeed.objects.get(plan=plan).referral_id_ref == referral.pk
    body = text(client.get(url("plan", plan.pk)))
    assert "Food referral to Riverside Food Bank" in body and 'data-testid="referral-status">Draft' in body

    # A referral of another family cannot be linked.
    other = make_family(coordinator, given_name="Ana", family_name="Diaz")
    theirs = referral_services.create_referral(
        viewer=viewer_of(coordinator), family=other, need="food", service=service, send=False
    )
    with pytest.raises(ValidationError) as raised:
        add(social_worker, plan, PlanDomain.SOCIAL_NEEDS, "Food", referral_id=theirs.pk)
    assert "Choose one of this family's referrals" in raised.value.message_dict["referral"][0]


# --- closing --------------------------------------------------------------------------------------------------------


def test_a_closed_plan_keeps_its_note_refuses_changes_and_still_prints(social_worker, family, infant):
    plan = start(social_worker, family, infant)
    add(social_worker, plan, PlanDomain.SAFE_SLEEP, "A crib for Luz", status=NeedStatus.MET)
    client = client_for(social_worker)
    response = client.post(url("plan_close", plan.pk), {"version": fresh(plan).version, "note": "  "})
    assert response.status_code == 400 and "Say in a few words why the plan closes" in text(response)
    response = client.post(url("plan_close", plan.pk), {"version": fresh(plan).version, "note": "x" * 2001})
    assert "Keep the note to 2,000 characters or fewer; it has 2,001." in text(response)
    client.post(url("plan_close", plan.pk), {"version": fresh(plan).version, "note": "Six months on; visits go on."})
    plan = fresh(plan)
    assert plan.status == PlanStatus.CLOSED and plan.closed_on == clock.today()
    assert plan.closing_note == "Six months on; visits go on."
    with pytest.raises(ValidationError):
        add(social_worker, plan, PlanDomain.HEALTH, "Anything")
    body = text(client.get(url("plan", plan.pk)))
    assert 'data-testid="plan-actions"' in body and url("plan_edit", plan.pk) not in body
    assert "Six months on; visits go on." in pdf_words(client.get(url("plan_pdf", plan.pk)))


# --- the PDF never fails on a character its font lacks ------------------------------------------------------------


def test_the_pdf_draws_every_name_and_word_it_can_and_replaces_the_rest(social_worker, family, infant):
    assert pdf.pdf_text("Zoë → “home” 🍼 李\x00") == "Zoë -> “home” ? ?"
    plan = start(social_worker, family, infant)
    add(social_worker, plan, PlanDomain.SAFE_SLEEP, "Crib → from “Bridges” 🍼 for Zoë", responsible="Ms. Ngũgĩ")
    download = client_for(social_worker).get(url("plan_pdf", plan.pk))
    assert download.status_code == 200
    words = pdf_words(download)
    assert "Crib -> from “Bridges” ? for Zoë" in words and "Ms. Ngugi" in words
