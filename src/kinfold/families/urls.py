from django.urls import path

from kinfold.families import views

app_name = "families"
urlpatterns = [
    path("", views.caseload, name="caseload"),
    path("new/", views.family_create, name="create"),
    path("<int:family_id>/", views.family_detail, name="detail"),
    path("<int:family_id>/export.json", views.family_export, name="export"),
    path("<int:family_id>/members/new/", views.family_member_add, name="member_add"),
    path("<int:family_id>/pregnancies/new/", views.pregnancy_add, name="pregnancy_add"),
    path("<int:family_id>/pregnancies/<int:episode_id>/due-date/", views.pregnancy_due_date, name="due_date"),
    path("<int:family_id>/pregnancies/<int:episode_id>/delivery/", views.delivery_record, name="delivery"),
    path("<int:family_id>/team/add/", views.team_member_add, name="team_add"),
    path("<int:family_id>/team/<int:member_id>/remove/", views.team_member_remove, name="team_remove"),
    path("<int:family_id>/team/<int:member_id>/coordinator/", views.coordinator_handover, name="coordinator"),
]
