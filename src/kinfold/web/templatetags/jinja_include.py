"""``{% jinja_include "name.html" key=value … %}``: a Jinja2 template (``kinfold.web.jinja``) rendered inside a
Django one, with only the values given (not the page's whole context)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def jinja_include(template_name: str, **values: Any) -> SafeString:
    # Jinja2 escapes every value itself (autoescape is on in the Django backend's environment).
    return mark_safe(engines["jinja2"].get_template(template_name).render(values))  # noqa: S308
