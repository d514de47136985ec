"""Inserting many new rows without building a model instance per row.

A national division import creates ~665,000 rows and a national draw 3,000
inspections with their assignments; building an instance and preparing every
value of every row through ``bulk_create`` costs more than the insert itself.

Two levels, one write path:

* ``insert_rows`` takes plain dicts keyed by attribute name (``village_id``, not
  ``village``); every other concrete field takes its default, ``auto_now_add``
  included, computed once. The column list comes from the model's metadata, so
  a new field with a default needs no change here.
* ``write_rows`` streams rows that are already database values, in the order of
  the columns given, from any iterable: the national-scale data generator
  writes millions of rows through it without holding them in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice
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


def write_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Stream ``rows`` into ``table``: COPY on PostgreSQL, INSERTs in batches elsewhere.

    Each row holds database values in the order of ``columns``. Rows are read
    as they are written (COPY) or a batch at a time, never all at once.
    Returns the number of rows written.
    """
    quoted_table = connection.ops.quote_name(table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Identifiers are quoted; values go through COPY.
            with cursor.cursor.copy(f"COPY {quoted_table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(columns))
        insert = f"INSERT INTO {quoted_table} ({quoted}) VALUES ({placeholders})"  # noqa: S608
        remaining = iter(rows)
        while batch := list(islice(remaining, BATCH)):
            cursor.executemany(insert, batch)
            count += len(batch)
    return count


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

    attnames = [f.attname for f in fields]
    columns = [f.column for f in fields]
    if return_ids and connection.vendor == "postgresql":
        # Keys from the table's sequence beforehand, then the rows with them through COPY.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, pk.column, len(rows)],
            )
            ids = sorted(pk_value for (pk_value,) in cursor.fetchall())
        attnames.insert(0, pk.attname)
        columns.insert(0, pk.column)
        rows = [{pk.attname: pk_value, **row} for pk_value, row in zip(ids, rows, strict=True)]
    elif return_ids:
        return _insert_returning_ids(meta.db_table, pk.column, fields, attnames, rows, value)
    else:
        ids = []
    write_rows(meta.db_table, columns, ([value(row, a) for a in attnames] for row in rows))
    return ids


def _insert_returning_ids(
    table: str,
    pk_column: str,
    fields: Sequence[models.Field[Any, Any]],
    attnames: Sequence[str],
    rows: Sequence[dict[str, Any]],
    value: Callable[[dict[str, Any], str], Any],
) -> list[int]:
    """Batched ``INSERT … RETURNING``, for databases without COPY: the new keys in row order."""
    quoted_table = connection.ops.quote_name(table)
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = connection.ops.quote_name(pk_column)
    size = max(1, min(BATCH, connection.ops.bulk_batch_size(list(fields), rows)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {quoted_table} ({quoted}) VALUES {', '.join([placeholders] * len(batch))} "  # noqa: S608
                f"RETURNING {returning}",
                [value(row, a) for row in batch for a in attnames],
            )
            ids.extend(pk_value for (pk_value,) in cursor.fetchall())
    return ids
