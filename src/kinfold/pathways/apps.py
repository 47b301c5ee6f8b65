from typing import Any

from django.apps import AppConfig
from django.core import checks


def check_pathway_files(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every pathway file loads (Kinfold's and a county's own): a bad file stops the server at start, naming the
    file, line and field."""
    from kinfold.pathways.definitions import PathwayFileError, catalogue

    catalogue.cache_clear()
    try:
        catalogue()
    except PathwayFileError as error:
        return [checks.Error(str(error), id="pathways.E001")]
    return []


class PathwaysConfig(AppConfig):
    name = "kinfold.pathways"
    label = "pathways"

    def ready(self) -> None:
        from kinfold.families.sections import FamilySection, register_section
        from kinfold.families.selectors import register_caseload_extra
        from kinfold.families.services import register_anchor_listener
        from kinfold.pathways import records, selectors, services

        records.declare()
        checks.register(check_pathway_files)
        register_anchor_listener(
            lambda viewer, family_id, why: services.reschedule_family(viewer=viewer, family_id=family_id, why=why)
        )
        register_caseload_extra("pathway_steps", selectors.caseload_step_counts)
        register_section(
            FamilySection(
                "pathways",
                20,
                "pathways/_family_section.html",
                load=selectors.family_pathways,
                export=selectors.export_pathways,
            )
        )
