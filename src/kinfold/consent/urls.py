"""Consent, restriction, court-order, emergency-access and accounting pages, under /families/<id>/…"""

from kinfold.consent import access_views, accounting_views, views

app_name = "consent"
urlpatterns = views.urlpatterns + access_views.urlpatterns + accounting_views.urlpatterns
