"""Issue 15: the caseload's rows are a Jinja2 template (``families/caseload_rows.html``, ``kinfold.web.jinja``), for
speed. They must read exactly as Django's templates wrote them: every value escaped, the last activity's time in the
site's time zone with Django's own formats, and a misspelt name an error rather than a silent blank."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.template import engines
from django.test import Client
from django.urls import reverse
from jinja2 import UndefinedError

from kinfold.families.selectors import CaseloadRow
from tests.factories import make_family


@pytest.mark.django_db
def test_her_caseload_escapes_every_name_and_shows_the_time_as_django_templates_do(coordinator: Any) -> None:
    family = make_family(coordinator, given_name='<b>Rosa</b> & "Ro"', family_name="<script>alert(1)</script>")
    client = Client()
    client.force_login(coordinator.user)
    page = client.get(reverse("families:caseload")).content.decode()

    assert "<script>alert(1)</script>" not in page and "<b>Rosa</b>" not in page
    assert "&lt;b&gt;Rosa&lt;/b&gt; &amp; &#34;Ro&#34; &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f'href="/families/{family.pk}/"' in page
    # The last activity: the same words, attributes and zone as Django's ``date:'c'``, ``{{ value }}`` and
    # ``naturaltime`` give for the same time.
    found = re.search(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', page)
    assert found is not None, "the row names when the family last changed"
    row = client.get(reverse("families:caseload")).context["rows"][0]
    django = engines["django"].from_string(
        '{% load humanize %}<time datetime="{{ at|date:\'c\' }}" title="{{ at }}">{{ at|naturaltime }}</time>'
    )
    assert found.group(0) == django.render({"at": row.last_activity_at})
    assert found.group(1).endswith(("-05:00", "-04:00"))  # the site's zone (America/New_York), not UTC


def test_a_name_the_rows_template_does_not_know_is_an_error_not_a_blank() -> None:
    template = engines["jinja2"].from_string("{{ row.parent_nmae }}")
    row = CaseloadRow(
        family_id=1, parent_name="Rosa", stage="", coordinator=None, organizations=[], last_activity_at=None
    )
    with pytest.raises(UndefinedError):
        template.render({"row": row})
