"""Accounts fit for SUD records (issue 16): the second sign-in step, password change and reset, staff who join
by invitation, and staff who change role or leave with their families handed over first.

Email goes through a real SMTP server on loopback (``smtp_server``); codes come from django-otp's own TOTP."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kinfold.audit.models import AuditEvent
from kinfold.audit.services import Refused
from kinfold.families.models import CareTeamMember, FamilyActivity
from kinfold.families.services import care_team_member_add, team_place_hand_over
from kinfold.organizations.models import Membership, OrganizationType, Role
from kinfold.staff import mfa, services
from kinfold.staff.models import Invitation
from tests.factories import OrganizationFactory, make_family, staff, viewer_of
from tests.support import client_for, text

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple-7"
JOIN_LINK = re.compile(r"https?://[^\s/]+(/accounts/join/[A-Za-z0-9_-]+/)")
RESET_LINK = re.compile(r"https?://[^\s/]+(/accounts/password/reset/[^\s]+/)")


@pytest.fixture
def mfa_required(settings: Any) -> None:
    settings.KINFOLD_REQUIRE_MFA = True
    # django-otp also slows guesses on a device (1 s after a wrong code, doubling): off here so a test may type
    # a wrong code and then the right one at once; ``test_a_device_slows_repeated_guesses`` keeps it on.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def with_password(membership: Membership) -> Membership:
    membership.user.set_password(PASSWORD)
    membership.user.save()
    return membership


def enrolled(membership: Membership) -> TOTPDevice:
    return TOTPDevice.objects.create(user=membership.user, name=mfa.TOTP_NAME, confirmed=True)


def code(device: TOTPDevice, *, offset: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, t0=device.t0 - offset * device.step):06d}"


def sign_in(client: Client, membership: Membership, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": membership.user.username, "password": password})


@pytest.fixture
def lead(community_org) -> Membership:
    return with_password(staff(community_org, Role.PROGRAMME_LEAD, user__first_name="Lena", user__last_name="Lead"))


def lead_client(lead: Membership) -> Client:
    """The lead, signed in with both factors (MFA off unless the test turns it on)."""
    return client_for(lead)


# --- The second step ---------------------------------------------------------------------------------------


def test_first_sign_in_requires_enrolment_and_a_right_code(mfa_required: None, coordinator: Membership) -> None:
    with_password(coordinator)
    client = Client()
    assert sign_in(client, coordinator).status_code == 302
    # Every page leads to the set-up step; the API answers 401; the menu is not shown.
    response = client.get("/families/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/second-factor/set-up/")
    assert client.get("/api/families").status_code == 401
    page = client.get("/accounts/second-factor/set-up/")
    assert "totp-secret" in page.content.decode() and "Primary navigation" not in page.content.decode()
    device = TOTPDevice.objects.get(user=coordinator.user, confirmed=False)
    assert "<svg" in page.content.decode()  # the QR code, drawn here (no image service sees the key)

    wrong = client.post("/accounts/second-factor/set-up/", {"code": "000000" if code(device) != "000000" else "111111"})
    assert "That code did not work" in text(wrong)
    assert client.get("/families/").status_code == 302

    done = client.post("/accounts/second-factor/set-up/", {"code": code(device), "next": "/families/"})
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4})</code>", done.content.decode())
    assert len(codes) == mfa.RECOVERY_CODE_COUNT == len(set(codes))
    assert client.get("/families/").status_code == 200
    assert AuditEvent.objects.filter(actor_id=coordinator.user_id, detail__event="mfa_enrolled").exists()


def test_an_enrolled_account_gives_its_code_at_every_sign_in(mfa_required: None, coordinator: Membership) -> None:
    with_password(coordinator)
    device = enrolled(coordinator)
    client = Client()
    sign_in(client, coordinator)
    response = client.get("/families/")
    assert response["Location"].startswith("/accounts/second-factor/?next=")
    # Knowing only the password does not let anyone replace her phone.
    assert client.get("/accounts/second-factor/set-up/")["Location"].startswith("/accounts/second-factor/")
    spent = code(device)
    assert client.post("/accounts/second-factor/", {"code": spent, "next": "/families/"})["Location"] == "/families/"
    assert client.get("/families/").status_code == 200
    # A code is spent once: the same code again (a new sign-in) is refused.
    other = Client()
    sign_in(other, coordinator)
    assert "That code did not work" in text(other.post("/accounts/second-factor/", {"code": spent}))


def test_a_device_slows_repeated_guesses(settings: Any, coordinator: Membership) -> None:
    settings.KINFOLD_REQUIRE_MFA = True
    with_password(coordinator)
    device = enrolled(coordinator)
    client = Client()
    sign_in(client, coordinator)
    right = code(device)
    client.post("/accounts/second-factor/", {"code": "123456" if right != "123456" else "654321"})
    # Straight after a wrong code even the right one is refused, for a moment (django-otp's throttling).
    assert client.post("/accounts/second-factor/", {"code": right}).status_code == 200
    assert client.get("/families/").status_code == 302


def test_an_enrolled_account_gives_its_code_even_where_it_is_not_required(coordinator: Membership) -> None:
    with_password(coordinator)
    device = enrolled(coordinator)
    client = Client()
    sign_in(client, coordinator)
    assert client.get("/families/")["Location"].startswith("/accounts/second-factor/")
    client.post("/accounts/second-factor/", {"code": code(device)})
    assert client.get("/families/").status_code == 200


def test_without_the_requirement_an_account_with_no_app_signs_in_with_its_password(coordinator: Membership) -> None:
    with_password(coordinator)
    client = Client()
    sign_in(client, coordinator)
    assert client.get("/families/").status_code == 200


def test_recovery_codes_each_work_once(mfa_required: None, coordinator: Membership) -> None:
    with_password(coordinator)
    enrolled(coordinator)
    first, second, *_ = mfa.new_recovery_codes(coordinator.user)
    client = Client()
    sign_in(client, coordinator)
    response = client.post("/accounts/second-factor/", {"code": first.upper(), "next": "/families/"}, follow=True)
    assert response.status_code == 200 and "recovery code; 9 left" in text(response)
    again = Client()
    sign_in(again, coordinator)
    assert "That code did not work" in text(again.post("/accounts/second-factor/", {"code": first}))
    assert again.post("/accounts/second-factor/", {"code": second.replace("-", " ")}).status_code == 302
    assert mfa.recovery_codes_left(coordinator.user) == 8


def test_lost_phone_a_recovery_code_then_a_new_app(mfa_required: None, coordinator: Membership) -> None:
    with_password(coordinator)
    old = enrolled(coordinator)
    (recovery, *_) = mfa.new_recovery_codes(coordinator.user)
    client = Client()
    sign_in(client, coordinator)
    client.post("/accounts/second-factor/", {"code": recovery})
    page = client.get("/accounts/second-factor/set-up/")
    assert page.status_code == 200 and "Set up your new phone" in text(page)
    new = TOTPDevice.objects.get(user=coordinator.user, confirmed=False)
    client.post("/accounts/second-factor/set-up/", {"code": code(new)})
    assert list(TOTPDevice.objects.filter(user=coordinator.user).values_list("pk", flat=True)) == [new.pk]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_wrong_codes_count_toward_the_same_lock_out_as_wrong_passwords(
    mfa_required: None, settings: Any, coordinator: Membership
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    with_password(coordinator)
    device = enrolled(coordinator)
    client = Client()
    sign_in(client, coordinator)
    right = code(device)
    wrong = "123456" if right != "123456" else "654321"
    assert client.post("/accounts/second-factor/", {"code": wrong}).status_code == 200
    assert client.post("/accounts/second-factor/", {"code": wrong}).status_code == 200
    locked = client.post("/accounts/second-factor/", {"code": wrong})
    assert locked.status_code == 429
    # She is signed out, and the right password no longer signs her in from here while the lock lasts.
    assert client.get("/families/")["Location"].startswith("/accounts/login/")
    refused = sign_in(Client(), coordinator)
    assert refused.status_code in (403, 429) and not refused.wsgi_request.user.is_authenticated
    assert AuditEvent.objects.filter(action="login_failed", detail__username=coordinator.user.username).count() >= 3


def test_a_full_sign_in_clears_earlier_failures_but_a_password_alone_does_not(
    mfa_required: None, settings: Any, coordinator: Membership
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    with_password(coordinator)
    device = enrolled(coordinator)
    for _ in range(2):
        client = Client()
        sign_in(client, coordinator)  # the password is right: that must not wipe the wrong codes
        client.post("/accounts/second-factor/", {"code": "000001"})
    client = Client()
    sign_in(client, coordinator)
    assert client.post("/accounts/second-factor/", {"code": "000002"}).status_code == 429
    del device


def test_the_api_refuses_a_password_alone_where_a_second_factor_is_required(
    mfa_required: None, coordinator: Membership
) -> None:
    import base64

    with_password(coordinator)
    auth = "Basic " + base64.b64encode(f"{coordinator.user.username}:{PASSWORD}".encode()).decode()
    assert Client().get("/api/families", HTTP_AUTHORIZATION=auth).status_code == 401


# --- Passwords ----------------------------------------------------------------------------------------------


def test_password_change_ends_her_other_sessions(coordinator: Membership) -> None:
    with_password(coordinator)
    here, elsewhere = Client(), Client()
    sign_in(here, coordinator)
    sign_in(elsewhere, coordinator)
    new = "a-brand-new-long-passphrase-42"
    response = here.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response["Location"] == "/accounts/password/changed/"
    assert here.get("/families/").status_code == 200
    assert elsewhere.get("/families/")["Location"].startswith("/accounts/login/")
    short = here.post("/accounts/password/", {"old_password": new, "new_password1": "short", "new_password2": "short"})
    assert "too short" in text(short)
    assert AuditEvent.objects.filter(actor_id=coordinator.user_id, detail__event="password_changed").count() == 1


def test_password_reset_answers_alike_for_real_and_unknown_addresses(smtp_server: Any, coordinator: Membership) -> None:
    coordinator.user.email = "ana@example.org"
    coordinator.user.save()
    known = Client().post("/accounts/password/reset/", {"email": "ana@example.org"})
    unknown = Client().post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(smtp_server.to("ana@example.org")) == 1 and not smtp_server.to("nobody@example.org")


def test_a_reset_link_works_once_and_still_asks_for_the_second_factor(
    mfa_required: None, smtp_server: Any, coordinator: Membership
) -> None:
    coordinator.user.email = "ana@example.org"
    coordinator.user.save()
    device = enrolled(coordinator)
    Client().post("/accounts/password/reset/", {"email": "ana@example.org"})
    (message,) = smtp_server.to("ana@example.org")
    link = RESET_LINK.search(message.get_content()).group(1)  # type: ignore[union-attr]
    client = Client()
    form = client.get(link, follow=True)
    assert "Choose a new password" in text(form)
    new = "a-brand-new-long-passphrase-42"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done["Location"] == "/accounts/password/reset/done/"
    assert AuditEvent.objects.filter(actor_id=coordinator.user_id, detail__event="password_reset").exists()
    assert "This link does not work" in text(Client().get(link, follow=True))  # spent
    signed = Client()
    signed.post("/accounts/login/", {"username": coordinator.user.username, "password": new})
    assert signed.get("/families/")["Location"].startswith("/accounts/second-factor/")
    signed.post("/accounts/second-factor/", {"code": code(device)})
    assert signed.get("/families/").status_code == 200


def test_an_expired_or_tampered_reset_link_does_not_work(coordinator: Membership) -> None:
    class Earlier(PasswordResetTokenGenerator):
        def _now(self) -> datetime:
            return datetime.now() - timedelta(hours=3)

    uid = urlsafe_base64_encode(force_bytes(coordinator.user.pk))
    expired = Earlier().make_token(coordinator.user)
    fresh = PasswordResetTokenGenerator().make_token(coordinator.user)
    tampered = fresh[:-1] + ("a" if fresh[-1] != "a" else "b")
    for token in (expired, tampered):
        page = Client().get(f"/accounts/password/reset/{uid}/{token}/", follow=True)
        assert "This link does not work" in text(page)
    assert "Choose a new password" in text(Client().get(f"/accounts/password/reset/{uid}/{fresh}/", follow=True))


# --- Staff who join -----------------------------------------------------------------------------------------


def invite(client: Client, email: str = "pia@example.org", role: str = Role.PEER_RECOVERY_COACH) -> None:
    """The lead's invitation; its email leaves when the transaction commits (``django_capture_on_commit_callbacks``)."""
    response = client.post(
        "/staff/invite/", {"first_name": "Pia", "last_name": "Morales", "email": email, "role": role}
    )
    assert response.status_code == 302, text(response)


def link_for(smtp_server: Any, email: str) -> str:
    return JOIN_LINK.search(smtp_server.to(email)[-1].get_content()).group(1)  # type: ignore[union-attr]


def join(link: str, username: str = "pia.morales", password: str = PASSWORD) -> Any:
    client = Client()
    return client, client.post(link, {"username": username, "password1": password, "password2": password})


def test_a_lead_invites_and_she_joins_in_her_role(
    mfa_required: None, smtp_server: Any, lead: Membership, django_capture_on_commit_callbacks: Any
) -> None:
    client = lead_client(lead)
    enrolled(lead)
    with django_capture_on_commit_callbacks(execute=True):
        invite(_verified(client, lead))
    link = link_for(smtp_server, "pia@example.org")
    invitation = Invitation.objects.get()
    assert invitation.token_hash not in link and len(invitation.token_hash) == 64  # only the hash is kept
    pia, response = join(link)
    assert response["Location"] == "/accounts/second-factor/set-up/"
    user = get_user_model().objects.get(username="pia.morales")
    assert (user.membership.organization_id, user.membership.role) == (lead.organization_id, Role.PEER_RECOVERY_COACH)
    assert user.email == "pia@example.org" and user.get_full_name() == "Pia Morales"
    # Signed in, but nothing opens before she sets up her app.
    assert pia.get("/families/")["Location"].startswith("/accounts/second-factor/set-up/")
    # The link is spent.
    assert join(link, username="someone.else")[1].status_code == 404
    assert AuditEvent.objects.filter(detail__event="staff_joined", actor_id=user.pk).exists()


def _verified(client: Client, membership: Membership) -> Client:
    device = TOTPDevice.objects.get(user=membership.user, confirmed=True)
    client.post("/accounts/second-factor/", {"code": code(device)})
    return client


def test_invitation_links_that_do_not_work_say_one_thing(
    smtp_server: Any, lead: Membership, django_capture_on_commit_callbacks: Any
) -> None:
    client = lead_client(lead)
    with django_capture_on_commit_callbacks(execute=True):
        for email in ("one@example.org", "two@example.org", "three@example.org"):
            invite(client, email)
    expired, withdrawn, replaced = (link_for(smtp_server, f"{n}@example.org") for n in ("one", "two", "three"))
    Invitation.objects.filter(email="one@example.org").update(
        created_at=services.clock.now() - timedelta(days=9), expires_at=services.clock.now() - timedelta(days=2)
    )
    client.post(f"/staff/invitations/{Invitation.objects.get(email='two@example.org').pk}/withdraw/")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/invitations/{Invitation.objects.get(email='three@example.org').pk}/resend/")
    newer = link_for(smtp_server, "three@example.org")
    tampered = newer[:-3] + ("A" if newer[-3] != "A" else "B") + "/"
    bodies = set()
    for link in (expired, withdrawn, replaced, tampered, "/accounts/join/" + "A" * 43 + "/"):
        page = Client().get(link)
        assert page.status_code == 404
        bodies.add(re.sub(r'"X-CSRFToken": "[^"]*"', "", text(page)))  # the page's own CSRF token differs
        assert join(link)[1].status_code == 404
    assert len(bodies) == 1 and "This invitation link does not work" in bodies.pop()
    assert Client().get(newer).status_code == 200
    assert not get_user_model().objects.filter(username="pia.morales").exists()


def test_invitation_form_errors_are_clear_and_write_nothing(lead: Membership, coordinator: Membership) -> None:
    coordinator.user.email = "ana@example.org"
    coordinator.user.save()
    client = lead_client(lead)
    bad = client.post("/staff/invite/", {"first_name": "", "last_name": "X", "email": "not-an-email", "role": ""})
    assert bad.status_code == 200 and "Enter a valid email address" in text(bad)
    taken = client.post(
        "/staff/invite/", {"first_name": "A", "last_name": "R", "email": "ANA@example.org", "role": "nurse"}
    )
    assert "already has a Kinfold account" in text(taken)
    assert not Invitation.objects.exists()


def test_only_a_lead_of_the_organisation_manages_its_staff(
    lead: Membership, coordinator: Membership, outsider: Membership
) -> None:
    assert client_for(coordinator).get("/staff/").status_code == 403
    assert client_for(coordinator).post("/staff/invite/", {"email": "x@example.org"}).status_code == 403
    other_lead = staff(outsider.organization, Role.PROGRAMME_LEAD)
    assert client_for(other_lead).get(f"/staff/{coordinator.pk}/").status_code == 403
    assert (
        client_for(other_lead).post(f"/staff/{coordinator.pk}/hand-over/", {"action": "deactivate"}).status_code == 403
    )
    with pytest.raises(PermissionDenied):
        services.invite(
            viewer=viewer_of(coordinator), email="x@example.org", first_name="X", last_name="Y", role=Role.NURSE
        )
    assert lead_client(lead).get(f"/staff/{coordinator.pk}/").status_code == 200


# --- Staff who leave or change role -------------------------------------------------------------------------


@pytest.fixture
def colleague(community_org) -> Membership:
    return staff(community_org, Role.CARE_COORDINATOR, user__first_name="Cora", user__last_name="Colleague")


def test_a_coordinator_cannot_leave_until_her_families_are_handed_over(
    lead: Membership, coordinator: Membership, colleague: Membership, caseworker: Membership
) -> None:
    coordinated = make_family(coordinator)
    elsewhere = make_family(caseworker, given_name="Jo", family_name="Baker")
    care_team_member_add(
        viewer=viewer_of(caseworker), family=elsewhere, membership=coordinator, role=Role.CARE_COORDINATOR
    )
    her = with_password(coordinator)
    her_session = Client()
    sign_in(her_session, her)
    assert her_session.get("/families/").status_code == 200

    client = lead_client(lead)
    refused = client.post(f"/staff/{coordinator.pk}/hand-over/", {"action": "deactivate"})
    assert "she coordinates this family. Choose a colleague to take over" in text(refused)
    with pytest.raises(ValidationError, match="no family is left without a coordinator"):
        services.deactivate(viewer=viewer_of(lead), membership=coordinator)
    coordinator.refresh_from_db()
    assert coordinator.is_active and coordinator.user.is_active

    done = client.post(f"/staff/{coordinator.pk}/hand-over/", {"action": "deactivate", "all": str(colleague.pk)})
    assert done.status_code == 302
    coordinator.refresh_from_db()
    coordinator.user.refresh_from_db()
    assert not coordinator.is_active and not coordinator.user.is_active
    team = CareTeamMember.objects.active().filter(care_team__family=coordinated)
    assert [(m.membership_id, m.is_coordinator) for m in team] == [(colleague.pk, True)]
    # Her place on the other family went to her colleague too; that family keeps its own coordinator.
    other = CareTeamMember.objects.active().filter(care_team__family=elsewhere)
    assert {(m.membership_id, m.is_coordinator) for m in other} == {(caseworker.pk, True), (colleague.pk, False)}
    for family in (coordinated, elsewhere):
        line = FamilyActivity.objects.get(family=family, verb="team_handed_over")
        assert (
            "Ana Rivera" in line.summary and "Cora Colleague" in line.summary and "account was closed" in line.summary
        )
    # Her session ended at once; she cannot sign in again.
    assert her_session.get("/families/")["Location"].startswith("/accounts/login/")
    assert not sign_in(Client(), her).wsgi_request.user.is_authenticated
    assert AuditEvent.objects.filter(detail__event="staff_deactivated", record_id=str(coordinator.pk)).exists()


def test_her_other_places_may_simply_end(lead: Membership, coordinator: Membership, caseworker: Membership) -> None:
    elsewhere = make_family(caseworker, given_name="Jo", family_name="Baker")
    care_team_member_add(
        viewer=viewer_of(caseworker), family=elsewhere, membership=coordinator, role=Role.CARE_COORDINATOR
    )
    place = CareTeamMember.objects.active().get(membership=coordinator)
    services.deactivate(viewer=viewer_of(lead), membership=coordinator, choices=[services.PlaceChoice(place=place)])
    assert not CareTeamMember.objects.active().filter(membership=coordinator).exists()
    line = FamilyActivity.objects.get(family=elsewhere, verb="team_handed_over")
    assert line.summary.startswith("Ana Rivera (Bridges Family Resource Center) left the care team")


def test_a_role_change_keeps_or_hands_over_each_place(
    lead: Membership, coordinator: Membership, colleague: Membership
) -> None:
    kept = make_family(coordinator)
    handed = make_family(coordinator, given_name="Lia", family_name="Stone")
    places = {p.care_team.family_id: p for p in CareTeamMember.objects.active().filter(membership=coordinator)}
    client = lead_client(lead)
    page = client.get(f"/staff/{coordinator.pk}/hand-over/?action=role&role={Role.SOCIAL_WORKER}")
    assert "Change Ana Rivera's role to social worker" in text(page)
    response = client.post(
        f"/staff/{coordinator.pk}/hand-over/",
        {"action": "role", "role": Role.SOCIAL_WORKER, "all": "keep", f"to-{places[handed.pk].pk}": str(colleague.pk)},
    )
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.role == Role.SOCIAL_WORKER and coordinator.is_active
    assert (
        CareTeamMember.objects.active().get(care_team__family=kept, is_coordinator=True).membership_id == coordinator.pk
    )
    assert (
        CareTeamMember.objects.active().get(care_team__family=handed, is_coordinator=True).membership_id == colleague.pk
    )
    assert (
        "her role changed from care coordinator to social worker"
        in FamilyActivity.objects.get(family=handed, verb="team_handed_over").summary
    )


def test_the_door_lets_only_a_lead_of_her_own_organisation_hand_over_her_place(
    lead: Membership, coordinator: Membership, colleague: Membership, outsider: Membership
) -> None:
    make_family(coordinator)
    place = CareTeamMember.objects.active().get(membership=coordinator)
    other_lead = staff(outsider.organization, Role.PROGRAMME_LEAD)
    for who in (colleague, other_lead):
        with pytest.raises(Refused):
            team_place_hand_over(viewer=viewer_of(who), place=place, to_membership=colleague, why="test")
    with pytest.raises(ValidationError, match="same organisation"):
        team_place_hand_over(viewer=viewer_of(lead), place=place, to_membership=outsider, why="test")
    assert CareTeamMember.objects.active().get(pk=place.pk).is_coordinator


def test_a_lead_resets_a_lost_second_factor_and_her_sessions_end(
    mfa_required: None, lead: Membership, coordinator: Membership
) -> None:
    with_password(coordinator)
    device = enrolled(coordinator)
    mfa.new_recovery_codes(coordinator.user)
    hers = Client()
    sign_in(hers, coordinator)
    hers.post("/accounts/second-factor/", {"code": code(device)})
    assert hers.get("/families/").status_code == 200
    enrolled(lead)
    client = _verified(lead_client(lead), lead)
    assert client.post(f"/staff/{coordinator.pk}/second-factor/reset/").status_code == 302
    assert not mfa.has_any_device(coordinator.user)
    assert hers.get("/families/")["Location"].startswith("/accounts/login/")
    again = Client()
    sign_in(again, coordinator)
    assert again.get("/families/")["Location"].startswith("/accounts/second-factor/set-up/")


def test_a_lead_does_not_close_her_own_account(lead: Membership) -> None:
    with pytest.raises(ValidationError, match="your own account"):
        services.deactivate(viewer=viewer_of(lead), membership=lead)


def test_staff_list_shows_people_places_and_second_factors(
    lead: Membership, coordinator: Membership, community_org: Any
) -> None:
    make_family(coordinator)
    enrolled(coordinator)
    OrganizationFactory(name="Elsewhere", type=OrganizationType.COMMUNITY)
    page = text(lead_client(lead).get("/staff/"))
    assert "Ana Rivera" in page and "Lena Lead" in page
    row = re.search(r"Ana Rivera</a>.*?</tr>", page)
    assert row and "1 (1)" in row.group(0) and "Set up" in row.group(0)


def test_each_page_reads_her_account_with_her_employer_and_a_closed_account_is_signed_out(
    coordinator: Membership,
) -> None:
    """``StaffBackend``: the signed-in person is read with her membership and its organisation in one statement (no
    page reads her membership again), and an account closed since she signed in no longer opens any page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client()
    client.force_login(coordinator.user)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("families:caseload"))
    assert page.status_code == 200 and coordinator.organization.name in page.content.decode()
    account = [q["sql"] for q in captured.captured_queries if 'FROM "auth_user"' in q["sql"]]
    assert len(account) == 1 and 'JOIN "organizations_membership"' in account[0]
    assert not any(q["sql"].startswith('SELECT "organizations_membership"') for q in captured.captured_queries)

    coordinator.user.is_active = False
    coordinator.user.save(update_fields=["is_active"])
    closed = client.get(reverse("families:caseload"))
    assert closed.status_code == 302 and reverse("login") in closed["Location"]
