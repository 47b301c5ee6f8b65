"""The consent pages: the family's consents, the template library, capture with the parent (English and
Spanish, terms then read-and-sign), a consent's versions, a new version, and revocation."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kinfold import clock
from kinfold.audit.models import AuditEvent
from kinfold.consent import services as consent_services
from kinfold.consent.library import LIBRARY_PATH, ConsentLibraryError, library, load_library
from kinfold.consent.models import ConsentDirective, ConsentVersion, Disclosure
from kinfold.families import services as family_services
from kinfold.notes.services import note_add
from kinfold.organizations.models import OrganizationType, Role
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of
from tests.support import text

pytestmark = pytest.mark.django_db

PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def client_for():
    def make(membership: Any) -> Client:
        client = Client()
        client.force_login(membership.user)
        return client

    return make


@pytest.fixture
def world(coordinator, caseworker, treatment_org, cps_org):
    """Maria's team: Ana (coordinator), Carl (CPS caseworker) and Tess (counsellor at a Part 2 programme).
    A team-wide consent lets the team open her family; Tess wrote an attendance note and a therapy note."""
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Moreno")
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    for member, role in ((caseworker, Role.CPS_CASEWORKER), (counsellor, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator)
    attendance = note_add(
        viewer=viewer_of(counsellor),
        family=family,
        kind="treatment_attendance",
        summary="Came to all three group sessions this week",
    )
    therapy = note_add(
        viewer=viewer_of(counsellor), family=family, kind="therapy_note", summary="Talked about stress at home"
    )
    return {
        "family": family,
        "counsellor": counsellor,
        "attendance": attendance,
        "therapy": therapy,
        "treatment_org": treatment_org,
        "cps_org": cps_org,
    }


def is_checked(html: str, name: str, value: object) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}" value="{value}"[^>]*>', html)
    assert tag is not None, f"no {name}={value} choice on the page"
    return " checked" in tag.group(0)


def new_url(family: Any, **query: str) -> str:
    url = reverse("consent:new", args=[family.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def cps_post(world: dict[str, Any], *, action: str = "sign", lang: str = "es", **overrides: Any) -> dict[str, Any]:
    """What the CPS status-update form sends once she has read and signed it."""
    data: dict[str, Any] = {
        "template_key": "cps_status",
        "title": "CPS status updates",
        "language": lang,
        "discloser_orgs": [world["treatment_org"].pk],
        "recipient_orgs": [world["cps_org"].pk],
        "purposes": ["child_welfare_case"],
        "kinds": ["treatment_attendance", "medication"],
        "ends": "date",
        "expires_on": (clock.today() + timedelta(days=365)).isoformat(),
        "signer_kind": "parent",
        "signer_name": "Maria Lopez",
        "signature_method": "typed",
        "signature_typed": "Maria Lopez",
        "action": action,
    }
    data.update(overrides)
    return data


def directives_for(family: Any) -> Any:
    return ConsentDirective.objects.filter(family=family)


# --- the template library ---------------------------------------------------------------------------


def test_template_library_loads_with_english_and_spanish_for_each_grant():
    lib = library()
    keys = {t.key for t in lib.templates}
    assert {"team_wide", "cps_status", "court_compliance", "ob_plan_of_care"} <= keys
    for template in lib.templates:
        assert template.title.en and template.title.es and template.description.es
    court = lib.get("court_compliance")
    assert court is not None and court.purposes == ["court_proceeding"]
    assert court.recipients.team_org_types == ["court"] and not court.recipients.classes
    cps = lib.get("cps_status")
    assert cps is not None and cps.kinds == ["treatment_attendance", "medication"]
    assert cps.purposes == ["child_welfare_case"]


def test_template_library_errors_name_the_file_line_and_field(tmp_path: Path):
    bad = tmp_path / "consent_templates.yaml"
    source = LIBRARY_PATH.read_text()
    bad.write_text(source.replace("purposes: [child_welfare_case]", "purposes: [child_welfare_case, court_proceeding]"))
    with pytest.raises(ConsentLibraryError) as caught:
        load_library(bad)
    message = str(caught.value)
    assert str(bad) in message
    assert "templates.1.purposes" in message
    assert "court_proceeding must be the only purpose" in message
    line = next(i for i, row in enumerate(bad.read_text().splitlines(), 1) if "court_proceeding]" in row)
    assert f"line {line}," in message


def test_court_template_must_name_the_court_not_a_group(tmp_path: Path):
    bad = tmp_path / "consent_templates.yaml"
    source = LIBRARY_PATH.read_text()
    bad.write_text(source.replace("team_org_types: [court]", "classes: [courts]"))
    with pytest.raises(ConsentLibraryError, match="must name the court"):
        load_library(bad)


def test_library_page_offers_each_template_in_english_and_spanish(world, coordinator, client_for):
    response = client_for(coordinator).get(new_url(world["family"]))
    assert response.status_code == 200
    page = text(response)
    for title in ("Team-wide coordination", "CPS status updates", "Court compliance reports", "OB and birthing"):
        assert title in page
    assert "?template=cps_status&amp;lang=es" in page
    assert "Usar en español" in page
    # No court is on Maria's team, so the court template says what is missing.
    assert re.search(r'data-template="court_compliance".*?Not on her team yet', page)


# --- capture, in Spanish ----------------------------------------------------------------------------


def test_record_cps_consent_from_template_in_spanish(world, coordinator, client_for):
    family = world["family"]
    client = client_for(coordinator)
    url = new_url(family, template="cps_status", lang="es")

    # Step 1: the terms, fully in Spanish, prefilled from the template and still editable.
    page = client.get(url)
    assert page.status_code == 200
    html = text(page)
    assert '<html lang="es">' in html
    assert '<div lang="es" class="kinfold-consent">' in html
    assert "¿Quién puede compartir su información?" in html
    assert "¿Quién puede recibir su información?" in html
    assert "Tratamiento por uso de sustancias" in html
    assert "Siguiente: leer y firmar" in html
    assert is_checked(html, "discloser_orgs", world["treatment_org"].pk)
    assert is_checked(html, "recipient_orgs", world["cps_org"].pk)
    assert not is_checked(html, "recipient_orgs", world["treatment_org"].pk)
    assert is_checked(html, "purposes", "child_welfare_case")
    assert is_checked(html, "kinds", "treatment_attendance") and is_checked(html, "kinds", "medication")
    assert not is_checked(html, "kinds", "toxicology") and not is_checked(html, "categories", "sud_treatment")
    assert not is_checked(html, "kinds", "therapy_note")

    # Step 2: the summary sentence and the right to revoke, in Spanish, before she signs.
    terms_only = cps_post(world, action="preview")
    for name in ("signer_kind", "signer_name", "signature_method", "signature_typed"):
        terms_only.pop(name)  # the terms step does not ask for the signature
    preview = client.post(url, terms_only)
    assert preview.status_code == 200
    html = text(preview)
    assert is_checked(html, "signature_method", "typed") and is_checked(html, "signer_kind", "parent")
    end = clock.today() + timedelta(days=365)
    months = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre"]
    months += ["noviembre", "diciembre"]
    expected = (
        "Hope Recovery Center puede compartir si usted va al tratamiento y su medicamento para el trastorno por "
        "uso de opioides (cuál y la dosis) con Lakeview County Child Protective Services, para su caso de bienestar "
        f"infantil, hasta el {end.day} de {months[end.month - 1]} de {end.year}."
    )
    assert expected in html
    assert "Puede cancelar este permiso en cualquier momento" in html
    assert "Léalo y firme" in html
    assert "Escriba su nombre completo para firmar" in html
    assert not directives_for(family).filter(title="CPS status updates").exists()  # nothing saved before signing

    # She signs (typed): the consent is recorded in Spanish and the summary is Spanish.
    signed = client.post(url, cps_post(world))
    assert signed.status_code == 302
    directive = directives_for(family).get(title="CPS status updates")
    assert signed["Location"] == reverse("consent:detail", args=[family.pk, directive.pk])
    version = directive.versions.get()
    assert version.language == "es"
    assert version.template_key == "cps_status"
    assert version.signature_typed == "Maria Lopez"
    assert version.kinds == ["medication", "treatment_attendance"] and version.categories == ["sud_treatment"]
    assert version.purposes == ["child_welfare_case"]
    assert list(version.recipient_orgs.all()) == [world["cps_org"]]
    assert version.right_to_revoke.startswith("Puede cancelar este permiso")
    detail = client.get(signed["Location"])
    assert expected in text(detail)
    assert "El permiso está firmado y guardado" in text(detail)
    assert AuditEvent.objects.filter(
        action="create", record_type="ConsentDirective", record_id=str(directive.pk), outcome="success"
    ).exists()


def test_a_drawn_signature_is_kept_as_a_png(world, coordinator, client_for):
    family = world["family"]
    response = client_for(coordinator).post(
        new_url(family, template="cps_status", lang="en"),
        cps_post(world, lang="en", signature_method="drawn", signature_typed="", signature_drawn=PNG),
    )
    assert response.status_code == 302
    version = ConsentVersion.objects.get(directive__family=family, template_key="cps_status")
    assert version.signature_method == "drawn" and version.signature_drawn == PNG
    detail = client_for(coordinator).get(response["Location"])
    assert f'src="{PNG}"' in detail.content.decode()
    assert 'alt="Signature drawn by Maria Lopez"' in detail.content.decode()


SIGNATURE_ERRORS = [
    (
        "no-signature",
        {"signature_typed": ""},
        "signature_typed",
        "Escriba el nombre como firma, o elija dibujar la firma.",
    ),
    (
        "someone-else-signs",
        {"signer_name": "Somebody Else"},
        "signer_name",
        "Escriba el nombre completo de quien firma, como aparece en el registro de su familia.",
    ),
    (
        "drawn-but-empty",
        {"signature_method": "drawn", "signature_typed": ""},
        "signature_method",
        "Dibuje la firma en el cuadro, o elija escribir su nombre.",
    ),
]
TERM_ERRORS = [
    (
        "court-bundled",
        {"purposes": ["court_proceeding", "child_welfare_case"]},
        "purposes",
        "Un permiso para un caso en la corte debe ir solo (42 CFR 2.31(d)).",
    ),
    (
        "expiry-in-the-past",
        {"expires_on": (clock.today() - timedelta(days=1)).isoformat()},
        "expires_on",
        "La fecha de fin tiene que ser en el futuro.",
    ),
    ("no-category", {"categories": [], "kinds": []}, "categories", "Elija qué tipo de información se puede compartir."),
]
# Signatures are checked when she signs; the terms both on the preview and again when she signs.
ERROR_CASES = [pytest.param("sign", *case[1:], id=f"sign-{case[0]}") for case in SIGNATURE_ERRORS + TERM_ERRORS] + [
    pytest.param("preview", *case[1:], id=f"preview-{case[0]}") for case in TERM_ERRORS
]


@pytest.mark.parametrize(("action", "overrides", "field", "message_es"), ERROR_CASES)
def test_validation_errors_show_next_to_the_field_in_plain_words_and_save_nothing(
    world, coordinator, client_for, action, overrides, field, message_es
):
    family = world["family"]
    creates = AuditEvent.objects.filter(action="create", record_type="ConsentDirective")
    before = (ConsentDirective.objects.count(), ConsentVersion.objects.count(), creates.count())
    response = client_for(coordinator).post(
        new_url(family, template="cps_status", lang="es"), cps_post(world, action=action, **overrides)
    )
    assert response.status_code == 400
    html = text(response)
    error = re.search(rf'<span class="usa-error-message" id="id_{field}_error" role="alert">([^<]*)</span>', html)
    assert error is not None, f"no error shown next to {field}"
    assert message_es in error.group(1)
    assert "Por favor corrija 1 cosa abajo." in html
    assert 'aria-describedby="' in html and f"id_{field}_error" in html
    assert (ConsentDirective.objects.count(), ConsentVersion.objects.count(), creates.count()) == before


def test_court_consent_must_name_the_court(world, coordinator, client_for):
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    family = world["family"]
    response = client_for(coordinator).post(
        new_url(family, template="court_compliance", lang="en"),
        cps_post(
            world,
            lang="en",
            template_key="court_compliance",
            recipient_orgs=[],
            recipient_classes=["courts"],
            purposes=["court_proceeding"],
        ),
    )
    assert response.status_code == 400
    assert "A consent for a court case must name the court." in text(response)
    assert not directives_for(family).filter(title="CPS status updates").exists()
    assert court.pk  # a court exists in the region, but a group of courts is not enough


# --- versions ---------------------------------------------------------------------------------------


def record_cps_consent(world: dict[str, Any], by: Any, language: str = "en") -> ConsentDirective:
    return consent_services.consent_record(
        viewer=viewer_of(by),
        family=world["family"],
        title="CPS status updates",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[world["treatment_org"]],
            recipient_orgs=[world["cps_org"]],
            purposes=["child_welfare_case"],
            categories=["sud_treatment"],
            expires_at=clock.now() + timedelta(days=200),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
            language=language,
            template_key="cps_status",
        ),
    )


def test_new_version_is_signed_again_and_keeps_the_old_version_intact(world, coordinator, client_for):
    family = world["family"]
    directive = record_cps_consent(world, coordinator)
    v1 = directive.versions.get()
    v1_before = ConsentVersion.objects.filter(pk=v1.pk).values().get()
    client = client_for(coordinator)
    url = reverse("consent:new_version", args=[family.pk, directive.pk])

    page = client.get(url)
    assert page.status_code == 200
    html = text(page)
    assert "We started from:</strong> CPS status updates (version 1)" in html
    # Version 1 named the whole category (before kinds existed, or "All of it"): it lists its kinds one by one.
    assert is_checked(html, "kinds", "toxicology") and not is_checked(html, "kinds", "counselling_note")
    assert is_checked(html, "recipient_orgs", world["cps_org"].pk)

    # A typed signature is her own name, as her family's record has it (accents, case and spacing aside).
    initials = client.post(url, cps_post(world, lang="en", categories=["general_health"], signature_typed="M. Lopez"))
    assert initials.status_code == 400
    assert "A typed signature is the full name of the person signing" in text(initials)
    changed = cps_post(world, lang="en", categories=["general_health"], signature_typed="  maría   LÓPEZ ")
    response = client.post(url, changed)
    assert response.status_code == 302
    versions = list(directive.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].categories == ["general_health", "sud_treatment"]
    assert versions[1].kinds == [
        "care_pathway",
        "medication",
        "plan_of_safe_care",
        "pregnancy",
        "prenatal_visit",
        "substance_use_screen",
        "treatment_attendance",
    ]
    assert versions[1].signature_typed == "maría   LÓPEZ"
    assert versions[1].signer_person_id == family.parent_id and versions[1].signer_name == "Maria Lopez"
    assert ConsentVersion.objects.filter(pk=v1.pk).values().get() == v1_before  # never an edit
    assert directives_for(family).filter(title="CPS status updates").count() == 1

    detail = text(client.get(reverse("consent:detail", args=[family.pk, directive.pk])))
    assert "Version 2" in detail and "Version 1" in detail
    assert "until version 2 replaced it on" in detail
    assert "2 versions" in detail
    assert "In force (version 2)" in detail  # the status the policy decides with: version 2 took effect on signing


# --- revocation -------------------------------------------------------------------------------------


def test_revoke_confirms_then_the_caseworker_no_longer_sees_attendance(world, coordinator, caseworker, client_for):
    family = world["family"]
    directive = record_cps_consent(world, coordinator, language="es")
    carl = client_for(caseworker)
    family_url = reverse("families:detail", args=[family.pk])

    before = text(carl.get(family_url))
    assert "Came to all three group sessions this week" in before
    assert "Talked about stress at home" not in before  # therapy notes are not covered
    assert 'data-testid="redisclosure-notice"' in before

    ana = client_for(coordinator)
    url = reverse("consent:revoke", args=[family.pk, directive.pk])
    form = ana.get(url)
    assert form.status_code == 200
    assert "Record that she takes back this consent" in text(form)

    # Nothing chosen: plain words, nothing revoked.
    empty = ana.post(url, {"action": "confirm", "received_by": ""})
    assert empty.status_code == 400
    assert "Say how she took it back: in writing, or by telling a staff member." in text(empty)

    confirm = ana.post(
        url, {"action": "confirm", "method": "spoken", "received_by": coordinator.pk, "note": "She called today."}
    )
    assert confirm.status_code == 200
    html = text(confirm)
    assert "This takes effect as soon as you confirm" in html
    assert "It is not retroactive: what was shared before stays shared" in html
    directive.refresh_from_db()
    assert directive.revoked_at is None  # only the confirmation revokes

    done = ana.post(
        url, {"action": "revoke", "method": "spoken", "received_by": coordinator.pk, "note": "She called today."}
    )
    assert done.status_code == 302
    directive.refresh_from_db()
    assert directive.revoked_at is not None
    assert directive.revocation_method == "spoken"
    assert directive.revocation_received_by_id == coordinator.pk
    assert directive.revocation_note == "She called today."
    page = text(ana.get(done["Location"]))
    assert "It takes effect now" in page and "It is not retroactive" in page
    assert "She took this consent back on" in page

    after = text(carl.get(family_url))
    assert "Came to all three group sessions this week" not in after
    # What he saw before stays in her accounting, marked as before the revocation.
    disclosed = Disclosure.objects.filter(family=family, recipient_user=caseworker.user, categories=["sud_treatment"])
    assert disclosed.count() == 1
    # The entry is seen by staff who may read every record it names: Tess, whose programme wrote the note.
    # Ana, who may not read the attendance note, sees the revocation she recorded but not that entry.
    accounting_url = reverse("consent:accounting", args=[family.pk])
    entry = (
        "Carl Jensen at Lakeview County Child Protective Services saw whether you come to treatment from Hope "
        "Recovery Center"
    )
    as_tess = text(client_for(world["counsellor"]).get(accounting_url))
    assert entry in as_tess
    assert "This was before you took that consent back" in as_tess
    assert "You took back (revoked) “CPS status updates” (spoken to a staff member)" in as_tess
    accounting = text(ana.get(accounting_url))
    assert "You took back (revoked) “CPS status updates” (spoken to a staff member)" in accounting
    assert entry not in accounting and "This was before you took that consent back" not in accounting

    # A revoked consent cannot be revoked again or changed: the pages say so and go back to it.
    again = ana.get(url)
    assert again.status_code == 302
    assert ana.get(reverse("consent:new_version", args=[family.pk, directive.pk])).status_code == 302


def test_the_caseworker_the_consent_names_sees_it_and_records_her_spoken_revocation(
    world, coordinator, caseworker, client_for
):
    """Rule C: the CPS consent names Carl's organisation, so he sees it and, like anyone who can see it,
    records that she took it back when she tells him."""
    family = world["family"]
    directive = record_cps_consent(world, coordinator)
    carl = client_for(caseworker)
    detail = carl.get(reverse("consent:detail", args=[family.pk, directive.pk]))
    assert detail.status_code == 200
    assert "Hope Recovery Center may share which treatment programme you are in" in text(detail)
    url = reverse("consent:revoke", args=[family.pk, directive.pk])
    assert carl.get(url).status_code == 200
    done = carl.post(url, {"action": "revoke", "method": "spoken", "received_by": caseworker.pk, "note": ""})
    assert done.status_code == 302
    directive.refresh_from_db()
    assert directive.revoked_at is not None and directive.revocation_received_by_id == caseworker.pk
    assert AuditEvent.objects.filter(
        actor_username=caseworker.user.username,
        action="update",
        record_type="ConsentDirective",
        record_id=str(directive.pk),
        outcome="success",
    ).exists()


def test_a_part2_consent_shown_outside_the_organisation_that_recorded_it_carries_the_notice(
    world, coordinator, caseworker, client_for
):
    """Obligations: every Part 2 record shown to anyone outside its creating organisation, under any rule,
    carries the 42 CFR 2.32 notice; other records do not. The CPS consent names her treatment programme (an
    SUD-treatment record) and Bridges recorded it: Carl at CPS reads it with the notice, Ana without."""
    family = world["family"]
    directive = record_cps_consent(world, coordinator)
    notice = 'data-testid="redisclosure-notice"'
    urls = [reverse("consent:detail", args=[family.pk, directive.pk]), reverse("consent:list", args=[family.pk])]
    for url in urls:
        assert notice not in text(client_for(coordinator).get(url)), url
        as_carl = client_for(caseworker).get(url)
        assert as_carl.status_code == 200
        assert "Hope Recovery Center may share which treatment programme you are in" in text(as_carl)
        assert notice in text(as_carl), url


# --- the family page's section ----------------------------------------------------------------------


def test_family_page_section_lists_consents_with_summary_status_and_links(world, coordinator, client_for):
    family = world["family"]
    directive = record_cps_consent(world, coordinator)
    client = client_for(coordinator)
    page = text(client.get(reverse("families:detail", args=[family.pk])))
    assert 'data-testid="consent-section"' in page
    # The family page shows each consent in plain words itself (no second request, no JavaScript).
    assert "Hope Recovery Center may share which treatment programme you are in" in page
    assert "In force (version 1)" in page and "Version 1, signed" in page
    for name in ("detail", "new_version", "revoke"):
        assert reverse(f"consent:{name}", args=[family.pk, directive.pk]) in page

    fragment = client.get(reverse("consent:list", args=[family.pk]), HTTP_HX_REQUEST="true")
    html = text(fragment)
    assert "<html" not in html
    assert "Hope Recovery Center may share which treatment programme you are in" in html
    assert "Lakeview County Child Protective Services, for your child welfare case" in html
    assert "In force (version 1)" in html
    assert "Version 1, signed" in html
    for name in ("detail", "new_version", "revoke"):
        assert reverse(f"consent:{name}", args=[family.pk, directive.pk]) in html

    consent_services.consent_revoke(viewer=viewer_of(coordinator), directive=directive, method="written")
    html = text(client.get(reverse("consent:list", args=[family.pk]), HTTP_HX_REQUEST="true"))
    assert f"Revoked on {clock.today().day} " in html
    assert "Not retroactive: what was shared before stays shared." in html
    assert reverse("consent:revoke", args=[family.pk, directive.pk]) not in html


def test_empty_family_offers_to_record_a_consent(coordinator, client_for):
    family = make_family(coordinator, given_name="Jasmine", family_name="Okafor")
    page = text(client_for(coordinator).get(reverse("families:detail", args=[family.pk])))
    assert 'data-testid="consents-empty"' in page
    assert f'href="{reverse("consent:new", args=[family.pk])}">Record a consent with her</a>' in page


def test_consent_detail_read_is_audited(world, coordinator, client_for):
    directive = record_cps_consent(world, coordinator)
    client_for(coordinator).get(reverse("consent:detail", args=[world["family"].pk, directive.pk]))
    assert AuditEvent.objects.filter(
        action="view",
        record_type="ConsentDirective",
        record_id=str(directive.pk),
        actor_username=coordinator.user.username,
        outcome="success",
    ).exists()


# --- who may reach the pages ------------------------------------------------------------------------


def consent_urls(family: Any, directive: Any) -> list[str]:
    return [
        reverse("consent:list", args=[family.pk]),
        reverse("consent:new", args=[family.pk]),
        new_url(family, template="cps_status", lang="es"),
        reverse("consent:detail", args=[family.pk, directive.pk]),
        reverse("consent:new_version", args=[family.pk, directive.pk]),
        reverse("consent:revoke", args=[family.pk, directive.pk]),
    ]


def test_outsider_cannot_reach_any_consent_page(world, coordinator, outsider, client_for):
    family = world["family"]
    directive = record_cps_consent(world, coordinator)
    client = client_for(outsider)
    for url in consent_urls(family, directive):
        for response in (client.get(url), client.post(url, cps_post(world, action="sign"))):
            assert response.status_code == 404, url
            assert "Lopez" not in response.content.decode()
            assert "Hope Recovery" not in response.content.decode()
    directive.refresh_from_db()
    assert directive.revoked_at is None
    assert directive.versions.count() == 1
    assert directives_for(family).count() == 2  # the team-wide consent and this one: nothing added
    denied = AuditEvent.objects.filter(actor_username=outsider.user.username, outcome="denied", family_id=family.pk)
    assert denied.count() >= 12


def test_a_colleague_who_may_open_the_family_sees_only_consents_naming_her_organisation_or_recorded_by_her(
    world, coordinator, community_org, client_for
):
    """Rule C: Bea works with Ana at Bridges but is not on Maria's team. She may open the family (her
    organisation's contact sheet), so the consent pages open for her, never with a 403: she sees the team-wide
    consent (it names Maria's team, which Bridges is on), not the CPS consent between Hope and CPS — that one
    is not found for her, audited, and she cannot revoke it. She may record a consent, and sees what she recorded."""
    colleague = staff(community_org, Role.CARE_COORDINATOR, user__first_name="Bea", user__last_name="Colleague")
    directive = record_cps_consent(world, coordinator)
    team_wide = directives_for(world["family"]).get(title="Team-wide coordination")
    client = client_for(colleague)
    family = world["family"]
    cps_summary = "Hope Recovery Center may share"

    page = client.get(reverse("families:detail", args=[family.pk]))
    assert page.status_code == 200  # her organisation's family
    section = text(page).split('data-testid="consent-section"', 1)[1]
    assert reverse("consent:detail", args=[family.pk, team_wide.pk]) in section
    assert reverse("consent:detail", args=[family.pk, directive.pk]) not in section

    listed = client.get(reverse("consent:list", args=[family.pk]), HTTP_HX_REQUEST="true")
    assert listed.status_code == 200
    assert f'data-consent-id="{team_wide.pk}"' in text(listed)
    assert f'data-consent-id="{directive.pk}"' not in text(listed) and cps_summary not in text(listed)
    assert client.get(reverse("consent:detail", args=[family.pk, team_wide.pk])).status_code == 200
    for url in (reverse("consent:new", args=[family.pk]), new_url(family, template="cps_status", lang="es")):
        assert client.get(url).status_code == 200, url

    hidden = consent_urls(family, directive)[3:]  # its detail, new-version and revoke pages
    for url in hidden:
        response = client.get(url)
        assert response.status_code == 404, url
        assert cps_summary not in text(response)
    assert (
        client.post(reverse("consent:revoke", args=[family.pk, directive.pk]), {"action": "revoke"}).status_code == 404
    )
    denied = AuditEvent.objects.filter(
        actor_username=colleague.user.username,
        outcome="denied",
        record_type="ConsentDirective",
        record_id=str(directive.pk),
    )
    assert denied.count() == len(hidden) + 1
    directive.refresh_from_db()
    assert directive.revoked_at is None

    # Anyone who may open the family may record a consent with her; whoever recorded it sees it.
    recorded = client.post(new_url(family, template="cps_status", lang="en"), cps_post(world, lang="en"))
    assert recorded.status_code == 302
    hers = directives_for(family).filter(created_by=colleague.user).get()
    assert recorded["Location"] == reverse("consent:detail", args=[family.pk, hers.pk])
    assert cps_summary in text(client.get(recorded["Location"]))


def test_the_timeline_line_for_a_consent_is_as_private_as_the_consent(world, coordinator, community_org, client_for):
    """Rule C ("Who sees consents"): a consent's versions are seen only by the parties it names and whoever
    recorded it. Its timeline line quotes the version's terms, so a colleague of the recorder who may open
    the family, but whom the consent does not name, must not read those terms on the family page either."""
    colleague = staff(community_org, Role.CARE_COORDINATOR, user__first_name="Bea", user__last_name="Colleague")
    directive = record_cps_consent(world, coordinator)
    family_url = reverse("families:detail", args=[world["family"].pk])
    terms_quoted = "Hope Recovery Center may share which treatment programme you are in"
    assert terms_quoted in text(client_for(coordinator).get(family_url)), "she recorded it: she sees it"
    page = client_for(colleague).get(family_url)
    assert page.status_code == 200
    assert reverse("consent:detail", args=[world["family"].pk, directive.pk]) not in text(page)
    assert terms_quoted not in text(page)


def test_a_consent_the_viewer_may_not_see_is_not_found(world, coordinator, client_for):
    """Another family's consent id under this family's address: 404, audited."""
    other = make_family(coordinator, given_name="Tanya", family_name="Whitehorse")
    theirs = consent_team_wide(other, by=coordinator)
    response = client_for(coordinator).get(reverse("consent:detail", args=[world["family"].pk, theirs.pk]))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        record_type="ConsentDirective", record_id=str(theirs.pk), outcome="denied", family_id=world["family"].pk
    ).exists()


def test_blank_consent_in_english_with_groups_and_an_end_event(world, coordinator, client_for):
    family = world["family"]
    client = client_for(coordinator)
    url = new_url(family, template="blank", lang="en")
    page = text(client.get(url))
    assert "Who may share your information?" in page and '<html lang="en">' in page
    assert not is_checked(page, "categories", "contact") and not is_checked(page, "kinds", "identity")
    data = cps_post(
        world,
        lang="en",
        template_key="",
        title="",
        discloser_orgs=[],
        discloser_classes=["part2_programs"],
        recipient_orgs=[],
        recipient_people=[world["counsellor"].pk],
        purposes=["treatment"],
        categories=["mental_health"],
        kinds=[],
        ends="event",
        expires_on="",
        expiry_event="my baby is one year old",
    )
    preview = text(client.post(url, {**data, "action": "preview"}))
    assert (
        "My substance use treatment programmes may share your mental health care (like therapy notes), your "
        "answers to questionnaires about your mood and worries and your answers about hard things that happened "
        "in your childhood with Tess Moreno, for your treatment, until my baby is one year old." in preview
    )
    assert client.post(url, data).status_code == 302
    version = ConsentVersion.objects.get(directive__family=family, directive__title="Consent")
    assert version.expires_at is None and version.expiry_event == "my baby is one year old"
    assert list(version.recipient_people.all()) == [world["counsellor"]]


def test_recording_the_end_event_ends_the_consent_after_a_confirm(world, coordinator, caseworker, client_for):
    """A consent that ends "when my CPS case closes": the coordinator ticks that it happened, the consent
    ends at once, and the caseworker's next page load no longer shows the attendance note."""
    directive = consent_services.consent_record(
        viewer=viewer_of(coordinator),
        family=world["family"],
        title="CPS status updates",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[world["treatment_org"]],
            recipient_orgs=[world["cps_org"]],
            purposes=["child_welfare_case"],
            categories=["sud_treatment"],
            expiry_event="my CPS case closes",
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    family_page = reverse("families:detail", args=[world["family"].pk])
    carl = client_for(caseworker)
    assert "Came to all three group sessions" in text(carl.get(family_page))

    ana = client_for(coordinator)
    detail = reverse("consent:detail", args=[world["family"].pk, directive.pk])
    assert "Yes, “my CPS case closes” has happened" in text(ana.get(detail))
    ended = reverse("consent:ended", args=[world["family"].pk, directive.pk])

    unconfirmed = ana.post(ended, {}, follow=True)
    assert "Tick the box to confirm that “my CPS case closes” has happened." in text(unconfirmed)
    assert directive.versions.get().expiry_event_recorded_at is None

    done = text(ana.post(ended, {"confirm": "on"}, follow=True))
    assert "Recorded that “my CPS case closes” happened. The consent has ended" in done
    assert "Yes, “my CPS case closes” has happened" not in done
    assert directive.versions.get().expiry_event_recorded_at is not None
    assert f"Ended on {clock.today().day} " in done and ": my CPS case closes" in done
    assert "In force" not in done
    assert "Came to all three group sessions" not in text(carl.get(family_page))
