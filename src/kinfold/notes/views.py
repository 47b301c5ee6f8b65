from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from kinfold import clock
from kinfold.families.views import _apply_errors, _family, _viewer
from kinfold.notes import services
from kinfold.notes.forms import NoteForm


@login_required
def note_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = _viewer(request)
    family = _family(viewer, family_id)
    kinds = services.kinds_for(viewer)
    form = NoteForm(
        request.POST if request.method == "POST" else None, kinds=kinds, initial={"occurred_on": clock.today()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.note_add(viewer=viewer, family=family, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Note added.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "notes/note_form.html",
        {"form": form, "family": family, "title": "Add a note"},
        status=400 if form.errors else 200,
    )
