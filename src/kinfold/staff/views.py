"""Sign-in's second step, her own account's security, joining by invitation, and a lead's staff pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kinfold.access.http import viewer_for
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.organizations.models import Role, role_words
from kinfold.staff import mfa, selectors, services
from kinfold.staff.forms import CodeForm, EnrolForm, InviteForm, JoinForm, RoleForm
from kinfold.staff.middleware import PENDING
from kinfold.web.forms import apply_errors


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        if not self.request.session.get(PENDING):
            mfa.signed_in(self.request, form.get_user())  # no second step: her failures stop counting now
        return response


# --- The second step ----------------------------------------------------------------------------------------


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():  # type: ignore[union-attr]
        return redirect(_next(request))
    if not mfa.has_any_device(user):
        return redirect(f"{reverse('staff:enrol')}?next={_next(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = mfa.verify(request, user, form.cleaned_data["code"])
        except mfa.Locked:
            logout(request)
            return render(request, "registration/locked_out.html", status=429)
        if device is not None:
            if not isinstance(device, mfa.TOTPDevice):
                left = mfa.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. If you lost your phone, set up your new "
                    "one now under Account security.",
                )
            return redirect(_next(request))
        form.add_error(
            "code",
            "That code did not work. Check the time on your phone, wait a few seconds for the newest code and type it.",
        )
    return render(request, "staff/verify.html", {"form": form, "next": _next(request)})


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: first sign-in, or replacing a lost phone (only once verified)."""
    user = request.user
    if mfa.has_authenticator(user) and not user.is_verified():  # type: ignore[union-attr]
        # Whoever knows only her password may not replace her phone: the second step first.
        return redirect(f"{reverse('staff:verify')}?next={reverse('staff:enrol')}")
    device = mfa.enrolment_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = mfa.confirm_enrolment(request, user, form.cleaned_data["code"])
        if codes is not None:
            mfa.signed_in(request, user)
            return render(request, "staff/recovery_codes.html", {"codes": codes, "next": _next(request), "new": True})
        form.add_error(
            "code",
            "That code did not work. Check the time on your phone, wait a few seconds for the newest code and type it.",
        )
    return render(
        request,
        "staff/enrol.html",
        {
            "form": form,
            "qr_svg": mfa.qr_svg(device),
            "secret": mfa.secret_for_typing(device),
            "next": _next(request),
            "may_skip": not settings.KINFOLD_REQUIRE_MFA and not mfa.has_authenticator(user),
            "replacing": mfa.has_authenticator(user),
        },
    )


@login_required
@require_POST
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():  # type: ignore[union-attr]
        raise PermissionDenied("Sign in with your second factor first.")
    codes = mfa.new_recovery_codes(request.user)
    record_event(actor=request.user, action=Action.UPDATE, detail={"event": "recovery_codes_renewed"})
    return render(request, "staff/recovery_codes.html", {"codes": codes, "next": reverse("staff:account")})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "staff/account.html",
        {
            "has_app": mfa.has_authenticator(user),
            "codes_left": mfa.recovery_codes_left(user),
            "required": settings.KINFOLD_REQUIRE_MFA,
        },
    )


# --- Joining ------------------------------------------------------------------------------------------------


def join(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.open_invitation(token)
    if invitation is None:
        return render(request, "staff/join_unusable.html", status=404)
    form = JoinForm(request.POST or None, initial={"username": invitation.email.split("@")[0]})
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept_invitation(token=token, **form.cleaned_data)
        except services.InvitationUnusable:
            return render(request, "staff/join_unusable.html", status=404)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if request.user.is_authenticated:
                logout(request)
            login(request, user, backend="kinfold.staff.backends.StaffBackend")
            return redirect("staff:enrol")
    return render(
        request, "staff/join.html", {"form": form, "invitation": invitation, "role": role_words(invitation.role)}
    )


# --- A lead's staff pages -----------------------------------------------------------------------------------


def _lead_org(request: HttpRequest) -> tuple[Any, int]:
    viewer = viewer_for(request)
    if viewer.membership is None or not services.is_lead(viewer.membership):
        raise PermissionDenied("Only your organisation's lead manages its staff.")
    return viewer, viewer.membership.organization_id


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    viewer, org_id = _lead_org(request)
    return render(
        request,
        "staff/staff_list.html",
        {
            "staff": selectors.staff_of(viewer, org_id),
            "invitations": services.waiting_invitations(org_id),
            "organization": viewer.membership.organization,
        },
    )


@login_required
def invite(request: HttpRequest) -> HttpResponse:
    viewer, _ = _lead_org(request)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite(viewer=viewer, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. The link works once, for {services.invitation_days()} days.",
            )
            return redirect("staff:list")
    return render(request, "staff/invite.html", {"form": form, "days": services.invitation_days()})


@login_required
@require_POST
def invitation_action(request: HttpRequest, invitation_id: int, action: str) -> HttpResponse:
    viewer, _ = _lead_org(request)
    from kinfold.staff.models import Invitation

    if not Invitation.objects.filter(pk=invitation_id, organization_id=viewer.organization_id).exists():
        raise PermissionDenied("This invitation is not your organisation's.")
    try:
        if action == "resend":
            invitation = services.resend(viewer=viewer, invitation_id=invitation_id)
            messages.success(request, f"A new link was sent to {invitation.email}; the old one no longer works.")
        else:
            invitation = services.withdraw(viewer=viewer, invitation_id=invitation_id)
            messages.success(request, f"The invitation to {invitation.email} was withdrawn; its link no longer works.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("staff:list")


@login_required
def member(request: HttpRequest, membership_id: int) -> HttpResponse:
    viewer, _ = _lead_org(request)
    membership = services.staff_member(viewer, membership_id)
    return render(
        request,
        "staff/member.html",
        {
            "member": membership,
            "places": selectors.places_to_hand_over(viewer, membership),
            "role_form": RoleForm(initial={"role": membership.role}),
            "has_app": mfa.has_authenticator(membership.user),
            "is_self": membership.pk == viewer.membership_id,
        },
    )


@login_required
@require_POST
def reset_second_factor(request: HttpRequest, membership_id: int) -> HttpResponse:
    viewer, _ = _lead_org(request)
    membership = services.staff_member(viewer, membership_id)
    try:
        services.reset_second_factor(viewer=viewer, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{membership.display_name}'s second factor was removed. She sets up a new one at her next sign-in.",
        )
    return redirect("staff:member", membership_id=membership.pk)


def _choices(request: HttpRequest, rows: list[selectors.PlaceRow], team: dict[int, Any]) -> tuple[list[Any], list[str]]:
    """Read the hand-over form: per place 'to-<place id>' = a colleague's id, 'end' or 'keep'; 'all' fills blanks."""
    everyone = request.POST.get("all", "")
    choices, errors = [], []
    for row in rows:
        value = request.POST.get(f"to-{row.place.pk}", "") or everyone
        if value == services.KEEP:
            choices.append(services.PlaceChoice(place=row.place, keep=True))
        elif value == services.END:
            choices.append(services.PlaceChoice(place=row.place))
        elif value.isdigit() and int(value) in team:
            choices.append(services.PlaceChoice(place=row.place, to=team[int(value)]))
        elif row.place.is_coordinator:
            errors.append(
                f"Family {row.family_id}: she coordinates this family. Choose a colleague to take over, so the "
                "family is never left without a coordinator."
            )
        else:
            errors.append(f"Family {row.family_id}: choose a colleague to take over, or “Nobody: her place ends”.")
    return choices, errors


@login_required
def hand_over(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Deactivate her, or change her role, with her families handed over first (or kept, for a role change)."""
    viewer, _ = _lead_org(request)
    membership = services.staff_member(viewer, membership_id)
    action = request.POST.get("action") or request.GET.get("action") or "deactivate"
    if action not in ("deactivate", "role"):
        action = "deactivate"
    new_role = request.POST.get("role") or request.GET.get("role") or ""
    if action == "role" and new_role not in Role.values:
        messages.error(request, "Choose her new role.")
        return redirect("staff:member", membership_id=membership.pk)
    rows = selectors.places_to_hand_over(viewer, membership)
    team = {m.pk: m for m in services.colleagues(membership)}
    errors: list[str] = []
    if request.method == "POST":
        choices, errors = _choices(request, rows, team)
        if not errors:
            try:
                if action == "role":
                    services.change_role(viewer=viewer, membership=membership, role=new_role, choices=choices)
                    messages.success(request, f"{membership.display_name} is now {role_words(new_role)}.")
                else:
                    ended = services.deactivate(viewer=viewer, membership=membership, choices=choices)
                    messages.success(
                        request,
                        f"{membership.display_name}'s account is closed and her families handed over"
                        + (f"; {ended} open session(s) ended." if ended else "."),
                    )
                return redirect("staff:member", membership_id=membership.pk)
            except ValidationError as exc:
                errors = list(exc.messages)
    return render(
        request,
        "staff/hand_over.html",
        {
            "member": membership,
            "rows": rows,
            # What she chose for each family, kept when the page comes back with a refusal.
            "rows_chosen": [(row, request.POST.get(f"to-{row.place.pk}", "")) for row in rows],
            "colleagues": list(team.values()),
            "action": action,
            "new_role": new_role,
            "new_role_words": role_words(new_role) if new_role in Role.values else "",
            "errors": errors,
            "posted": request.POST,
        },
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Reset by emailed link: Django's token (expires after KINFOLD_PASSWORD_RESET_HOURS, spent once the password
    changes) and the same answer whether or not the address has an account. A reset never skips the second step."""

    template_name = "staff/password_reset_form.html"
    email_template_name = "staff/password_reset_email.txt"
    subject_template_name = "staff/password_reset_subject.txt"
    success_url = reverse_lazy("staff:password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, Any]:
        return {"site_url": settings.KINFOLD_SITE_URL}

    def form_valid(self, form: Any) -> HttpResponse:
        # Audited without saying whether the address has an account (the page answers alike).
        record_event(actor=None, action=Action.UPDATE, detail={"event": "password_reset_requested"})
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "staff/password_reset_confirm.html"
    success_url = reverse_lazy("staff:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record_event(actor=form.user, action=Action.UPDATE, detail={"event": "password_reset"})
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "staff/password_change.html"
    success_url = reverse_lazy("staff:password_changed")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record_event(actor=form.user, action=Action.UPDATE, detail={"event": "password_changed"})
        return response
