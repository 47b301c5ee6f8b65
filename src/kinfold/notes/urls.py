from django.urls import path

from kinfold.notes import views

app_name = "notes"
urlpatterns = [path("new/", views.note_add, name="add")]
