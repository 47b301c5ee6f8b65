from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "kinfold.notes"
    label = "notes"
