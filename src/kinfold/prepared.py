"""prepared.py — a page's model queries, compiled once per process (issue 15).

A family's page runs about thirty ORM queries that differ from one request to the next only in the family's id.
Building a queryset and compiling it to SQL cost Django about as much as PostgreSQL spends running it (13 ms of a
70 ms page). ``prepared_list(key, build, value)`` compiles ``build(value)`` once, on first use, with a marker in
place of the value, and afterwards only runs the SQL with the new value and turns the rows into model instances
with Django's own machinery (the compiler's converters, ``from_db``, ``select_related``'s populators, then
``prefetch_related`` as the queryset declared it): the instances are those the ORM returns.

``build`` takes the value and nothing else from the request: every other parameter of its SQL (a date, a viewer's
organisation, a search) would be compiled in on first use and reused for everyone, so a query that needs one runs
through the ORM as usual. On other databases than PostgreSQL, and when the value does not reach the SQL as one
parameter, ``build(value)`` runs through the ORM.

The compiled statements are kept on the default connection (each thread has its own), by key: Kinfold has one
database. On PostgreSQL each is also a *server-side* prepared statement (``prepared_cursor``): the server plans it
once per connection instead of on every request (planning a dozen joins took it 1.3 ms, running it 0.2). Django
turns psycopg's prepared statements off for connection poolers in transaction mode; Kinfold uses them only for
these statements, and ``KINFOLD_DB_PREPARED_STATEMENTS=0`` (settings ``DB_PREPARED_STATEMENTS``) turns them off.

``insert_rows(rows)`` writes new rows (the accounting of disclosures and the audit trail's events, on every page that
shows a family's records): on PostgreSQL one prepared statement that takes every row as one JSON document
(``jsonb_to_recordset``), encoded by the C ``json`` module, the ids read back only when asked (``set_ids``). Django's
``bulk_create`` binds one array per column, and psycopg dumps each element in Python: 2.5 ms of a caseload's 3 for 19
rows; a model's ``save`` compiles its INSERT again on every call.

``utc_timestamps_in_c`` (on every new PostgreSQL connection) reads ``timestamptz`` values with psycopg's C loader
instead of Django's Python subclass of it: 0.2 µs a value instead of 3.7 (a caseload reads about 800, a whole
organisation's consents tens of thousands), the same ``datetime`` in UTC.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import AutoField, BigIntegerField, Field, Model, QuerySet, prefetch_related_objects
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql.compiler import SQLCompiler
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=Model)

_CACHE_ATTRIBUTE = "_kinfold_prepared"
BUILDERS: dict[str, Callable[[Any], QuerySet[Any]]] = {}  # every key used so far, with its ``build`` (for the tests)


@dataclass(frozen=True)
class _Prepared:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[int, ...]  # where the value goes among the parameters
    compiler: SQLCompiler
    init_list: tuple[str, ...]
    start: int
    end: int
    prefetch: tuple[Any, ...]


def _prepare(build: Callable[[Any], QuerySet[M]]) -> _Prepared | None:
    marker: list[Any] = []  # found among the compiled parameters by identity
    queryset = build(RawSQL("%s", (marker,), output_field=BigIntegerField()))
    query = queryset.query
    state: Any = queryset  # Django's own attributes, which the stubs do not name
    if state._fields is not None or state._known_related_objects or query.combinator:
        return None  # values(), a related manager's or a combined query: the ORM's own iterable
    if queryset.db != DEFAULT_DB_ALIAS:
        return None
    compiler = query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    slots = tuple(i for i, param in enumerate(params) if param is marker)
    if not slots or compiler.klass_info is None:
        return None
    select_fields = compiler.klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    return _Prepared(
        sql=sql,
        params=tuple(params),
        slots=slots,
        compiler=compiler,
        init_list=tuple(f[0].target.attname for f in compiler.select[start:end]),
        start=start,
        end=end,
        prefetch=tuple(state._prefetch_related_lookups),
    )


def prepared_list(key: str, build: Callable[[Any], QuerySet[M]], value: int) -> list[M]:
    """``list(build(value))``, with the SQL compiled once per process (PostgreSQL). ``key`` names the query: one
    key, one ``build``."""
    if BUILDERS.setdefault(key, build) is not build:
        raise ValueError(f"two queries prepared under one key: {key!r}")
    connection = connections[DEFAULT_DB_ALIAS]  # this thread's
    if connection.vendor != "postgresql":
        return list(build(value))
    cache: dict[str, _Prepared | None] = connection.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
    if key not in cache:
        cache[key] = _prepare(build)
    entry = cache[key]
    if entry is None:
        return list(build(value))
    return _run(entry, connection, value)


class _PreparingCursor(psycopg.Cursor[Any]):
    """A server-side binding cursor whose every statement is prepared on the server (once per connection)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


@contextmanager
def prepared_cursor(connection: Any) -> Iterator[Any]:
    """A cursor of ``connection`` (Django's own wrapper: logged, counted and wrapped like any other) whose
    statements PostgreSQL plans once per connection. Its SQL must be the same text every time, with ``%s`` for
    every value that changes; elsewhere (another database, or prepared statements turned off) an ordinary
    cursor."""
    if connection.vendor != "postgresql" or not getattr(settings, "DB_PREPARED_STATEMENTS", True):
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = _PreparingCursor(connection.connection)
    wrapper = _LoggedCursor if connection.queries_logged else CursorWrapper
    with wrapper(raw, connection) as cursor:
        yield cursor


class _LoggedCursor(CursorDebugWrapper):
    """Django's logging cursor, naming each statement with its values (psycopg keeps no text of a prepared one)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        try:
            text = self.db.ops.compose_sql(sql, params)
        except Exception:  # a value that cannot be shown as SQL: the statement as written
            text = sql
        with self.debug_sql(text, params):
            return CursorWrapper.execute(self, sql, params)


def _run(entry: _Prepared, connection: Any, value: int) -> list[Any]:
    bound = list(entry.params)
    for i in entry.slots:
        bound[i] = value
    with prepared_cursor(connection) as cursor:
        cursor.execute(entry.sql, bound)
        rows = cursor.fetchall()
    compiler = entry.compiler
    if compiler.has_extra_select:
        rows = [row[: compiler.col_count] for row in rows]
    klass_info = compiler.klass_info
    assert klass_info is not None
    model = klass_info["model"]
    db = connection.alias
    populators = get_related_populators(klass_info, compiler.select, db)
    annotations = compiler.annotation_col_map
    objects = []
    for row in compiler.results_iter([rows]):
        obj = model.from_db(db, list(entry.init_list), row[entry.start : entry.end])
        for populator in populators:
            populator.populate(row, obj)
        if annotations:
            for name, position in annotations.items():
                setattr(obj, name, row[position])
        objects.append(obj)
    if entry.prefetch and objects:
        prefetch_related_objects(objects, *entry.prefetch)
    return objects


class _UtcTimestamptzLoader:
    """psycopg's own ``timestamptz`` loader (in C where psycopg has its C implementation), under the name Django
    looks for: Django registers a Python subclass that loads each value in Python and then sets its zone to UTC,
    and checks a connection's loader by its ``timezone`` attribute before every cursor."""

    format = psycopg.pq.Format.TEXT
    timezone = datetime.UTC

    native: Any = psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, format)  # C where there is one

    def __new__(cls, oid: int, context: Any = None) -> Any:
        return cls.native(oid, context)


def utc_timestamps_in_c(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On a new PostgreSQL connection whose session time zone is UTC (Django sets it so), load ``timestamptz``
    values with psycopg's C loader: it returns the same aware ``datetime`` (``tzinfo`` is ``datetime.UTC``) as
    Django's loader, 18 times faster. Elsewhere (another zone, another database) nothing changes."""
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return
    raw = connection.connection
    if raw.info.parameter_status("TimeZone") != "UTC":
        return
    raw.adapters.register_loader("timestamptz", _UtcTimestamptzLoader)


_INSERTS_ATTRIBUTE = "_kinfold_inserts"
_TOGETHER_ATTRIBUTE = "_kinfold_inserts_together"


def _insert_fields(model: type[Model]) -> list[Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not isinstance(f, AutoField) and not f.generated]


def _insert_sql(model: type[Model], fields: list[Field[Any, Any]], connection: Any) -> str:
    """``INSERT … SELECT … FROM jsonb_to_recordset(%s)``: the columns of ``fields``, each read from the row's key of
    the same name with the column's own type."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    typed = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_to_recordset(%s::jsonb) AS r({typed})"


def _json_value(field: Field[Any, Any], obj: Model, connection: Any) -> Any:
    """A field's value as an ORM insert would send it (``get_db_prep_save``: a blank address is NULL, a JSON field's
    value is wrapped), in JSON: the wrapped JSON itself, a time in ISO form (every digit of its microseconds), an
    address, a UUID or a decimal as the text PostgreSQL reads it."""
    value = field.get_db_prep_save(field.pre_save(obj, add=True), connection)
    if isinstance(value, Jsonb):
        return value.obj
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"insert_rows cannot write binary data ({field.name})")
    return str(value)


def _insert_statement(
    model: type[Model], connection: Any, *, set_ids: bool = False
) -> tuple[str, list[Field[Any, Any]]]:
    """The model's ``INSERT … FROM jsonb_to_recordset(%s)`` (``RETURNING`` its ids with ``set_ids``) and the fields
    it writes, made once per connection."""
    inserts: dict[tuple[type[Model], bool], tuple[str, list[Field[Any, Any]]]] = connection.__dict__.setdefault(
        _INSERTS_ATTRIBUTE, {}
    )
    if (model, set_ids) not in inserts:
        fields = _insert_fields(model)
        sql = _insert_sql(model, fields, connection)
        if set_ids:
            sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
        inserts[(model, set_ids)] = (sql, fields)
    return inserts[(model, set_ids)]


def _document(rows: Sequence[Model], fields: list[Field[Any, Any]], connection: Any) -> str:
    values = [{f.column: _json_value(f, row, connection) for f in fields} for row in rows]
    return json.dumps(values, separators=(",", ":"))


def insert_rows(rows: Sequence[Model], *, set_ids: bool = False) -> None:
    """``bulk_create(rows)`` for new rows of one model. On PostgreSQL one prepared statement with every row as one
    JSON document; elsewhere ``bulk_create``. Run it inside the caller's transaction, like ``bulk_create``. With
    ``set_ids`` each row gets its id, in order (``RETURNING``, as ``bulk_create`` sets them); without, ids are not
    read back."""
    if not rows:
        return
    model = type(rows[0])
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(rows)
        return
    sql, fields = _insert_statement(model, connection, set_ids=set_ids)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [_document(rows, fields, connection)])
        if set_ids:
            for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
                row.pk = pk
                row._state.adding, row._state.db = False, connection.alias


def insert_together(*groups: Sequence[Model]) -> None:
    """``insert_rows`` for several groups of new rows, each of one model, written all or none. On PostgreSQL one
    prepared statement (``WITH w0 AS (INSERT …) INSERT …``): outside a transaction it is one by itself, so a page's
    audit event and its accounting are written and committed in one round trip instead of four (BEGIN, two
    INSERTs, COMMIT). Elsewhere ``bulk_create`` each group in one transaction. Ids are not read back."""
    groups = tuple(group for group in groups if group)
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        with transaction.atomic(savepoint=False):
            for group in groups:
                insert_rows(group)
        return
    if len(groups) < 2:  # one statement or none: all or none by itself
        for group in groups:
            insert_rows(group)
        return
    models = tuple(type(group[0]) for group in groups)
    together: dict[tuple[type[Model], ...], str] = connection.__dict__.setdefault(_TOGETHER_ATTRIBUTE, {})
    statements = [_insert_statement(model, connection) for model in models]
    if models not in together:
        *first, (last, _) = statements
        ctes = ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(first))
        together[models] = f"WITH {ctes} {last}"
    documents = [_document(group, fields, connection) for group, (_, fields) in zip(groups, statements, strict=True)]
    with prepared_cursor(connection) as cursor:
        cursor.execute(together[models], documents)
