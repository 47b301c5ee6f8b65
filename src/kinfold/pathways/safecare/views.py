"""Plan of Safe Care pages: start a plan for a family, the plan (all ten domains, grouped "Baby" and "Parent and
family"), correct its details, add / edit / remove a need (removing asks first), record the notification to child
welfare, agree the plan with her, record the discharge, close the plan, and print it (an HTML print view and a
PDF download). Thin: parse, call one selector or service of ``safecare``, render. Every page reads through the
door (a plan she may not read is a 404, audited) and shows only what the door lets her read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from kinfold import clock
from kinfold.access.door import require, require_create, require_page
from kinfold.access.http import viewer_for
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction
from kinfold.families.selectors import access_family
from kinfold.families.services import ConcurrentEditError
from kinfold.pathways.models import NotificationKind, PlanDomain, PlanNeed, PlanOfSafeCare
from kinfold.pathways.safecare import pdf
from kinfold.pathways.safecare import services as safecare
from kinfold.pathways.safecare.forms import (
    AgreeForm,
    CloseForm,
    DischargeForm,
    NeedEditForm,
    NeedForm,
    NotificationForm,
    PlanDetailsForm,
    PlanEditForm,
    RemoveForm,
)
from kinfold.web.forms import apply_errors

FORM_PAGE = "pathways/plan_form.html"


def _staff(viewer: Viewer) -> None:
    if viewer.membership is None:
        raise PermissionDenied("Only staff work on Plans of Safe Care.")


def _plan_url(plan_id: int, anchor: str = "") -> str:
    return reverse("pathways:plan", args=[plan_id]) + (f"#{anchor}" if anchor else "")


def _render_form(
    request: HttpRequest, form: Any, context: dict[str, Any], *, status: int | None = None
) -> HttpResponse:
    if status is None:
        status = 400 if form.errors else 200
    return render(request, FORM_PAGE, {"form": form, **context}, status=status)


def _refused(form: Any, error: Exception) -> None:
    form.add_error(None, str(error))


# --- starting a plan ------------------------------------------------------------------------------------------------


@login_required
def plan_new(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    _staff(viewer)
    family, gate = access_family(viewer=viewer, family_id=family_id)
    require_page(safecare.require_may_start, viewer, family.pk, gate)
    infants = safecare.infant_choices(gate=gate, family=family)
    form = PlanDetailsForm(
        request.POST if request.method == "POST" else None,
        infants=infants,
        initial={
            "identified_on": clock.today(),
            "infant": str(infants[0].pk) if len(infants) == 1 else "",
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = safecare.start_plan(
                viewer=viewer,
                family=family,
                infant_id=form.infant_id,
                identified_on=data["identified_on"],
                reasons=data["reasons"],
                expected_discharge_on=data.get("expected_discharge_on"),
                gate=gate,
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            _refused(form, error)
        else:
            messages.success(request, "The Plan of Safe Care is started. Add its needs with her, domain by domain.")
            return redirect("pathways:plan", plan_id=plan.pk)
    return _render_form(
        request,
        form,
        {
            "family": family,
            "title": "Start a Plan of Safe Care",
            "submit_label": "Start the plan",
            "intro": "start",
            "infants": infants,
            "explained": safecare.NOTIFICATION_EXPLAINED[NotificationKind(safecare.jurisdiction_notification_kind())],
        },
    )


# --- the plan -------------------------------------------------------------------------------------------------------


@login_required
def plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    page = safecare.plan_page(viewer=viewer_for(request), plan_id=plan_id)
    return render(request, "pathways/plan_detail.html", {"page": page, "plan": page.plan, "family": page.family})


def _changeable_plan(request: HttpRequest, plan_id: int) -> tuple[Viewer, Any]:
    """The plan, if she may read it (else a 404) and change it (else a 403: both audited)."""
    viewer = viewer_for(request)
    _staff(viewer)
    found = safecare.access_plan(viewer=viewer, plan_id=plan_id)
    require_page(require, viewer, Interaction.CHANGE, found.record, gate=found.gate)
    return viewer, found


def _context(plan: PlanOfSafeCare, title: str, **more: Any) -> dict[str, Any]:
    return {"family": plan.family, "plan": plan, "title": title, **more}


@login_required
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    viewer, found = _changeable_plan(request, plan_id)
    plan_row: PlanOfSafeCare = found.record
    infants = safecare.infant_choices(gate=found.gate, family=plan_row.family)
    current = plan_row.infant_id
    visible_ids = {p.pk for p in infants}
    form = PlanEditForm(
        request.POST if request.method == "POST" else None,
        infants=infants,
        current_infant_id=current,
        initial={
            "version": plan_row.version,
            "infant": "" if current is None else (str(current) if current in visible_ids else "keep"),
            "identified_on": plan_row.identified_on,
            "reasons": plan_row.reasons,
            "expected_discharge_on": plan_row.expected_discharge_on,
        },
    )
    status = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            safecare.update_details(
                viewer=viewer,
                plan_id=plan_row.pk,
                expected_version=data["version"],
                infant_id=form.infant_id,
                identified_on=data["identified_on"],
                reasons=data["reasons"],
                expected_discharge_on=data.get("expected_discharge_on"),
            )
        except ValidationError as error:
            apply_errors(form, error)
        except ConcurrentEditError as error:
            _refused(form, error)
            status = 409
        except PermissionDenied as error:
            _refused(form, error)
        else:
            messages.success(request, "The plan's details are saved.")
            return redirect("pathways:plan", plan_id=plan_row.pk)
    return _render_form(
        request, form, _context(plan_row, "Correct the plan's details", submit_label="Save"), status=status
    )


# --- needs ----------------------------------------------------------------------------------------------------------


def _need_input(form: NeedForm, referral_id: int | None) -> safecare.NeedInput:
    data = form.cleaned_data
    return safecare.NeedInput(
        domain=data["domain"],
        need=data["need"],
        responsible=data["responsible"],
        service=data.get("service") or "",
        status=data["status"],
        referral_id=referral_id,
    )


@login_required
def need_new(request: HttpRequest, plan_id: int) -> HttpResponse:
    viewer, found = _changeable_plan(request, plan_id)
    plan_row: PlanOfSafeCare = found.record
    gate = found.gate
    require_page(
        require_create,
        viewer,
        PlanNeed,
        family_id=plan_row.family_id,
        category=plan_row.sensitivity,
        gate=gate,
        kind=plan_row.kind,
    )
    domain = request.GET.get("domain", "")
    referrals = safecare.referral_choices(gate=gate, family_id=plan_row.family_id)
    form = NeedForm(
        request.POST if request.method == "POST" else None,
        referrals=referrals,
        initial={"domain": domain if domain in PlanDomain.values else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            need = safecare.add_need(viewer=viewer, plan_id=plan_row.pk, data=_need_input(form, form.referral_id))
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            _refused(form, error)
        else:
            messages.success(request, f"Need added under “{need.get_domain_display()}”.")
            return redirect(_plan_url(plan_row.pk, f"domain-{need.domain}"))
    return _render_form(request, form, _context(plan_row, "Add a need to the plan", submit_label="Add the need"))


@login_required
def need_edit(request: HttpRequest, need_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    _staff(viewer)
    found = safecare.access_need(viewer=viewer, need_id=need_id)
    need: PlanNeed = found.record
    require_page(require, viewer, Interaction.CHANGE, need, gate=found.gate)
    referrals = safecare.referral_choices(gate=found.gate, family_id=need.family_id)
    linked = need.referral_id_ref
    keep = linked is not None and linked not in dict(referrals)
    form = NeedEditForm(
        request.POST if request.method == "POST" else None,
        referrals=referrals,
        keep_referral=keep,
        initial={
            "version": need.version,
            "domain": need.domain,
            "need": need.need,
            "responsible": need.responsible,
            "service": need.service,
            "referral": str(linked) if linked and not keep else "",
            "status": need.status,
        },
    )
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            changed = safecare.change_need(
                viewer=viewer,
                need_id=need.pk,
                expected_version=form.cleaned_data["version"],
                data=_need_input(form, linked if keep else form.referral_id),
            )
        except ValidationError as error:
            apply_errors(form, error)
        except ConcurrentEditError as error:
            _refused(form, error)
            status = 409
        except PermissionDenied as error:
            _refused(form, error)
        else:
            messages.success(request, "The need is saved.")
            return redirect(_plan_url(changed.plan_id, f"domain-{changed.domain}"))
    return _render_form(
        request, form, _context(need.plan, "Edit a need", submit_label="Save", need=need), status=status
    )


@login_required
def need_remove(request: HttpRequest, need_id: int) -> HttpResponse:
    """Asks first (this page); removes on its POST."""
    viewer = viewer_for(request)
    _staff(viewer)
    found = safecare.access_need(viewer=viewer, need_id=need_id)
    need: PlanNeed = found.record
    require_page(require, viewer, Interaction.RETIRE, need, gate=found.gate)
    form = RemoveForm(request.POST if request.method == "POST" else None, initial={"version": need.version})
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            safecare.remove_need(viewer=viewer, need_id=need.pk, expected_version=form.cleaned_data["version"])
        except ValidationError as error:
            apply_errors(form, error)
        except ConcurrentEditError as error:
            _refused(form, error)
            status = 409
        except PermissionDenied as error:
            _refused(form, error)
        else:
            messages.success(request, f"The need was removed from “{need.get_domain_display()}”.")
            return redirect(_plan_url(need.plan_id, f"domain-{need.domain}"))
    return render(
        request,
        "pathways/plan_need_remove.html",
        _context(need.plan, "Remove this need?", form=form, need=need),
        status=status or (400 if form.errors else 200),
    )


# --- notification, agreement, discharge, closure ----------------------------------------------------------------


def _plan_action(
    request: HttpRequest,
    plan_id: int,
    *,
    form_class: type[Any],
    title: Callable[[PlanOfSafeCare], str],
    submit_label: str,
    intro: str,
    initial: Callable[[PlanOfSafeCare], dict[str, Any]],
    act: Callable[[Viewer, PlanOfSafeCare, dict[str, Any]], tuple[int, str]],
) -> HttpResponse:
    """One of the plan's moments, as a small form page: ``act`` calls the service and says what happened (a
    message level and its words)."""
    viewer, found = _changeable_plan(request, plan_id)
    plan_row: PlanOfSafeCare = found.record
    form = form_class(
        request.POST if request.method == "POST" else None, initial={"version": plan_row.version, **initial(plan_row)}
    )
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            level, said = act(viewer, plan_row, form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        except ConcurrentEditError as error:
            _refused(form, error)
            status = 409
        except PermissionDenied as error:
            _refused(form, error)
        else:
            messages.add_message(request, level, said)
            return redirect("pathways:plan", plan_id=plan_row.pk)
    page_extra: dict[str, Any] = {"submit_label": submit_label, "intro": intro}
    if intro == "notification":
        page_extra["explained"] = safecare.NOTIFICATION_EXPLAINED[
            NotificationKind(safecare.notification_kind_of(plan_row))
        ]
    if intro == "agree":
        page_extra["page"] = safecare.plan_page(viewer=viewer, plan_id=plan_row.pk)
    return _render_form(request, form, _context(plan_row, title(plan_row), **page_extra), status=status)


@login_required
def plan_notification(request: HttpRequest, plan_id: int) -> HttpResponse:
    def act(viewer: Viewer, plan_row: PlanOfSafeCare, data: dict[str, Any]) -> tuple[int, str]:
        done = safecare.record_notification(
            viewer=viewer, plan_id=plan_row.pk, expected_version=data["version"], notified_on=data["notified_on"]
        )
        return messages.SUCCESS, safecare.notification_line(done)

    def title(plan_row: PlanOfSafeCare) -> str:
        name = safecare.NOTIFICATION_NAME[NotificationKind(safecare.notification_kind_of(plan_row))]
        return f"Record the {name[:1].lower()}{name[1:]}"

    return _plan_action(
        request,
        plan_id,
        form_class=NotificationForm,
        title=title,
        submit_label="Record it",
        intro="notification",
        initial=lambda p: {"notified_on": p.notified_on or clock.today()},
        act=act,
    )


@login_required
def plan_agree(request: HttpRequest, plan_id: int) -> HttpResponse:
    def act(viewer: Viewer, plan_row: PlanOfSafeCare, data: dict[str, Any]) -> tuple[int, str]:
        agreed = safecare.agree_plan(
            viewer=viewer, plan_id=plan_row.pk, expected_version=data["version"], agreed_on=data["agreed_on"]
        )
        day = agreed.plan.discharge_day
        if agreed.late and day is not None:
            return messages.WARNING, (
                f"The plan is agreed with her, but late: the discharge day ({day:%-d %B %Y}) had passed. CAPTA asks "
                "for the plan before the baby goes home."
            )
        return messages.SUCCESS, "The plan is agreed with her, before discharge."

    return _plan_action(
        request,
        plan_id,
        form_class=AgreeForm,
        title=lambda p: "Agree the plan with her",
        submit_label="Agree the plan",
        intro="agree",
        initial=lambda p: {"agreed_on": clock.today()},
        act=act,
    )


@login_required
def plan_discharge(request: HttpRequest, plan_id: int) -> HttpResponse:
    def act(viewer: Viewer, plan_row: PlanOfSafeCare, data: dict[str, Any]) -> tuple[int, str]:
        done = safecare.record_discharge(
            viewer=viewer, plan_id=plan_row.pk, expected_version=data["version"], discharged_on=data["discharged_on"]
        )
        assert done.discharged_on is not None
        return messages.SUCCESS, f"Discharge recorded: {done.discharged_on:%-d %B %Y}."

    return _plan_action(
        request,
        plan_id,
        form_class=DischargeForm,
        title=lambda p: "Record the discharge",
        submit_label="Record the discharge",
        intro="discharge",
        initial=lambda p: {"discharged_on": p.discharged_on or clock.today()},
        act=act,
    )


@login_required
def plan_close(request: HttpRequest, plan_id: int) -> HttpResponse:
    def act(viewer: Viewer, plan_row: PlanOfSafeCare, data: dict[str, Any]) -> tuple[int, str]:
        safecare.close_plan(viewer=viewer, plan_id=plan_row.pk, expected_version=data["version"], note=data["note"])
        return messages.SUCCESS, "The plan is closed. It stays on her record, and can still be printed."

    return _plan_action(
        request,
        plan_id,
        form_class=CloseForm,
        title=lambda p: "Close the plan",
        submit_label="Close the plan",
        intro="close",
        initial=lambda p: {},
        act=act,
    )


# --- printing -------------------------------------------------------------------------------------------------------


@require_GET
@login_required
def plan_print(request: HttpRequest, plan_id: int) -> HttpResponse:
    document = safecare.plan_document(viewer=viewer_for(request), plan_id=plan_id, channel="print")
    response = render(request, "pathways/plan_print.html", {"doc": document, "plan_id": plan_id})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def plan_pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    document = safecare.plan_document(viewer=viewer_for(request), plan_id=plan_id, channel="export")
    response = HttpResponse(pdf.render_plan(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response["Cache-Control"] = "no-store"
    return response
