from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "kinfold.referrals"
    label = "referrals"

    def ready(self) -> None:
        from kinfold.families.sections import FamilySection, register_section
        from kinfold.families.selectors import register_caseload_extra
        from kinfold.referrals import records, selectors

        records.declare()
        register_caseload_extra("referrals", selectors.sent_by_us_query, selectors.sent_by_us_from)
        register_section(
            FamilySection(
                "referrals",
                25,
                "referrals/_family_section.html",
                load=selectors.family_referrals,
                export=selectors.export_referrals,
            )
        )
