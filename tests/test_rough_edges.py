"""The rough edges a new user hits (issue 11, "Found by trying it as a new user would"): the error pages, an id
too large for the database, /api/ itself, the favicon, the server log on a refusal, `make run`'s port, and the
Organisations list's staff counts."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse

from kinfold import urls as site_urls
from kinfold.access.http import NO_ROLE
from kinfold.organizations.models import OrganizationType, Role
from kinfold.web import views as web_views
from tests.factories import OrganizationFactory, UserFactory, make_family, staff
from tests.support import client_for, text

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Larger than any 64-bit id (the example); and the first number past the largest one.
HUGE = 99999999999999999999
JUST_TOO_BIG = 2**63


def _fault(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a real fault in a view")


# The site's URLs plus one view that fails, for the tests marked ``@pytest.mark.urls(__name__)``.
urlpatterns = [path("fault/", _fault), *site_urls.urlpatterns]
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500


def without_csrf_tokens(body: str) -> str:
    """The page without its CSRF tokens (masked afresh for every response, in htmx's header and the log-out form)."""
    body = re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', body)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken" value=""', body)


def assert_accessible_page(page: str) -> None:
    """One h1, the skip link to the main landmark, and the header, main and footer landmarks of base.html."""
    assert len(re.findall(r"<h1[\s>]", page)) == 1
    assert '<a class="usa-skipnav" href="#main-content">' in page
    assert '<main id="main-content"' in page and "<header " in page and "<footer " in page
    assert re.search(r"<title>[^<]+ — Kinfold</title>", page)


# --- 1. Styled 403, 404 and 500 pages ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_page_says_what_she_may_not_do_and_whom_to_ask(coordinator, community_org):
    """A colleague of the coordinator opens the family (her organisation made it) but may not build its team."""
    family = make_family(coordinator)
    colleague = staff(community_org, Role.PEER_RECOVERY_COACH)
    response = client_for(colleague).get(reverse("families:team_add", args=[family.pk]))
    page = text(response)
    assert response.status_code == 403
    assert_accessible_page(page)
    assert "<h1>You cannot do this</h1>" in page
    assert "Only her designated coordinator adds members to her care team." in page
    assert "Nothing was changed." in page
    assert "ask the family's designated coordinator" in page and "privacy officer" in page
    assert f'<a class="usa-button" href="{reverse("families:caseload")}">Go to my caseload</a>' in page
    assert "Log out" in page  # the page keeps her navigation


@pytest.mark.django_db
def test_an_account_without_a_role_is_told_why_it_sees_no_family():
    admin = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin)
    response = client.get(reverse("families:caseload"))
    page = text(response)
    assert response.status_code == 403
    assert_accessible_page(page)
    assert NO_ROLE in page
    assert "ask your organisation's Kinfold administrator to give it one" in page
    assert "Go to my caseload" not in page  # it would only refuse her again


@pytest.mark.django_db
def test_a_family_she_may_not_open_answers_exactly_like_one_that_does_not_exist(coordinator, outsider):
    family = make_family(coordinator, given_name="Secret", family_name="Person")
    client = client_for(outsider)
    answers = [client.get(reverse("families:detail", args=[pk])) for pk in (family.pk, family.pk + 1000, HUGE)]
    assert [r.status_code for r in answers] == [404, 404, 404]
    bodies = {without_csrf_tokens(r.content.decode()) for r in answers}
    assert len(bodies) == 1, "the 404 must not tell a family she may not open from one that does not exist"
    page = text(answers[0])
    assert_accessible_page(page)
    assert "<h1>Page not found</h1>" in page
    assert "There is no page at this address that you can open." in page
    assert "Secret" not in page and "Person" not in page
    assert f'<a class="usa-button" href="{reverse("families:caseload")}">Go to my caseload</a>' in page


@pytest.mark.django_db
def test_a_missing_page_offers_a_signed_out_visitor_the_sign_in():
    response = Client().get("/no-such-page/")
    page = text(response)
    assert response.status_code == 404
    assert_accessible_page(page)
    assert "<h1>Page not found</h1>" in page
    assert f'<a class="usa-button" href="{reverse("login")}">Sign in</a>' in page


def test_the_server_error_page_needs_no_database_and_no_signed_in_user(django_db_blocker):
    request = RequestFactory().get("/families/")  # no session, no user
    with django_db_blocker.block():  # any query would raise here
        response = web_views.server_error(request)
    page = text(response)
    assert response.status_code == 500
    assert_accessible_page(page)
    assert "<h1>Something went wrong</h1>" in page
    assert "It is not something you did." in page
    assert "tell your organisation's Kinfold administrator what you were doing and when it happened" in page
    assert "Log out" not in page


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_fault_in_a_page_shows_the_styled_error_page(coordinator):
    client = client_for(coordinator)
    client.raise_request_exception = False
    response = client.get("/fault/")
    assert response.status_code == 500
    page = text(response)
    assert_accessible_page(page)
    assert "<h1>Something went wrong</h1>" in page
    assert "a real fault" not in page  # the exception is for the log, never the page


@pytest.mark.django_db
def test_a_form_sent_without_its_security_token_says_nothing_was_saved(coordinator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator.user)
    response = client.post(reverse("families:create"), {"given_name": "A", "family_name": "B"})
    page = text(response)
    assert response.status_code == 403
    assert_accessible_page(page)
    assert "<h1>This form could not be sent</h1>" in page
    assert "nothing was saved" in page and "Send the form again." in page


@pytest.mark.django_db
def test_the_api_answers_its_errors_in_json(coordinator):
    response = client_for(coordinator).get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not Found"}


# --- 2. An id too large for the database is a 404, never a 500 ------------------------------------------


def routes_with_an_id() -> list[tuple[str, list[str]]]:
    """Every page route with an ``<int:…>`` parameter (outside the admin): its pattern and parameter names."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            full = prefix + str(p.pattern)
            if full.startswith("admin/"):
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, full)
            elif isinstance(p, URLPattern) and "<int:" in full:
                found.append((full, re.findall(r"<int:(\w+)>", full)))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_family_route_and_the_organisation_page_have_an_id_to_check():
    patterns = [pattern for pattern, _ in routes_with_an_id()]
    assert "families/<int:family_id>/" in patterns
    assert "families/<int:family_id>/accounting/" in patterns
    assert "families/<int:family_id>/notes/new/" in patterns
    assert "organisations/<int:organization_id>/" in patterns


@pytest.mark.django_db
@pytest.mark.parametrize("too_big", [HUGE, JUST_TOO_BIG])
def test_an_id_too_large_for_the_database_is_not_found_on_every_route(coordinator, too_big):
    """Each id of each route in turn is too large (the others are real), for GET and for POST."""
    family = make_family(coordinator)
    client = client_for(coordinator)
    client.raise_request_exception = False
    failures = []
    for pattern, names in routes_with_an_id():
        for too_big_name in names:
            values = {name: (too_big if name == too_big_name else family.pk) for name in names}
            url = "/" + re.sub(r"<int:(\w+)>", lambda m, v=values: str(v[m.group(1)]), pattern)  # type: ignore[misc]
            for method in (client.get, client.post):
                response = method(url)
                if response.status_code != 404 or "<h1>Page not found</h1>" not in response.content.decode():
                    failures.append(f"{method.__name__.upper()} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_the_largest_possible_id_is_simply_not_found(coordinator):
    make_family(coordinator)
    response = client_for(coordinator).get(reverse("families:detail", args=[2**63 - 1]))
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["/api/families/{}", "/api/families/{}/export"])
def test_the_api_answers_an_id_too_large_exactly_like_a_family_she_may_not_see(coordinator, outsider, route):
    family = make_family(coordinator)
    client = client_for(outsider)
    client.raise_request_exception = False
    not_hers = client.get(route.format(family.pk))
    too_big = client.get(route.format(HUGE))
    assert not_hers.status_code == too_big.status_code == 404
    assert not_hers.headers["Content-Type"] == too_big.headers["Content-Type"]
    assert not_hers.content == too_big.content
    assert too_big.json() == {"detail": "Not Found"}
    # Her own coordinator gets the same answer for the huge id: it names no family at all.
    assert client_for(coordinator).get(route.format(HUGE)).json() == {"detail": "Not Found"}


# --- 3. /api/ leads somewhere useful ----------------------------------------------------------------------


@pytest.mark.django_db
def test_api_root_explains_the_api_and_links_docs_and_schema_that_work(coordinator):
    client = client_for(coordinator)
    response = client.get("/api/")
    page = text(response)
    assert response.status_code == 200
    assert_accessible_page(page)
    assert "<h1>The Kinfold API</h1>" in page
    assert "it shows only what your role and each parent's consents allow" in page
    assert "HTTP Basic" in page
    docs, schema = reverse("api:openapi-view"), reverse("api:openapi-json")
    assert f'href="{docs}"' in page and f'href="{schema}"' in page
    assert client.get(docs).status_code == 200
    assert "/api/families" in client.get(schema).json()["paths"]


@pytest.mark.django_db
def test_api_root_asks_a_signed_out_visitor_to_sign_in_first():
    page = text(Client().get("/api/"))
    assert f'href="{reverse("login")}?next=/api/docs">sign in</a> first' in page


@pytest.mark.django_db
def test_api_root_answers_a_program_in_json(coordinator):
    response = client_for(coordinator).get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {"docs": reverse("api:openapi-view"), "openapi": reverse("api:openapi-json")}


# --- 4. A favicon ---------------------------------------------------------------------------------------


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_every_page_links_the_vendored_favicon_and_it_is_served():
    page = Client().get(reverse("login")).content.decode()
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', page)
    assert icons == ["/static/kinfold/favicon.ico", "/static/kinfold/favicon.svg"]  # our host, never another
    client = Client()
    ico = client.get(icons[0])
    assert ico.status_code == 200 and body_of(ico).startswith(b"\x00\x00\x01\x00")  # an ICO file
    svg = client.get(icons[1])
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in body_of(svg)


@pytest.mark.django_db
def test_a_browser_asking_for_favicon_ico_gets_the_icon_not_a_404():
    response = Client().get("/favicon.ico", follow=True)
    assert response.redirect_chain == [("/static/kinfold/favicon.ico", 301)]
    assert response.status_code == 200 and body_of(response).startswith(b"\x00\x00\x01\x00")


# --- 5. No traceback in the server log for a routine denial ---------------------------------------------


def request_log(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.request"]


def as_logged(record: logging.LogRecord) -> str:
    return logging.Formatter().format(record)


@pytest.mark.django_db
def test_a_refusal_is_one_line_in_the_server_log(coordinator, community_org, caplog):
    family = make_family(coordinator)
    colleague = staff(community_org, Role.PEER_RECOVERY_COACH)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client_for(colleague).get(reverse("families:team_add", args=[family.pk])).status_code == 403
    [record] = request_log(caplog)
    assert as_logged(record) == f"Forbidden (Permission denied): {reverse('families:team_add', args=[family.pk])}"
    assert "Traceback" not in caplog.text


@pytest.mark.django_db
def test_a_family_the_door_keeps_from_her_is_one_line_in_the_server_log(coordinator, outsider, caplog):
    family = make_family(coordinator)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client_for(outsider).get(reverse("families:detail", args=[family.pk])).status_code == 404
        assert client_for(outsider).get(f"/api/families/{family.pk}").status_code == 404
    lines = [as_logged(r) for r in request_log(caplog)]
    assert lines == [f"Not Found: /families/{family.pk}/", f"Not Found: /api/families/{family.pk}"]
    assert "Traceback" not in caplog.text


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_real_server_error_keeps_its_traceback_in_the_log(caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/fault/").status_code == 500
    [record] = request_log(caplog)
    logged = as_logged(record)
    assert logged.startswith("Internal Server Error: /fault/")
    assert "Traceback (most recent call last)" in logged and "RuntimeError: a real fault in a view" in logged


# --- 6. make run takes a port -------------------------------------------------------------------------------


def make_run_command(**env: str) -> str:
    """The command ``make run`` would serve with (``make -n`` prints the recipes and runs none of them)."""
    environment = {k: v for k, v in os.environ.items() if k != "PORT"} | env
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    [serve] = [line for line in result.stdout.splitlines() if "runserver" in line]
    return serve


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_run_serves_on_the_port_she_gives_and_8000_otherwise():
    assert make_run_command(PORT="8100").endswith("kinfold runserver 127.0.0.1:8100")
    assert make_run_command().endswith("kinfold runserver 127.0.0.1:8000")


def test_the_readme_says_how_to_choose_the_port_and_that_uv_is_installed_for_you():
    readme = re.sub(r"\s+", " ", (PROJECT_DIR / "README.md").read_text(encoding="utf-8"))
    assert "PORT=8100 make run" in readme
    assert "is installed for you (with `pip`) if it is missing" in readme


# --- 7. The Organisations list counts each person once, as each organisation's page does -----------------


@pytest.mark.django_db
def test_organisations_list_counts_staff_and_embedded_people_as_the_organisations_page_lists_them():
    hospital = OrganizationFactory(name="Lakeview General Hospital", type=OrganizationType.HOSPITAL)
    elsewhere = OrganizationFactory(name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT)
    for _ in range(3):
        staff(hospital, Role.NURSE)
    for _ in range(2):
        staff(elsewhere, Role.PEER_RECOVERY_COACH, placed_at=hospital)
    staff(hospital, Role.NURSE, is_active=False)  # no longer works there: counted nowhere
    lead = staff(None, Role.PROGRAMME_LEAD)
    client = client_for(lead)

    listing = text(client.get(reverse("organizations:list")))

    def counts(name: str) -> tuple[int, int]:
        row = re.search(
            rf">{name}</a>.*?<td data-label=\"Staff\">(\d+)</td>"
            rf"<td data-label=\"Embedded here from elsewhere\">(\d+)</td>",
            listing,
        )
        assert row, f"no row for {name}"
        return int(row.group(1)), int(row.group(2))

    assert counts("Lakeview General Hospital") == (3, 2)  # was (6, 6): each staff row once per placed person
    assert counts("Hope Recovery Center") == (2, 0)

    detail = text(client.get(reverse("organizations:detail", args=[hospital.pk])))
    employed, _, embedded = detail.partition("Embedded or co-located here from other organisations")
    row = '<th scope="row" data-label="Name">'
    assert (employed.count(row), embedded.count(row)) == counts("Lakeview General Hospital")
