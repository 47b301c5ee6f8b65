from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "kinfold.consent"
    label = "consent"

    def ready(self) -> None:
        from kinfold.access.accounting import on_emergency_records_opened
        from kinfold.consent import records, selectors
        from kinfold.consent.services.emergencies import emergency_records_opened
        from kinfold.families.sections import FamilySection, register_section

        records.declare()
        # 42 CFR 2.51(c): each organisation whose records an emergency opens is told, once.
        on_emergency_records_opened(emergency_records_opened)
        register_section(
            FamilySection(
                "access",
                10,
                "consent/_access_section.html",
                load=selectors.access_section,
                export=selectors.export_access,
            )
        )
        register_section(
            FamilySection(
                "consents",
                40,
                "consent/_family_section.html",
                load=selectors.consents_section,
                export=selectors.export_consents,
            )
        )
