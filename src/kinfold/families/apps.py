from django.apps import AppConfig


class FamiliesConfig(AppConfig):
    name = "kinfold.families"
    label = "families"

    def ready(self) -> None:
        from kinfold.families import records, sections

        records.declare()
        sections.declare()
