"""The Jinja2 environment of the few templates that render many rows a request (the caseload's rows).

Django's own templates render every variable and tag through a chain of Python objects: the caseload's 25 rows took
about 4.5 ms of a 27 ms page. Jinja2 compiles a template to Python once, and renders the same rows in about a third
of that. Everything else stays in Django's templates; a Django template renders a Jinja2 one with
``{% jinja_include "families/caseload_rows.html" rows=rows %}`` (``kinfold.web.templatetags.jinja_include``).

The filters below are Django's own, so a value reads the same in both: ``localtime`` (the site's time zone, as Django's
templates convert a time before ``date`` and before showing it), ``date``, ``localize``, ``naturaltime``. (Django's
``date:'c'`` is the time's ``isoformat()``: a template may call that directly, at a fraction of the cost.) A name the
template does not know is an error (``StrictUndefined``), not a blank.

Words: Django's ``makemessages`` does not read Jinja2 templates. The staff's pages are in English; a parent's page,
whose words are translated, stays a Django template.
"""

from __future__ import annotations

from typing import Any

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.defaultfilters import date
from django.templatetags.static import static
from django.urls import reverse
from django.utils.formats import localize
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs
from jinja2 import Environment, StrictUndefined


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{% url name arg %}``: the path of a named route."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def environment(**options: Any) -> Environment:
    options.pop("autoescape", None)  # always on, whatever the settings say
    options.pop("undefined", None)
    env = Environment(autoescape=True, undefined=StrictUndefined, **options)
    env.globals.update(url=url, static=static)
    env.filters.update(localtime=template_localtime, date=date, localize=localize, naturaltime=naturaltime)
    return env
