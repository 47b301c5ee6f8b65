from django.apps import AppConfig


class FamiliesConfig(AppConfig):
    name = "kinfold.families"
    label = "families"
