"""Pathway pages. Staff: enrol a family, see an enrolment and its steps, do a step (done, not applicable,
reassign, undo), end an enrolment, "My steps" (overdue and due this week; a supervisor's view of her
organisation's), record or correct a child-welfare date, record and read a shared decision-making conversation.
Thin: parse, call one selector or service, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kinfold import clock
from kinfold.access.http import viewer_for
from kinfold.families.selectors import access_family
from kinfold.families.services import ConcurrentEditError
from kinfold.pathways import selectors, services
from kinfold.pathways.forms import (
    ChildWelfareEventForm,
    CorrectDateForm,
    DoneForm,
    EndForm,
    EnrolForm,
    NotApplicableForm,
    ReassignForm,
    SharedDecisionForm,
    VersionForm,
)
from kinfold.pathways.models import DecisionTopic
from kinfold.web.forms import apply_errors


def _staff(viewer: Any) -> None:
    if viewer.membership is None:
        raise PermissionDenied("Only staff work on pathways.")


# --- enrolling ------------------------------------------------------------------------------------------------


@login_required
def enrol(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    _staff(viewer)
    family, gate = access_family(viewer=viewer, family_id=family_id)
    offered = selectors.family_pathways_offered(viewer=viewer, family=family, gate=gate)
    caseworkers, mentors = selectors.pair_choices(viewer.organization_id or 0)
    pairs: dict[tuple[int, int], int] = {}
    for pathway in offered:
        if pathway.pair_cap:
            pairs.update(services.pair_caseloads(viewer.organization_id or 0, pathway.key))
    form = EnrolForm(
        request.POST if request.method == "POST" else None,
        pathways=offered,
        caseworkers=caseworkers,
        mentors=mentors,
        pair_counts=pairs,
        initial={"enrolled_on": clock.today()},
    )
    if not any(p.pair_cap for p in offered):
        del form.fields["caseworker"], form.fields["mentor"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            enrolment = services.enrol(
                viewer=viewer,
                family=family,
                pathway_key=data["pathway"],
                enrolled_on=data["enrolled_on"],
                caseworker=data.get("caseworker"),
                mentor=data.get("mentor"),
                gate=gate,
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Enrolled in {enrolment.title}. Its steps and due dates are below.")
            return redirect("pathways:enrolment", enrolment_id=enrolment.pk)
    return render(
        request,
        "pathways/enrol.html",
        {"form": form, "family": family, "offered": offered, "title": "Enrol in a pathway"},
        status=400 if form.errors else 200,
    )


# --- an enrolment ---------------------------------------------------------------------------------------------


@login_required
def enrolment(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    page = selectors.enrolment_page(viewer=viewer, enrolment_id=enrolment_id)
    end_form = EndForm(initial={"version": page.enrolment.enrolment.version}) if page.enrolment.may_change else None
    return render(request, "pathways/enrolment.html", {"page": page, "family": page.family, "end_form": end_form})


@login_required
@require_POST
def end(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    page = selectors.enrolment_page(viewer=viewer, enrolment_id=enrolment_id)
    form = EndForm(request.POST)
    if form.is_valid():
        try:
            services.end_enrolment(
                viewer=viewer,
                enrolment_id=enrolment_id,
                reason=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
        except (ValidationError, ConcurrentEditError, PermissionDenied) as error:
            _form_error(form, error)
        else:
            messages.success(request, "The family has left this pathway. Its steps stay on her record.")
            return redirect("pathways:enrolment", enrolment_id=enrolment_id)
    return render(
        request, "pathways/enrolment.html", {"page": page, "family": page.family, "end_form": form}, status=400
    )


def _form_error(form: Any, error: Exception) -> None:
    if isinstance(error, ValidationError):
        apply_errors(form, error)
    else:
        form.add_error(None, str(error))


# --- a step ---------------------------------------------------------------------------------------------------


def _step_page(
    request: HttpRequest, step_id: int, forms: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    viewer = viewer_for(request)
    access = selectors.access_step(viewer=viewer, step_id=step_id)
    step = access.record
    view = selectors.step_view(step, today=clock.today(), gate=access.gate)
    forms = forms or {}
    if view.may_change and step.enrolment.is_active:
        version = {"version": step.version}
        if step.is_open:
            forms.setdefault("done", DoneForm(initial={**version, "done_on": clock.today()}, auto_id="done_%s"))
            forms.setdefault("not_applicable", NotApplicableForm(initial=version, auto_id="na_%s"))
            forms.setdefault(
                "reassign",
                ReassignForm(
                    initial={**version, "assignee": step.assignee_id},
                    people=selectors.assignable(step),
                    auto_id="reassign_%s",
                ),
            )
        else:
            forms.setdefault("reopen", VersionForm(initial=version, auto_id="reopen_%s"))
    return render(
        request,
        "pathways/step.html",
        {
            "view": view,
            "step": step,
            "family": step.family,
            "forms": forms,
            "others": selectors.step_history(step),
        },
        status=status,
    )


@login_required
def step(request: HttpRequest, step_id: int) -> HttpResponse:
    return _step_page(request, step_id)


def _step_action(request: HttpRequest, step_id: int, name: str, form: Any, act: Any, done_words: str) -> HttpResponse:
    viewer = viewer_for(request)
    selectors.access_step(viewer=viewer, step_id=step_id)  # the door first: a step she may not read is a 404
    if form.is_valid():
        try:
            act(viewer, form.cleaned_data)
        except (ValidationError, ConcurrentEditError, PermissionDenied) as error:
            _form_error(form, error)
        else:
            messages.success(request, done_words)
            return redirect("pathways:step", step_id=step_id)
    return _step_page(request, step_id, {name: form}, status=400)


@login_required
@require_POST
def step_done(request: HttpRequest, step_id: int) -> HttpResponse:
    return _step_action(
        request,
        step_id,
        "done",
        DoneForm(request.POST, auto_id="done_%s"),
        lambda viewer, d: services.complete_step(
            viewer=viewer, step_id=step_id, done_on=d["done_on"], note=d["note"], expected_version=d["version"]
        ),
        "Step recorded as done.",
    )


@login_required
@require_POST
def step_not_applicable(request: HttpRequest, step_id: int) -> HttpResponse:
    return _step_action(
        request,
        step_id,
        "not_applicable",
        NotApplicableForm(request.POST, auto_id="na_%s"),
        lambda viewer, d: services.mark_not_applicable(
            viewer=viewer, step_id=step_id, reason=d["note"], expected_version=d["version"]
        ),
        "Step marked not applicable. You can undo this below.",
    )


@login_required
@require_POST
def step_reopen(request: HttpRequest, step_id: int) -> HttpResponse:
    return _step_action(
        request,
        step_id,
        "reopen",
        VersionForm(request.POST, auto_id="reopen_%s"),
        lambda viewer, d: services.reopen_step(viewer=viewer, step_id=step_id, expected_version=d["version"]),
        "The step is open again.",
    )


@login_required
@require_POST
def step_reassign(request: HttpRequest, step_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    access = selectors.access_step(viewer=viewer, step_id=step_id)
    return _step_action(
        request,
        step_id,
        "reassign",
        ReassignForm(request.POST, people=selectors.assignable(access.record), auto_id="reassign_%s"),
        lambda viewer, d: services.reassign_step(
            viewer=viewer, step_id=step_id, assignee=d["assignee"], expected_version=d["version"]
        ),
        "Responsible person changed.",
    )


# --- my steps -------------------------------------------------------------------------------------------------


@login_required
def my_steps(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    _staff(viewer)
    scope = "organization" if request.GET.get("scope") == "organization" else "mine"
    due = selectors.due_steps(viewer=viewer, scope=scope)
    return render(request, "pathways/my_steps.html", {"due": due, "scope": scope, "today": clock.today()})


# --- child-welfare dates --------------------------------------------------------------------------------------


@login_required
def new_date(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    _staff(viewer)
    family, gate = access_family(viewer=viewer, family_id=family_id)
    form = ChildWelfareEventForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_child_welfare_event(
                viewer=viewer,
                family=family,
                event=data["event"],
                occurred_on=data["occurred_on"],
                note=data["note"],
                gate=gate,
            )
        except (ValidationError, PermissionDenied) as error:
            _form_error(form, error)
        else:
            messages.success(request, "Date recorded. Pathway due dates that count from it have moved.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "pathways/date_form.html",
        {"form": form, "family": family, "title": "Record a child-welfare date"},
        status=400 if form.errors else 200,
    )


@login_required
def correct_date(request: HttpRequest, event_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    _staff(viewer)
    access = selectors.access_child_welfare_event(viewer=viewer, event_id=event_id)
    record = access.record
    form = CorrectDateForm(
        request.POST if request.method == "POST" else None,
        initial={"version": record.version, "occurred_on": record.occurred_on},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.correct_child_welfare_event(
                viewer=viewer,
                event_id=event_id,
                occurred_on=form.cleaned_data["occurred_on"],
                expected_version=form.cleaned_data["version"],
            )
        except (ValidationError, ConcurrentEditError, PermissionDenied) as error:
            _form_error(form, error)
        else:
            messages.success(request, "Date corrected. Pathway due dates that count from it have moved.")
            return redirect("families:detail", family_id=record.family_id)
    return render(
        request,
        "pathways/date_form.html",
        {"form": form, "family": record.family, "record": record, "title": f"Correct: {record.get_event_display()}"},
        status=400 if form.errors else 200,
    )


# --- shared decision-making -----------------------------------------------------------------------------------


@login_required
def new_decision(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    _staff(viewer)
    family, gate = access_family(viewer=viewer, family_id=family_id)
    form = SharedDecisionForm(request.POST if request.method == "POST" else None, initial={"met_on": clock.today()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = services.record_shared_decision(
                viewer=viewer,
                family=family,
                met_on=data["met_on"],
                topics=form.topics(),
                goals=data["goals"],
                who_took_part=data["who_took_part"],
                gate=gate,
            )
        except (ValidationError, PermissionDenied) as error:
            _form_error(form, error)
        else:
            messages.success(request, "Conversation recorded.")
            return redirect("pathways:decision", record_id=record.pk)
    return render(
        request,
        "pathways/decision_form.html",
        {"form": form, "family": family, "title": "Record a shared decision-making conversation"},
        status=400 if form.errors else 200,
    )


@login_required
def decision(request: HttpRequest, record_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    access = selectors.access_decision(viewer=viewer, record_id=record_id)
    record = access.record
    topics = [(str(t.label), record.topics.get(t.value, {})) for t in DecisionTopic]
    return render(
        request,
        "pathways/decision.html",
        {"record": record, "family": record.family, "topics": topics, "title": str(record)},
    )
