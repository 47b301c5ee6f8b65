from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "kinfold.screening"
    label = "screening"

    def ready(self) -> None:
        from kinfold.families.sections import FamilySection, register_section
        from kinfold.screening import records, selectors

        records.declare()
        register_section(
            FamilySection(
                "screening",
                25,
                "screening/_family_section.html",
                load=selectors.family_screenings,
                export=selectors.export_screenings,
            )
        )
