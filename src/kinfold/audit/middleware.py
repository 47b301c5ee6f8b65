"""Puts the client address of each request where the audit trail can read it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from kinfold.audit.services import RequestContext, reset_request_context, set_request_context


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = set_request_context(RequestContext(client_address=request.META.get("REMOTE_ADDR")))
        try:
            return self.get_response(request)
        finally:
            reset_request_context(token)
