"""The free-text indexes of the directory search (``kinfold.directory.search``), per database.

PostgreSQL: a GIN index on the English full-text vector of ``search_text`` (``to_tsvector('english', …)``
through ``directory_service_vector``, see below), and the ``pg_trgm`` extension with the vocabulary a mistyped
word is corrected against: ``directory_search_word`` (every word with a letter in it of every ``search_text``,
added by a trigger; words are never removed, so a word no listing uses any more may still be offered as a
correction and simply match nothing) with a trigram GiST index. (A trigram index on ``search_text`` itself was
tried first: its matches must each be rechecked with ``word_similarity`` over the whole text, about 100 µs a
row, which made a search for a common word take over 200 ms with only 5,000 services.) Indexes that let a
search near a place read (location, service) pairs from indexes alone, and one on (name, id).

SQLite: an FTS5 table over ``search_text`` (external content: the words stay in ``directory_service``), kept in
step by triggers, and an ``fts5vocab`` table over it (the words the search corrects a typing mistake to).
Caution: a later migration that makes SQLite rebuild ``directory_service`` (an ``AlterField``, say) drops the
triggers with the old table; it must call ``sqlite_forward`` again (``tests/test_directory_search.py`` fails if
the triggers are missing after all migrations).

Other databases: nothing (the search falls back to ``LIKE``).
"""

from django.db import migrations

# Results without a place are in name order: an index lets the first thousand be read without sorting them all.
NAME_INDEX = "CREATE INDEX IF NOT EXISTS directory_service_name ON directory_service (name, id)"
# A search near a place reads (location → service) pairs in a box from indexes alone.
PLACE_INDEX = (
    "CREATE INDEX IF NOT EXISTS directory_serviceatlocation_place "
    "ON directory_serviceatlocation (location_id, service_id)"
)
PG_FORWARD = [
    NAME_INDEX,
    PLACE_INDEX,
    # SQLite's index on (latitude, longitude) holds the row id already; PostgreSQL's needs it included.
    "CREATE INDEX IF NOT EXISTS directory_location_box ON directory_location (latitude, longitude) INCLUDE (id)",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # to_tsvector('english', search_text), wrapped so the planner is told what it costs: to_tsvector's own
    # estimate (COST 100) is ten times too low for a listing's text (~25 µs), so with a few thousand services
    # PostgreSQL preferred reading every row and computing its vector (125 ms at 5,000) to this index (2 ms).
    # PL/pgSQL, so it is not inlined back into a bare to_tsvector call.
    """
    CREATE OR REPLACE FUNCTION directory_service_vector(words text) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 5000 AS $$
    BEGIN
        RETURN to_tsvector('english'::regconfig, words);
    END;
    $$
    """,
    "CREATE INDEX IF NOT EXISTS directory_service_fulltext ON directory_service "
    "USING gin (directory_service_vector(search_text))",
    # Every word used in any listing ("C" collation: a prefix is a range of the primary key), with a trigram
    # index: a mistyped word is corrected to its nearest words here (GiST: "ORDER BY word <-> typed LIMIT n"
    # walks the index nearest first), then searched in the full-text index.
    "CREATE TABLE IF NOT EXISTS directory_search_word (word text COLLATE \"C\" PRIMARY KEY)",
    "CREATE INDEX IF NOT EXISTS directory_search_word_trigram ON directory_search_word USING gist (word gist_trgm_ops)",
    """
    CREATE OR REPLACE FUNCTION directory_search_words() RETURNS trigger AS $$
    BEGIN
        INSERT INTO directory_search_word (word)
        SELECT DISTINCT lexeme FROM unnest(to_tsvector('simple', NEW.search_text))
        WHERE length(lexeme) BETWEEN 3 AND 40 AND lexeme ~ '^[[:alnum:]]+$' AND lexeme ~ '[[:alpha:]]'
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS directory_service_search_words ON directory_service",
    "CREATE TRIGGER directory_service_search_words AFTER INSERT OR UPDATE OF search_text ON directory_service "
    "FOR EACH ROW EXECUTE FUNCTION directory_search_words()",
    # Rows already there (a directory imported before this migration).
    "INSERT INTO directory_search_word (word) SELECT DISTINCT lexeme FROM directory_service, "
    "unnest(to_tsvector('simple', search_text)) WHERE length(lexeme) BETWEEN 3 AND 40 "
    "AND lexeme ~ '^[[:alnum:]]+$' AND lexeme ~ '[[:alpha:]]' ON CONFLICT DO NOTHING",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS directory_service_search_words ON directory_service",
    "DROP FUNCTION IF EXISTS directory_search_words()",
    "DROP TABLE IF EXISTS directory_search_word",
    "DROP INDEX IF EXISTS directory_service_fulltext",
    "DROP FUNCTION IF EXISTS directory_service_vector(text)",
    "DROP INDEX IF EXISTS directory_service_name",
    "DROP INDEX IF EXISTS directory_serviceatlocation_place",
    "DROP INDEX IF EXISTS directory_location_box",
]

SQLITE_FORWARD = [
    NAME_INDEX,
    PLACE_INDEX,
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
    "DROP INDEX IF EXISTS directory_service_name",
    "DROP INDEX IF EXISTS directory_serviceatlocation_place",
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
