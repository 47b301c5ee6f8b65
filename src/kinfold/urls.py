from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kinfold.api.routes import api
from kinfold.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("accounts/login/", web_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("families/", include("kinfold.families.urls")),
    path("families/<int:family_id>/", include("kinfold.consent.urls")),
    path("families/<int:family_id>/notes/", include("kinfold.notes.urls")),
    path("organisations/", include("kinfold.organizations.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
