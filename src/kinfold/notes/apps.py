from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "kinfold.notes"
    label = "notes"

    def ready(self) -> None:
        from kinfold.families.sections import FamilySection, register_section
        from kinfold.notes import records, selectors

        records.declare()
        register_section(
            FamilySection(
                "notes",
                30,
                "notes/_family_section.html",
                load=selectors.family_notes,
                export=selectors.export_notes,
            )
        )
