from django.apps import AppConfig


class ParentModeConfig(AppConfig):
    name = "kinfold.parentmode"
    label = "parentmode"
    verbose_name = "Parent mode"
