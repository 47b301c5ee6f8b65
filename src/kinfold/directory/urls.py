from django.urls import path

from kinfold.directory import views

app_name = "directory"
urlpatterns = [
    path("", views.search, name="search"),
    path("ours/", views.our_listings, name="ours"),
    path("services/<int:service_id>/", views.service_detail, name="service"),
    path("services/<int:service_id>/edit/", views.service_edit, name="edit"),
    path("services/<int:service_id>/assure/", views.service_assure, name="assure"),
    path("import/", views.hsds_import, name="import"),
    path("export/", views.hsds_export, name="export"),
]
