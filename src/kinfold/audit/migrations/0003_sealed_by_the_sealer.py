"""The audit chain off the request path: events are appended freely and sealed into the hash chain later, in the
order sealed (``seal_seq``), by one sealer at a time. The database still refuses every DELETE and TRUNCATE, and
every UPDATE except the one that seals an unsealed event: setting its ``prev_hash``, ``hash`` and ``seal_seq``,
once, with nothing else changed."""

import importlib

from django.db import migrations, models

_0002 = importlib.import_module("kinfold.audit.migrations.0002_append_only_triggers")

CONTENT = [
    "id",
    "occurred_at",
    "actor_id",
    "actor_username",
    "actor_org_id",
    "actor_org_name",
    "action",
    "record_type",
    "record_id",
    "family_id",
    "purpose",
    "outcome",
    "client_address",
    "detail",
]

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION kinfold_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION kinfold_audit_seal_once() RETURNS trigger AS $$
BEGIN
    IF OLD.seal_seq IS NULL AND OLD.hash IS NULL AND OLD.prev_hash IS NULL
       AND NEW.seal_seq IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
       AND ({", ".join(f"NEW.{c}" for c in CONTENT)}) IS NOT DISTINCT FROM ({", ".join(f"OLD.{c}" for c in CONTENT)})
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (UPDATE refused: only an unsealed event is sealed, once)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_seal_once
    BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION kinfold_audit_seal_once();
CREATE TRIGGER audit_auditevent_append_only
    BEFORE DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION kinfold_audit_append_only();
CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION kinfold_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditevent_seal_once ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS kinfold_audit_seal_once();
DROP FUNCTION IF EXISTS kinfold_audit_append_only();
"""
_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)
SQLITE_FORWARD = [
    "CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent "
    "WHEN OLD.seal_seq IS NOT NULL OR OLD.hash IS NOT NULL OR OLD.prev_hash IS NOT NULL "
    "OR NEW.seal_seq IS NULL OR NEW.hash IS NULL OR NEW.prev_hash IS NULL "
    f"OR {_CHANGED} "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused: only an unsealed event is sealed, "
    "once)'); END;",
    "CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END;",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete;",
]


def _execute(schema_editor, pg: str, sqlite: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(pg, params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)


def drop_old_triggers(apps, schema_editor):
    _0002.backward(apps, schema_editor)


def recreate_old_triggers(apps, schema_editor):
    """Back to 0002: its triggers again (refusing every UPDATE)."""
    _0002.forward(apps, schema_editor)


def number_sealed_events(apps, schema_editor):
    """The events so far were chained in id order when written: that order is their place in the chain."""
    schema_editor.execute(
        "UPDATE audit_auditevent SET seal_seq = numbered.n FROM "
        "(SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM audit_auditevent) AS numbered "
        "WHERE audit_auditevent.id = numbered.id",
        params=None,
    )
    schema_editor.execute(
        "UPDATE audit_auditchainhead SET last_seq = (SELECT COUNT(*) FROM audit_auditevent)", params=None
    )


def create_triggers(apps, schema_editor):
    _execute(schema_editor, PG_FORWARD, SQLITE_FORWARD)


def drop_triggers(apps, schema_editor):
    _execute(schema_editor, PG_BACKWARD, SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.RunPython(drop_old_triggers, recreate_old_triggers),
        migrations.AddField(model_name="auditchainhead", name="last_seq", field=models.BigIntegerField(default=0)),
        migrations.AddField(
            model_name="auditevent", name="seal_seq", field=models.BigIntegerField(blank=True, null=True, unique=True)
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent", name="prev_hash", field=models.CharField(blank=True, max_length=64, null=True)
        ),
        migrations.RunPython(number_sealed_events, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
