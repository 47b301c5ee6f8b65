"""The accounting of disclosures keeps one index besides its key, ``(family, -occurred_at)``: the single-column
indexes Django gives a foreign key cost every page view their upkeep and no read uses them (issue 15). Only the
indexes are dropped: the foreign-key constraints stay as they are (Django's own ``AlterField`` would drop and add
each again, checking the whole table)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


INDEXES = {
    "consent_disclosure_consent_version_id_5222a59a": "consent_version_id",
    "consent_disclosure_court_order_id_6d530272": "court_order_id",
    "consent_disclosure_disclosing_org_id_105ebc5e": "disclosing_org_id",
    "consent_disclosure_emergency_id_3fe10b47": "emergency_id",
    "consent_disclosure_family_id_563d175b": "family_id",
    "consent_disclosure_occurred_at_e7217dce": "occurred_at",
    "consent_disclosure_recipient_org_id_a5c12058": "recipient_org_id",
    "consent_disclosure_recipient_user_id_5ea0c0be": "recipient_user_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0005_kinds_of_information"),
        ("families", "0005_person_home_and_insurance"),
        ("organizations", "0003_organization_safety_protocol"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=[f'DROP INDEX IF EXISTS "{name}"' for name in INDEXES],
                    reverse_sql=[
                        f'CREATE INDEX IF NOT EXISTS "{name}" ON "consent_disclosure" ("{column}")'
                        for name, column in INDEXES.items()
                    ],
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="disclosure",
                    name="consent_version",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="disclosures",
                        to="consent.consentversion",
                    ),
                ),
                migrations.AlterField(
                    model_name="disclosure",
                    name="court_order",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="consent.courtorder",
                    ),
                ),
                migrations.AlterField(
                    model_name="disclosure",
                    name="disclosing_org",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="disclosure",
                    name="emergency",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="consent.emergencyaccess",
                    ),
                ),
                migrations.AlterField(
                    model_name="disclosure",
                    name="family",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="disclosures",
                        to="families.family",
                    ),
                ),
                migrations.AlterField(
                    model_name="disclosure",
                    name="occurred_at",
                    field=models.DateTimeField(),
                ),
                migrations.AlterField(
                    model_name="disclosure",
                    name="recipient_org",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="disclosure",
                    name="recipient_user",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
