"""Bulk writes: many rows of one model in one statement, through the same fields, defaults and constraints
as single writes.

`insert_rows(model, rows)` is `bulk_create` on SQLite and a COPY on PostgreSQL (where binding kilobytes of
JSON per row client-side was three quarters of an outage compensation run). Callers build their rows with
the same functions their single-row path uses (refunds.intake builds every new request with
`request_new`, in bulk or alone), so a bulk insert cannot write what a single one would refuse: the
database's constraints hold for both (same transaction, same unique indexes and checks), and, like
`bulk_create`, neither save() nor signals run.
"""

from __future__ import annotations

import datetime as dt
import json

import orjson
from django.db import connections, models, router


def insert_rows(model, rows: list[dict], *, now: dt.datetime) -> list[int]:
    """Insert new rows given as {attname: value} and return their ids (also set as row["id"]).

    Fields a row leaves out get the model's default (auto_now fields: `now`), as a new
    instance would. Elsewhere this is `bulk_create`; on PostgreSQL it is a COPY, because
    Django binds every value client-side there (psycopg quotes each JSON document in Python):
    for refund requests, whose facts, trace and explanation are kilobytes of JSON, that was
    three quarters of the run. The COPY sends the same values, prepared by the same Django
    fields (`get_db_prep_save`), values common to all rows prepared once; ids come from the
    table's own sequence first. Same transaction (the raw connection of this Django connection),
    same constraints. Like bulk_create: no save(), no signals.
    """
    if not rows:
        return []
    conn = connections[router.db_for_write(model)]  # the wrapper itself: no thread-local lookup per value
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    given = set(rows[0])
    if conn.vendor != "postgresql":
        objs = [model(**row) for row in rows]
        model.objects.bulk_create(objs)
        for row, obj in zip(rows, objs, strict=True):
            row["id"] = obj.pk
        return [obj.pk for obj in objs]
    import psycopg
    from psycopg.types.json import Jsonb

    fixed = {}
    for f in fields:
        if f.attname in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fixed[f.attname] = f.get_db_prep_save(now, conn)
        elif f.has_default() and callable(f.default):
            continue  # a fresh default for each row
        else:  # what a new instance would have ("" for text, None, the declared default)
            fixed[f.attname] = f.get_db_prep_save(f.get_default(), conn)
    # Each distinct value of a field is prepared once (the same `now`, reason, version... in every row);
    # JSON documents are prepared each time (they differ, and dicts cannot be looked up), encoded by orjson.
    given_fields = [(f, None if isinstance(f, models.JSONField) else {}) for f in fields if f.attname not in fixed]
    plain_json = {f.attname for f, _ in given_fields if isinstance(f, models.JSONField) and f.encoder is None}
    quote = conn.ops.quote_name
    conn.ensure_connection()
    # wrap_database_errors: psycopg's errors become Django's (IntegrityError...), as for any other query
    with conn.wrap_database_errors, psycopg.Cursor(conn.connection) as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(rows)])
        ids = [row[0] for row in cursor.fetchall()]
        columns = [meta.pk.column] + [f.column for f in fields if f.attname in fixed] + [
            f.column for f, _ in given_fields]
        constant = [fixed[f.attname] for f in fields if f.attname in fixed]
        statement = f"COPY {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for pk_value, row in zip(ids, rows, strict=True):
                values = [pk_value, *constant]
                for f, prepared in given_fields:
                    value = row[f.attname] if f.attname in row else f.get_default()
                    if prepared is None:
                        if f.attname in plain_json and value is not None and not hasattr(value, "resolve_expression"):
                            values.append(Jsonb(value, dumps=_json_dumps))  # what get_db_prep_save gives, faster
                        else:
                            values.append(f.get_db_prep_save(value, conn))
                        continue
                    key = (value.__class__, value)
                    try:
                        values.append(prepared[key])
                    except KeyError:
                        values.append(prepared.setdefault(key, f.get_db_prep_save(value, conn)))
                    except TypeError:  # unhashable
                        values.append(f.get_db_prep_save(value, conn))
                copy.write_row(values)
    for row, pk_value in zip(rows, ids, strict=True):
        row["id"] = pk_value
    return ids


def _json_dumps(value) -> bytes | str:
    """JSON for a document column: orjson (several times faster than json for the kilobytes of facts and
    trace per request); what it refuses (a non-text key, an integer beyond 64 bits) as Django would write it."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value)
