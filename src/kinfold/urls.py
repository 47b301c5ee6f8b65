from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from kinfold.api.routes import api
from kinfold.screening import views as screening_views
from kinfold.staff import views as staff_views
from kinfold.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    # Browsers ask for /favicon.ico on pages that link none (JSON, CSV): send them to the vendored icon.
    path("favicon.ico", RedirectView.as_view(url=static("kinfold/favicon.ico"), permanent=True), name="favicon"),
    path("accounts/login/", staff_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("kinfold.staff.urls")),
    path("families/", include("kinfold.families.urls")),
    path("families/<int:family_id>/", include("kinfold.consent.urls")),
    path("families/<int:family_id>/notes/", include("kinfold.notes.urls")),
    path("organisations/", include("kinfold.organizations.urls")),
    path("parent/", include("kinfold.parentmode.urls")),
    path("directory/", include("kinfold.directory.urls")),
    path("referrals/", include("kinfold.referrals.urls")),
    path("screening/", include("kinfold.screening.urls")),
    path("pathways/", include("kinfold.pathways.urls")),
    # A parent's one-time screening link: short, so it can be typed from a text message; it names nothing.
    path("s/<str:token>/", screening_views.link, name="screening_link"),
    path("api/", web_views.api_home, name="api_home"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]

handler400 = "kinfold.web.views.bad_request"
handler403 = "kinfold.web.views.permission_denied"
handler404 = "kinfold.web.views.page_not_found"
handler500 = "kinfold.web.views.server_error"
