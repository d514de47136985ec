"""Inserting many new rows without building a model instance per row.

A national division import creates ~665,000 rows and a national draw 3,000
inspections with their assignments; building an instance and preparing every
value of every row through ``bulk_create`` costs more than the insert itself.
``insert_rows`` takes plain dicts keyed by attribute name (``village_id``, not
``village``); every other concrete field takes its default, ``auto_now_add``
included, computed once. The column list comes from the model's metadata, so a
new field with a default needs no change here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

BATCH = 5000

# Fields whose database value is the Python value itself for the plain ``int``,
# ``str`` and ``bool`` the callers pass: no per-value preparation for these.
_PLAIN = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
    }
)


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    if field.get_internal_type() in _PLAIN:
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    common: dict[str, Any] | None = None,
    return_ids: bool = False,
) -> list[int]:
    """Insert ``rows`` as new rows of ``model``: COPY on PostgreSQL, plain INSERTs elsewhere.

    ``common`` holds values shared by every row (a window, say): prepared once,
    like the defaults, rather than once per row.
    With ``return_ids`` the new primary keys come back in the order of ``rows``,
    at the cost of one more query on PostgreSQL (the keys are taken from the
    table's sequence beforehand) and none elsewhere (``INSERT … RETURNING``).
    The number of queries depends on the number of rows only through batches of
    the non-PostgreSQL path.
    """
    if not rows:
        return []
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    # Defaults and common values once, exactly as a new instance would save them
    # (auto_now_add too).
    template = model(**(common or {}))
    defaults = {f.attname: f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields}
    preparers = {f.attname: _preparer(f) for f in fields}
    preparers[pk.attname] = None  # taken from the sequence: a plain integer

    def value(row: dict[str, Any], attname: str) -> Any:
        if attname not in row:
            return defaults[attname]
        prepare = preparers[attname]
        return row[attname] if prepare is None else prepare(row[attname])

    table = connection.ops.quote_name(meta.db_table)
    attnames = [f.attname for f in fields]
    columns = [f.column for f in fields]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if return_ids:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, pk.column, len(rows)],
                )
                ids = sorted(pk_value for (pk_value,) in cursor.fetchall())
                attnames.insert(0, pk.attname)
                columns.insert(0, pk.column)
                rows = [{pk.attname: pk_value, **row} for pk_value, row in zip(ids, rows, strict=True)]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            # Identifiers come from the model's own metadata, quoted; values go through COPY.
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([value(row, a) for a in attnames])
            return ids
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        if return_ids:
            size = max(1, min(BATCH, connection.ops.bulk_batch_size(fields, rows)))
            returning = connection.ops.quote_name(pk.column)
            for start in range(0, len(rows), size):
                batch = rows[start : start + size]
                params = [value(row, a) for row in batch for a in attnames]
                cursor.execute(
                    f"INSERT INTO {table} ({quoted}) VALUES {', '.join([placeholders] * len(batch))} "  # noqa: S608
                    f"RETURNING {returning}",
                    params,
                )
                ids.extend(pk_value for (pk_value,) in cursor.fetchall())
            return ids
        insert = f"INSERT INTO {table} ({quoted}) VALUES {placeholders}"  # noqa: S608
        for start in range(0, len(rows), BATCH):
            cursor.executemany(
                insert, [[value(row, a) for a in attnames] for row in rows[start : start + BATCH]]
            )
    return ids
