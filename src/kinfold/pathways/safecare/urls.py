"""The Plan of Safe Care pages, included into the ``pathways`` namespace by ``pathways/urls.py``
(``path("", include(safecare_urls))``): their names are used as ``pathways:<name>``."""

from django.urls import path

from kinfold.pathways.safecare import views

urlpatterns = [
    path("plans/new/<int:family_id>/", views.plan_new, name="plan_new"),
    path("plans/<int:plan_id>/", views.plan, name="plan"),
    path("plans/<int:plan_id>/details/", views.plan_edit, name="plan_edit"),
    path("plans/<int:plan_id>/needs/new/", views.need_new, name="plan_need_new"),
    path("plans/<int:plan_id>/notification/", views.plan_notification, name="plan_notification"),
    path("plans/<int:plan_id>/agree/", views.plan_agree, name="plan_agree"),
    path("plans/<int:plan_id>/discharge/", views.plan_discharge, name="plan_discharge"),
    path("plans/<int:plan_id>/close/", views.plan_close, name="plan_close"),
    path("plans/<int:plan_id>/print/", views.plan_print, name="plan_print"),
    path("plans/<int:plan_id>/plan-of-safe-care.pdf", views.plan_pdf, name="plan_pdf"),
    path("plans/needs/<int:need_id>/", views.need_edit, name="plan_need_edit"),
    path("plans/needs/<int:need_id>/remove/", views.need_remove, name="plan_need_remove"),
]
