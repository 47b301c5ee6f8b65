"""The free-text indexes of the directory search (``kinfold.directory.search``), per database.

PostgreSQL: the ``pg_trgm`` extension, a GIN index on the English full-text vector of ``search_text`` and a
trigram GIN index on ``search_text`` itself (typo-tolerant word similarity).

SQLite: an FTS5 table over ``search_text`` (external content: the words stay in ``directory_service``), kept in
step by triggers, and an ``fts5vocab`` table over it (the words the search corrects a typing mistake to).
Caution: a later migration that makes SQLite rebuild ``directory_service`` (an ``AlterField``, say) drops the
triggers with the old table; it must call ``sqlite_forward`` again (``tests/test_directory_search.py`` fails if
the triggers are missing after all migrations).

Other databases: nothing (the search falls back to ``LIKE``).
"""

from django.db import migrations

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS directory_service_fulltext ON directory_service "
    "USING gin (to_tsvector('english', search_text))",
    "CREATE INDEX IF NOT EXISTS directory_service_trigram ON directory_service USING gin (search_text gin_trgm_ops)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS directory_service_trigram",
    "DROP INDEX IF EXISTS directory_service_fulltext",
]

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS directory_service_fts USING fts5("
    "search_text, content='directory_service', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS directory_service_fts_vocab USING fts5vocab(directory_service_fts, 'row')",
    "DROP TRIGGER IF EXISTS directory_service_fts_insert",
    "DROP TRIGGER IF EXISTS directory_service_fts_delete",
    "DROP TRIGGER IF EXISTS directory_service_fts_update",
    "CREATE TRIGGER directory_service_fts_insert AFTER INSERT ON directory_service BEGIN "
    "INSERT INTO directory_service_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER directory_service_fts_delete AFTER DELETE ON directory_service BEGIN "
    "INSERT INTO directory_service_fts(directory_service_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER directory_service_fts_update AFTER UPDATE OF id, search_text ON directory_service BEGIN "
    "INSERT INTO directory_service_fts(directory_service_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO directory_service_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    # Rows already there (a directory imported before this migration).
    "INSERT INTO directory_service_fts(directory_service_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS directory_service_fts_insert",
    "DROP TRIGGER IF EXISTS directory_service_fts_delete",
    "DROP TRIGGER IF EXISTS directory_service_fts_update",
    "DROP TABLE IF EXISTS directory_service_fts_vocab",
    "DROP TABLE IF EXISTS directory_service_fts",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def sqlite_forward(schema_editor):
    _run(schema_editor, SQLITE_FORWARD)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, PG_FORWARD)
    elif vendor == "sqlite":
        sqlite_forward(schema_editor)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, PG_BACKWARD)  # the extension stays: other databases objects may use it
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
