from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def home(request: HttpRequest) -> HttpResponse:
    return redirect("families:caseload" if request.user.is_authenticated else "login")


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True
