"""Parent mode (issue 11): the staff member hands her the tablet. Only someone who may open the family starts
it; then only parent mode's pages answer, in her language, with her consents, her team and what each member
can see, and the whole accounting of disclosures; she may read and sign a consent on it; the staff member's
password (rate-limited like signing in) or 5 idle minutes end it, always on the sign-in page."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from kinfold import clock
from kinfold.audit.models import AuditEvent
from kinfold.consent import services as consent_services
from kinfold.consent.models import ConsentDirective, Disclosure
from kinfold.families import services as family_services
from kinfold.families.models import RelationshipCategory
from kinfold.notes.services import note_add
from kinfold.organizations.models import OrganizationType, Role
from kinfold.parentmode.middleware import ParentModeMiddleware
from kinfold.parentmode.services import SESSION_KEY
from tests.factories import TEST_PASSWORD, OrganizationFactory, consent_team_wide, make_family, staff, viewer_of
from tests.support import client_for, text
from tests.test_consent_pages import cps_post, new_url

pytestmark = pytest.mark.django_db

ATTENDANCE = "Came to all three group sessions this week"
MEDICATION = "Buprenorphine 16 mg daily, no change"
TOXICOLOGY = "Urine test negative for all substances"
HOME = "/parent/"


@pytest.fixture
def world(coordinator, caseworker, treatment_org, cps_org):
    """Maria's team: Ana (coordinator, Bridges), Carl (CPS caseworker) and Tess (counsellor at Hope, a Part 2
    programme). Her team-wide consent lets the team open her family; her CPS consent, which Tess recorded with
    her, lets Hope share attendance and medication with CPS, and not drug test results. Tess wrote one note of
    each; Carl then read the family page (a disclosure of Hope's records to CPS)."""
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Moreno")
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    for member, role in ((caseworker, Role.CPS_CASEWORKER), (counsellor, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator)
    cps_consent = consent_services.consent_record(
        viewer=viewer_of(counsellor),
        family=family,
        title="CPS status updates",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[treatment_org],
            recipient_orgs=[cps_org],
            purposes=["child_welfare_case"],
            kinds=["treatment_attendance", "medication"],
            expires_at=clock.now() + timedelta(days=365),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
            template_key="cps_status",
        ),
    )
    for kind, summary in (("treatment_attendance", ATTENDANCE), ("medication", MEDICATION), ("toxicology", TOXICOLOGY)):
        note_add(viewer=viewer_of(counsellor), family=family, kind=kind, summary=summary)
    page = client_for(caseworker).get(reverse("families:detail", args=[family.pk]))
    assert ATTENDANCE in page.content.decode() and TOXICOLOGY not in page.content.decode()
    return {"family": family, "counsellor": counsellor, "cps_consent": cps_consent, "cps_org": cps_org}


def start(client: Client, family: Any, **data: Any) -> Any:
    return client.post(reverse("parentmode:start", args=[family.pk]), data)


def in_parent_mode(coordinator: Any, family: Any) -> Client:
    client = client_for(coordinator)
    response = start(client, family)
    assert response.status_code == 302 and response.url == HOME
    return client


def mode_of(client: Client) -> dict[str, Any] | None:
    return client.session.get(SESSION_KEY)


def age_session(client: Client, seconds: float) -> None:
    """Make the tablet's last use ``seconds`` ago (no sleeping)."""
    session = client.session
    state = dict(session[SESSION_KEY])
    state["last_seen"] = time.time() - seconds
    session[SESSION_KEY] = state
    session.save()


# --- starting ---------------------------------------------------------------------------------------------


def test_someone_who_may_open_the_family_starts_parent_mode_and_it_is_recorded(world, coordinator):
    family = world["family"]
    client = in_parent_mode(coordinator, family)
    state = mode_of(client)
    assert state is not None
    assert state["family_id"] == family.pk and state["staff_user_id"] == coordinator.user.pk
    assert state["language"] == "en" and state["started_at"]
    started = AuditEvent.objects.get(record_type="ParentMode", family_id=family.pk, detail__event="started")
    assert started.actor_id == coordinator.user.pk and started.outcome == "success"


def test_someone_who_may_not_open_the_family_gets_a_404_audited_and_no_parent_mode(world, outsider):
    family = world["family"]
    client = client_for(outsider)
    response = start(client, family)
    assert response.status_code == 404
    assert mode_of(client) is None
    assert AuditEvent.objects.filter(
        actor_id=outsider.user.pk, record_type="Family", family_id=family.pk, outcome="denied"
    ).exists()
    assert not AuditEvent.objects.filter(record_type="ParentMode", actor_id=outsider.user.pk).exists()
    assert client.get(reverse("families:caseload")).status_code == 200  # her own pages, as before


@pytest.mark.parametrize("who", ["caseworker", "court"])
def test_a_court_or_child_welfare_member_of_her_team_cannot_hand_herself_the_tablet(
    world, coordinator, caseworker, who
):
    """Parent mode shows her whole team and accounting: staff of a court or a CPS agency on her team could read,
    by starting it themselves, what the policy keeps from them (that Hope Recovery Center treats her)."""
    family = world["family"]
    if who == "court":
        court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
        member = staff(court, Role.COURT_COORDINATOR, user__first_name="Cora", user__last_name="Vance")
        family_services.care_team_member_add(
            viewer=viewer_of(coordinator), family=family, membership=member, role=Role.COURT_COORDINATOR
        )
    else:
        member = caseworker
    client = client_for(member)
    assert 'data-testid="parent-mode-start"' not in text(client.get(reverse("families:detail", args=[family.pk])))
    response = start(client, family)
    assert mode_of(client) is None
    assert client.get(reverse("parentmode:team")).status_code in (302, 404)
    assert "Tess Moreno" not in text(client.get(reverse("parentmode:team"), follow=True))
    assert response.status_code in (302, 404)
    # Refused and audited (a court that may not open her record at all is refused by the door first).
    assert AuditEvent.objects.filter(actor_id=member.user_id, family_id=family.pk, outcome="denied").exists()


def test_a_staff_member_not_on_her_team_cannot_hand_her_the_tablet(world, coordinator, community_org):
    colleague = staff(community_org, Role.CARE_COORDINATOR, user__first_name="Bea", user__last_name="Colleague")
    client = client_for(colleague)
    start(client, world["family"])
    assert mode_of(client) is None


def test_starting_is_a_post_and_the_parent_pages_need_parent_mode(world, coordinator):
    client = client_for(coordinator)
    assert client.get(reverse("parentmode:start", args=[world["family"].pk])).status_code == 405
    for name in ("parentmode:home", "parentmode:team", "parentmode:accounting", "parentmode:leave"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url == reverse("home"), name
    assert mode_of(client) is None


def test_the_family_page_and_her_consents_page_offer_to_hand_her_the_tablet(world, coordinator):
    family = world["family"]
    client = client_for(coordinator)
    start_url = reverse("parentmode:start", args=[family.pk])
    for url in (reverse("families:detail", args=[family.pk]), reverse("consent:list", args=[family.pk])):
        html = text(client.get(url))
        assert f'action="{start_url}"' in html and "Hand her the tablet" in html, url


# --- locked in ---------------------------------------------------------------------------------------------


def test_in_parent_mode_every_staff_page_sends_her_back_to_her_home(world, coordinator, outsider):
    family = world["family"]
    other = make_family(outsider, given_name="Other", family_name="Family")
    client = in_parent_mode(coordinator, family)
    staff_urls = [
        reverse("home"),
        reverse("families:caseload"),
        reverse("families:create"),
        reverse("families:detail", args=[family.pk]),
        reverse("families:detail", args=[other.pk]),
        reverse("families:export", args=[family.pk]),
        reverse("consent:list", args=[family.pk]),
        reverse("consent:new", args=[family.pk]),
        reverse("consent:accounting", args=[family.pk]),
        reverse("organizations:list"),
        reverse("login"),
        "/admin/",
        "/api/",
        f"/api/families/{family.pk}",
        "/no/such/page/",
    ]
    for url in staff_urls:
        response = client.get(url)
        assert response.status_code == 302 and response.url == HOME, url
    # Nor does a form post anywhere else, signing out included (only the staff member's password ends it).
    for url in (reverse("logout"), reverse("families:create"), reverse("parentmode:start", args=[other.pk])):
        response = client.post(url, {})
        assert response.status_code == 302 and response.url == HOME, url
    state = mode_of(client)
    assert state is not None and state["family_id"] == family.pk
    assert client.get(HOME).status_code == 200


def test_parent_mode_pages_have_no_staff_navigation_and_large_type(world, coordinator):
    client = in_parent_mode(coordinator, world["family"])
    for name in ("parentmode:home", "parentmode:team", "parentmode:accounting", "parentmode:leave"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert '<html lang="en" class="kinfold-parent-mode">' in html
        assert "parentmode/parentmode.css" in html
        hrefs = set(re.findall(r'href="(/[^"]*)"', html))
        assert {h for h in hrefs if not h.startswith(("/parent/", "/static/"))} == set(), name
        assert "Log out" not in html and "My caseload" not in html
        assert "Give the tablet back" in html or name == "parentmode:leave"


# --- her consents, her team, her accounting ------------------------------------------------------------------


def test_her_consents_are_all_of_them_with_summary_status_and_her_right_to_take_them_back(world, coordinator):
    family = world["family"]
    # Ana's own pages do not show the CPS consent: it names neither her nor Bridges, and she did not record it.
    staff_list = text(client_for(coordinator).get(reverse("consent:list", args=[family.pk])))
    assert "CPS status updates" not in staff_list
    client = in_parent_mode(coordinator, family)
    html = text(client.get(HOME))
    assert "Your consents" in html
    assert "CPS status updates" in html and "Team-wide coordination" in html
    assert (
        "Hope Recovery Center may share whether you come to treatment and your medication for opioid use disorder "
        "(which one and the dose) with Lakeview County Child Protective Services, for your child welfare case"
    ) in html
    assert html.count('data-testid="consent-status">In force<') == 2
    assert html.count('data-testid="right-to-revoke"') == 2
    assert "You can take back (revoke) this permission at any time" in html
    assert "Signed on" in html and "by Maria Lopez" in html
    assert AuditEvent.objects.filter(
        actor_id=coordinator.user.pk, record_type="ConsentDirective", action="list", detail__parent_mode=True
    ).exists()


def test_a_revoked_consent_says_when_she_took_it_back(world, coordinator, caseworker):
    consent_services.consent_revoke(
        viewer=viewer_of(world["counsellor"]),
        directive=world["cps_consent"],
        method="spoken",
        received_by=world["counsellor"],
        note="",
    )
    client = in_parent_mode(coordinator, world["family"])
    html = text(client.get(HOME))
    item = re.search(r'data-status="revoked".*?</li>', html)
    assert item is not None and "You took it back on" in item.group(0)
    assert 'data-testid="right-to-revoke"' not in item.group(0)


def test_her_team_lists_each_member_and_what_the_policy_lets_each_see(world, coordinator, caseworker):
    client = in_parent_mode(coordinator, world["family"])
    html = text(client.get(reverse("parentmode:team")))
    members = {
        name: block
        for block in re.findall(r'<li class="kinfold-parent-team__member".*?</li>', html)
        for name in ("Ana Rivera", "Carl Jensen", "Tess Moreno")
        if name in block
    }
    assert set(members) == {"Ana Rivera", "Carl Jensen", "Tess Moreno"}
    carl = members["Carl Jensen"]
    assert "CPS caseworker, Lakeview County Child Protective Services" in carl
    assert "whether you come to treatment" in carl
    assert "your medication for opioid use disorder" in carl
    assert "your drug test results" not in carl  # her consent does not cover them
    tess = members["Tess Moreno"]
    assert "Substance use counsellor, Hope Recovery Center" in tess
    assert "your drug test results" in tess  # her own programme's records
    ana = members["Ana Rivera"]
    assert "Coordinates your team" in ana
    assert "whether you come to treatment" not in ana  # no consent lets Bridges see Hope's treatment records


def test_the_accounting_is_all_of_it_even_what_the_staff_member_may_not_see(world, coordinator):
    family = world["family"]
    carl_saw = Disclosure.objects.filter(family=family, recipient_org=world["cps_org"])
    assert any("sud_treatment" in row.categories for row in carl_saw)
    # Ana's own accounting page leaves out what she may not read herself: Hope's treatment records.
    staff_page = text(client_for(coordinator).get(reverse("consent:accounting", args=[family.pk])))
    assert "whether you come to treatment" not in staff_page
    client = in_parent_mode(coordinator, family)
    html = text(client.get(reverse("parentmode:accounting")))
    assert "This list is all of it" in html
    assert (
        "Carl Jensen at Lakeview County Child Protective Services saw whether you come to treatment and your "
        "medication for opioid use disorder (which one and the dose) from Hope Recovery Center, for your child "
        "welfare case, because of your consent “CPS status updates”"
    ) in html
    assert AuditEvent.objects.filter(record_type="Accounting", family_id=family.pk, detail__parent_mode=True).exists()


def test_the_accounting_counts_back_three_years_and_lists_her_revocations(world, coordinator):
    consent_services.consent_revoke(
        viewer=viewer_of(world["counsellor"]),
        directive=world["cps_consent"],
        method="written",
        received_by=world["counsellor"],
        note="",
    )
    client = in_parent_mode(coordinator, world["family"])
    html = text(client.get(reverse("parentmode:accounting")))
    assert "you took back “CPS status updates” (in writing, signed)" in html
    assert "This was before you took that consent back; taking it back does not undo it." in html
    starts = clock.local_date(clock.now()).replace(year=clock.today().year - 3)
    assert f"from {starts.day} {starts:%B %Y}" in html


# --- in her language -------------------------------------------------------------------------------------------


def test_her_pages_are_in_spanish_when_she_prefers_spanish(coordinator, caseworker, treatment_org, cps_org):
    family = make_family(coordinator, given_name="Lucía", family_name="Torres", preferred_language="es")
    family_services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role=Role.CPS_CASEWORKER
    )
    consent_team_wide(family, by=coordinator, language="es")
    client = in_parent_mode(coordinator, family)
    assert mode_of(client)["language"] == "es"  # type: ignore[index]
    html = text(client.get(HOME))
    assert '<html lang="es" class="kinfold-parent-mode">' in html
    assert "Sus permisos" in html and "Usted decide quién ve su información" in html
    assert "Devolver la tableta" in html and "Vigente" in html and "Firmado el" in html
    assert "puede compartir" in html and "Puede cancelar este permiso en cualquier momento" in html
    team = text(client.get(reverse("parentmode:team")))
    assert "Su equipo" in team and "Trabajador(a) social de CPS" in team and "Puede ver:" in team
    accounting = text(client.get(reverse("parentmode:accounting")))
    assert "Quién ha visto su información" in accounting and "Esta lista está completa" in accounting
    # She may switch to English, and back.
    client.post(reverse("parentmode:language"), {"language": "en", "page": "team"})
    assert '<html lang="en"' in client.get(reverse("parentmode:team")).content.decode()


# --- giving the tablet back --------------------------------------------------------------------------------------


def test_a_wrong_password_does_not_leave_parent_mode_and_is_audited(world, coordinator):
    client = in_parent_mode(coordinator, world["family"])
    response = client.post(reverse("parentmode:leave"), {"password": "not the password"})
    assert response.status_code == 400
    assert "That password is not right" in text(response)
    assert mode_of(client) is not None
    assert client.get(reverse("families:caseload")).url == HOME
    refused = AuditEvent.objects.get(record_type="ParentMode", detail__event="leave refused")
    assert refused.outcome == "denied" and refused.actor_id == coordinator.user.pk


def test_another_staff_members_password_does_not_leave_either(world, coordinator, caseworker):
    client = in_parent_mode(coordinator, world["family"])
    caseworker.user.set_password("another one entirely 77")
    caseworker.user.save()
    response = client.post(reverse("parentmode:leave"), {"password": "another one entirely 77"})
    assert response.status_code == 400 and mode_of(client) is not None


def test_guessing_the_password_is_paused_like_signing_in(world, coordinator, settings):
    client = in_parent_mode(coordinator, world["family"])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("parentmode:leave"), {"password": "a guess"})
    response = client.post(reverse("parentmode:leave"), {"password": TEST_PASSWORD})
    assert response.status_code == 429
    html = text(response)
    assert "Too many wrong passwords" in html and "kinfold-parent-mode" in html  # still parent mode's page
    assert mode_of(client) is not None
    assert client.get(reverse("families:caseload")).url == HOME


def test_the_right_password_ends_parent_mode_signs_out_and_lands_on_sign_in(world, coordinator):
    client = in_parent_mode(coordinator, world["family"])
    response = client.post(reverse("parentmode:leave"), {"password": TEST_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("login")
    assert mode_of(client) is None
    login_page = text(client.get(reverse("login")))
    assert "Parent mode has ended and you are signed out" in login_page
    for url in (reverse("families:caseload"), reverse("families:detail", args=[world["family"].pk]), HOME):
        later = client.get(url)
        assert later.status_code == 302 and later.url.startswith(reverse("login")), url
    ended = AuditEvent.objects.get(record_type="ParentMode", detail__event="ended")
    assert ended.detail["reason"] == "password" and ended.actor_id == coordinator.user.pk


def test_five_idle_minutes_end_parent_mode_on_the_sign_in_page(world, coordinator):
    client = in_parent_mode(coordinator, world["family"])
    age_session(client, django_settings.KINFOLD_PARENT_MODE_IDLE_SECONDS - 5)
    assert client.get(reverse("parentmode:team")).status_code == 200  # not yet
    age_session(client, django_settings.KINFOLD_PARENT_MODE_IDLE_SECONDS + 1)
    response = client.get(reverse("parentmode:team"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert "Parent mode ended after 5 minutes without activity" in text(client.get(reverse("login")))
    later = client.get(reverse("families:caseload"))
    assert later.status_code == 302 and later.url.startswith(reverse("login"))
    assert AuditEvent.objects.filter(record_type="ParentMode", detail__event="ended", detail__reason="idle").exists()


def test_the_idle_limit_is_a_setting(world, coordinator, settings):
    settings.KINFOLD_PARENT_MODE_IDLE_SECONDS = 60
    client = in_parent_mode(coordinator, world["family"])
    age_session(client, 61)
    assert client.get(HOME).url == reverse("login")


# --- reading and signing on the tablet --------------------------------------------------------------------------


@pytest.fixture
def signing(world, coordinator):
    """Ana fills in the CPS template's terms with Maria, in Spanish, and hands her the tablet."""
    family = world["family"]
    client = client_for(coordinator)
    url = new_url(family, template="cps_status", lang="es")
    assert "Entregarle la tableta para leer y firmar" in text(client.get(url))
    terms = cps_post(
        {"treatment_org": world["counsellor"].organization, "cps_org": world["cps_org"]},
        action="tablet",
        title="CPS updates, signed on the tablet",
    )
    for name in ("signer_kind", "signer_name", "signature_method", "signature_typed"):
        terms.pop(name)
    response = client.post(url, terms)
    assert response.status_code == 302 and response.url == reverse("parentmode:sign")
    return client


def test_handing_her_the_tablet_to_sign_shows_the_signing_step_in_parent_mode(world, signing):
    state = mode_of(signing)
    assert state is not None and state["language"] == "es" and state["capture"]["terms"]["purposes"]
    html = text(signing.get(reverse("parentmode:sign")))
    assert '<html lang="es" class="kinfold-parent-mode">' in html
    assert "Léalo y firme" in html and "No firmar ahora" in html
    assert "Hope Recovery Center puede compartir si usted va al tratamiento" in html
    assert 'name="purposes"' not in html  # the terms wait in the session, not in the page
    assert "Log out" not in html
    # Staff pages stay closed while she signs.
    assert signing.get(reverse("consent:new", args=[world["family"].pk])).url == HOME
    assert not ConsentDirective.objects.filter(title="CPS updates, signed on the tablet").exists()


def test_she_signs_on_the_tablet_and_the_consent_is_recorded_as_on_the_staff_page(world, coordinator, signing):
    response = signing.post(
        reverse("parentmode:sign"),
        {
            "signer_kind": "parent",
            "signer_name": "Maria Lopez",
            "signature_method": "typed",
            "signature_typed": "Maria Lopez",
            "action": "sign",
            # Terms posted from the tablet are ignored: only what the staff member filled in is recorded.
            "purposes": ["court_proceeding"],
        },
    )
    directive = ConsentDirective.objects.get(title="CPS updates, signed on the tablet")
    assert response.status_code == 302 and response.url == f"{HOME}?signed={directive.pk}"
    version = directive.versions.get()
    assert directive.created_by == coordinator.user and version.created_by == coordinator.user
    assert version.purposes == ["child_welfare_case"] and version.language == "es"
    assert version.kinds == ["medication", "treatment_attendance"]
    assert version.signature_typed == "Maria Lopez"
    state = mode_of(signing)
    assert state is not None and state["capture"] is None  # still parent mode, nothing waiting
    html = text(signing.get(response.url))
    assert "El permiso está firmado y guardado." in html
    just = re.search(r'data-testid="just-signed".*?</li>', html)
    assert just is not None
    assert "Hope Recovery Center puede compartir si usted va al tratamiento" in just.group(0)


def test_a_signature_that_does_not_match_her_name_is_refused_on_the_tablet(world, signing):
    response = signing.post(
        reverse("parentmode:sign"),
        {"signer_kind": "parent", "signature_method": "typed", "signature_typed": "Somebody Else", "action": "sign"},
    )
    assert response.status_code == 400
    assert "Una firma escrita es el nombre completo de quien firma" in text(response)
    assert not ConsentDirective.objects.filter(title="CPS updates, signed on the tablet").exists()


def test_she_may_choose_not_to_sign(world, signing):
    response = signing.post(reverse("parentmode:sign"), {"action": "decline"})
    assert response.status_code == 302 and response.url == HOME
    assert not ConsentDirective.objects.filter(title="CPS updates, signed on the tablet").exists()
    state = mode_of(signing)
    assert state is not None and state["capture"] is None
    assert signing.get(reverse("parentmode:sign")).url == HOME


def test_the_staff_page_flow_without_the_tablet_still_records_the_consent(world, coordinator):
    client = client_for(coordinator)
    url = new_url(world["family"], template="cps_status", lang="en")
    data = cps_post({"treatment_org": world["counsellor"].organization, "cps_org": world["cps_org"]}, lang="en")
    data["title"] = "Signed on the staff page"
    response = client.post(url, data)
    assert response.status_code == 302 and "/consents/" in response.url
    assert ConsentDirective.objects.filter(title="Signed on the staff page").exists()
    assert mode_of(client) is None


# --- her legal representative --------------------------------------------------------------------------------------


def test_her_recorded_legal_representative_may_hold_the_tablet(world, coordinator):
    family = world["family"]
    relation = family_services.family_member_add(
        viewer=viewer_of(coordinator),
        family=family,
        given_name="Rosa",
        family_name="Lopez",
        category=RelationshipCategory.PARENT,
        is_legal_representative=True,
    )
    client = client_for(coordinator)
    assert "Rosa Lopez (her legal representative)" in text(client.get(reverse("consent:list", args=[family.pk])))
    response = start(client, family, reader=relation.person.pk)
    assert response.status_code == 302 and response.url == HOME
    html = text(client.get(reverse("parentmode:accounting")))
    assert "Rosa Lopez, legal representative of Maria Lopez" in html
    assert "Carl Jensen at Lakeview County Child Protective Services saw" in html


def test_only_her_or_a_recorded_legal_representative_may_hold_the_tablet(world, coordinator, caseworker):
    other = make_family(coordinator, given_name="Nina", family_name="Park")
    client = client_for(coordinator)
    response = start(client, world["family"], reader=other.parent.pk)
    assert response.status_code == 302 and response.url == reverse("families:detail", args=[world["family"].pk])
    assert mode_of(client) is None


def test_the_middleware_is_installed_before_the_site_wide_idle_sign_out():
    middleware = django_settings.MIDDLEWARE
    ours = f"{ParentModeMiddleware.__module__}.{ParentModeMiddleware.__name__}"
    assert middleware.index(ours) < middleware.index("kinfold.web.middleware.IdleTimeoutMiddleware")
    assert middleware.index(ours) > middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")


def test_a_team_member_no_consent_or_order_reaches_sees_nothing_of_hers(coordinator):
    """A court coordinator on her team, with no consent naming the court and no court order, sees nothing."""
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    judge = staff(court, Role.COURT_COORDINATOR, user__first_name="June", user__last_name="Hale")
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    family_services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=judge, role=Role.COURT_COORDINATOR
    )
    client = in_parent_mode(coordinator, family)
    html = text(client.get(reverse("parentmode:team")))
    june = re.search(r'<li class="kinfold-parent-team__member"[^>]*>(?:(?!</li>).)*June Hale.*?</li>', html)
    assert june is not None and "Cannot see any of your information now." in june.group(0)
