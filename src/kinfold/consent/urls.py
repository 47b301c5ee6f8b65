"""Consent, restriction, court-order, emergency-access and accounting pages, under /families/<id>/…"""

from kinfold.consent.views import accounting, court_orders, directives, emergencies, restrictions

app_name = "consent"
urlpatterns = (
    directives.urlpatterns
    + court_orders.urlpatterns
    + emergencies.urlpatterns
    + restrictions.urlpatterns
    + accounting.urlpatterns
)
