from typing import Any

from django.apps import AppConfig
from django.core import checks


def check_instrument_files(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every instrument file loads (Kinfold's and an organisation's own): a bad file stops the server at start,
    naming the file, line and field, instead of failing the screening pages later."""
    from kinfold.screening.instruments import InstrumentFileError, catalogue

    catalogue.cache_clear()
    try:
        catalogue()
    except InstrumentFileError as error:
        return [checks.Error(str(error), id="screening.E001")]
    return []


class ScreeningConfig(AppConfig):
    name = "kinfold.screening"
    label = "screening"

    def ready(self) -> None:
        from kinfold.families.sections import FamilySection, register_section
        from kinfold.screening import records, selectors

        records.declare()
        checks.register(check_instrument_files)
        register_section(
            FamilySection(
                "screening",
                25,
                "screening/_family_section.html",
                load=selectors.family_screenings,
                export=selectors.export_screenings,
            )
        )
