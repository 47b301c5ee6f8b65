from django.urls import include, path

from kinfold.pathways import views
from kinfold.pathways.safecare import urls as safecare_urls

app_name = "pathways"
urlpatterns = [
    path("family/<int:family_id>/enrol/", views.enrol, name="enrol"),
    path("family/<int:family_id>/dates/new/", views.new_date, name="new_date"),
    path("family/<int:family_id>/decisions/new/", views.new_decision, name="new_decision"),
    path("steps/", views.my_steps, name="my_steps"),
    path("steps/<int:step_id>/", views.step, name="step"),
    path("steps/<int:step_id>/done/", views.step_done, name="step_done"),
    path("steps/<int:step_id>/not-applicable/", views.step_not_applicable, name="step_not_applicable"),
    path("steps/<int:step_id>/reopen/", views.step_reopen, name="step_reopen"),
    path("steps/<int:step_id>/reassign/", views.step_reassign, name="step_reassign"),
    path("dates/<int:event_id>/", views.correct_date, name="correct_date"),
    path("decisions/<int:record_id>/", views.decision, name="decision"),
    path("<int:enrolment_id>/", views.enrolment, name="enrolment"),
    path("<int:enrolment_id>/end/", views.end, name="end"),
    path("", include(safecare_urls)),
]
