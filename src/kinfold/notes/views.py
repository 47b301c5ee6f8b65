"""The note page: thin, through the door (``families.selectors.access_family``) and one service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from kinfold import clock
from kinfold.access.door import require_create, require_page
from kinfold.access.http import viewer_for
from kinfold.families.models import Sensitivity
from kinfold.families.selectors import access_family
from kinfold.notes import services
from kinfold.notes.forms import NoteForm
from kinfold.notes.models import Note
from kinfold.web.forms import apply_errors


@login_required
def note_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    family, gate = access_family(viewer=viewer, family_id=family_id)
    kinds = services.kinds_for(gate=gate, family_id=family.pk)
    if not kinds:  # audited, as a refused POST would be
        require_page(require_create, viewer, Note, family_id=family.pk, category=Sensitivity.CONTACT, gate=gate)
    form = NoteForm(
        request.POST if request.method == "POST" else None, kinds=kinds, initial={"occurred_on": clock.today()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.note_add(viewer=viewer, family=family, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Note added.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "notes/note_form.html",
        {"form": form, "family": family, "title": "Add a note"},
        status=400 if form.errors else 200,
    )
