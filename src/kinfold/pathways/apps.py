from django.apps import AppConfig
from django.core import checks


class PathwaysConfig(AppConfig):
    name = "kinfold.pathways"
    label = "pathways"

    def ready(self) -> None:
        from kinfold.families.sections import FamilySection, register_section
        from kinfold.families.selectors import register_caseload_extra
        from kinfold.families.services import register_anchor_listener
        from kinfold.pathways import definitions, records, selectors, services

        records.declare()
        # Every pathway file loads when the server starts (a bad one stops it, naming file, line and field).
        checks.register(definitions.check_pathway_files)
        # A corrected due date or a delivery moves the due dates that count from it.
        register_anchor_listener(
            lambda viewer, family_id, why: services.reschedule_family(viewer=viewer, family_id=family_id, why=why)
        )
        register_caseload_extra("pathway_steps", selectors.caseload_steps_query, selectors.caseload_steps_from)
        register_section(
            FamilySection(
                "pathways",
                20,
                "pathways/_family_section.html",
                load=selectors.family_pathways,
                export=selectors.export_pathways,
            )
        )
