"""Referral pages: make and send one, see and answer one, the "Referrals waiting on us" inbox, the network's
health, and the one-time link answer page. Thin: parse, call one selector or service, render."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from kinfold.access.gate import RecordGate
from kinfold.access.http import viewer_for
from kinfold.directory.models import Need, Service
from kinfold.families.models import Family
from kinfold.families.selectors import access_family
from kinfold.families.services import ConcurrentEditError
from kinfold.referrals import selectors, services
from kinfold.referrals.forms import ChangeForm, LinkAnswerForm, ReferralForm
from kinfold.referrals.models import ReferralStatus
from kinfold.web.forms import apply_errors


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**62 else None


@login_required
def referral_new(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    family_id = _int(request.GET.get("family") or request.POST.get("family"))
    service_id = _int(request.GET.get("service") or request.POST.get("service"))
    if family_id is None:
        raise Http404("Choose a family first.")
    family, gate = access_family(viewer=viewer, family_id=family_id)
    try:
        service = (
            Service.objects.select_related("organization", "organization__organization").get(pk=service_id)
            if service_id
            else None
        )
    except Service.DoesNotExist:
        service = None
    if service is None:
        messages.info(request, "Find a service in the directory first, then choose “Refer her here”.")
        return redirect(f"{reverse('directory:search')}?family={family.pk}")
    # The need a screening's next step named (``?need=``), else the service's first.
    wanted = request.GET.get("need", "")
    need_initial = wanted if wanted in Need.values else (service.needs[0] if service.needs else "")
    initial = {"request_key": uuid.uuid4().hex, "need": need_initial}
    posted = request.method == "POST"
    # Her organisation's notes are the form's choices: read for a form that is shown, or a POST that chose some. A
    # POST that chose none sends none; if its form is shown again, it is built again with them.
    with_notes = not posted or bool(request.POST.getlist("notes"))
    form = _referral_form(request, gate, family, initial, with_notes=with_notes)
    left_out: list[dict[str, object]] = []
    status = 200
    problem: ValidationError | None = None
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            referral = services.create_referral(
                viewer=viewer,
                family=family,
                need=data["need"],
                service=service,
                priority=data["priority"],
                reason=data["reason"],
                handoff_note=data["handoff_note"],
                note_ids=[int(n) for n in data.get("notes", [])],
                request_key=data["request_key"],
                gate=gate,
            )
        except services.NotSent as not_sent:
            left_out = not_sent.left_out
            messages.warning(
                request,
                "Nothing was sent: her consent does not cover sending this referral there. It is kept as a draft.",
            )
            return redirect("referrals:detail", referral_id=not_sent.referral.pk)
        except ValidationError as error:
            problem = error
        except PermissionDenied as error:
            problem = ValidationError(str(error))
        else:
            left = [i for i in referral.left_out if not i.get("required")]
            text = f"Referral sent to {referral.receiving_org.name}."
            if left:
                text += f" {len(left)} item{'s' if len(left) != 1 else ''} left out: her consent does not cover them."
            messages.success(request, text)
            return redirect("referrals:detail", referral_id=referral.pk)
    if not with_notes:
        form = _referral_form(request, gate, family, initial, with_notes=True)
    if problem is not None:
        apply_errors(form, problem)
    if form.errors:
        status = 400
    preview = None
    need = (form.data.get("need") if form.is_bound else initial["need"]) or "other"
    if need in [n for n, _ in selectors.need_choices()] and viewer.membership is not None:
        # A listing without a Kinfold organisation gets one now (directory data, no family's), so the door can
        # say what would go there.
        receiving = services.receiving_organization(service=service, directory_org=service.organization)
        terms = services.terms_for(need, referring_org=viewer.membership.organization, receiving_org=receiving)
        preview = services.plan_items(viewer, family=family, terms=terms, receiving_org=receiving)
    return render(
        request,
        "referrals/referral_form.html",
        {"form": form, "family": family, "service": service, "preview": preview, "left_out": left_out},
        status=status,
    )


def _referral_form(
    request: HttpRequest, gate: RecordGate, family: Family, initial: dict[str, str], *, with_notes: bool
) -> ReferralForm:
    notes = selectors.notes_to_attach(gate, family) if with_notes else []
    note_choices = [(str(n.pk), f"{n.occurred_on:%-d %b %Y} — {n.summary}") for n in notes]
    return ReferralForm(request.POST if request.method == "POST" else None, note_choices=note_choices, initial=initial)


@login_required
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    page = selectors.referral_page(
        viewer=viewer, family_id=selectors.family_id_of(referral_id), referral_id=referral_id
    )
    services.notices_seen(user=request.user, referral_id=referral_id)  # she has now seen what they told her
    return render(request, "referrals/referral_detail.html", {"page": page, "r": page.referral, "v": page.view})


@login_required
@require_POST
def referral_change(request: HttpRequest, referral_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    form = ChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Something was missing from that form. Please try again.")
        return redirect("referrals:detail", referral_id=referral_id)
    data = form.cleaned_data
    try:
        services.change_status(
            viewer=viewer,
            referral_id=referral_id,
            family_id=selectors.family_id_of(referral_id),
            to_status=data["status"],
            expected_version=data["version"],
            reason_code=data["reason_code"],
            words=data["words"],
        )
    except (services.IllegalChange, ConcurrentEditError) as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except services.NotSent:
        messages.warning(request, "Nothing was sent: her consent does not cover sending this referral there.")
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Referral marked “{ReferralStatus(data['status']).label.lower()}”.")
    return redirect("referrals:detail", referral_id=referral_id)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    include_closed = request.GET.get("show") == "all"
    rows = selectors.waiting_on_us(viewer, include_closed=include_closed)
    return render(
        request,
        "referrals/inbox.html",
        {"rows": rows, "include_closed": include_closed, "notices": selectors.unread_notices(request.user)},
    )


@login_required
def network(request: HttpRequest) -> HttpResponse:
    return render(request, "referrals/network.html", {"pairs": selectors.network_health()})


def link_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link page, for an organisation without accounts: no sign-in; a link that cannot be used
    (unknown, tampered, expired, used) shows one page that reveals nothing."""
    from kinfold.referrals import links

    link = links.open_link(token)
    if link is None:
        return render(request, "referrals/link_unusable.html", status=404)
    referral = selectors.referral_behind(link)
    error = ""
    if request.method == "POST":
        form = LinkAnswerForm(request.POST)
        if form.is_valid():
            try:
                answered = services.answer_from_link(token=token, **form.cleaned_data)
            except (ValidationError, services.IllegalChange) as problem:
                error = " ".join(problem.messages) if isinstance(problem, ValidationError) else str(problem)
            else:
                if answered is None:
                    return render(request, "referrals/link_unusable.html", status=404)
                return render(request, "referrals/link_done.html", {"referral": answered})
        else:
            error = "Something was missing from that form. Please try again."
    left = links.actions_left(link)
    actions = [
        (action, label, services.REASONS.get(links.ACTION_STATUS[action], {}))
        for action, label in services.LINK_BUTTONS.items()
        if action in left
    ]
    return render(
        request,
        "referrals/link_answer.html",
        {"referral": referral, "actions": actions, "error": error},
        status=400 if error else 200,
    )
