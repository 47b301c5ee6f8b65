"""Parent mode's pages, under /parent/. Only these answer while the tablet is in parent mode (``middleware``);
the signing step is the consent capture's own (``consent.views.directives``), shown in parent mode's layout."""

from django.urls import path

from kinfold.consent.views.directives import consent_tablet_sign
from kinfold.parentmode import views
from kinfold.screening.views import parent_mode_screening

app_name = "parentmode"
urlpatterns = [
    path("", views.consents, name="home"),
    path("team/", views.team, name="team"),
    path("accounting/", views.accounting, name="accounting"),
    path("sign/", consent_tablet_sign, name="sign"),
    path("questionnaire/", parent_mode_screening, name="screening"),
    path("language/", views.language, name="language"),
    path("leave/", views.leave, name="leave"),
    path("start/<int:family_id>/", views.start, name="start"),
]
