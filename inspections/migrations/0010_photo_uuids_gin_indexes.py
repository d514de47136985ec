"""GIN indexes on the JSON lists of photo UUIDs, on PostgreSQL.

Processing a photo looks up the rectifications that name it, directly or
through their finding, by JSON containment (``photo_uuids @> '["…"]'``).
Without an index that is a scan of every finding and rectification in the
country for every photo. ``jsonb_path_ops`` indexes answer ``@>`` only, and
are a fraction of the size of the default GIN operator class.

The indexes are built concurrently (no lock on writes), so this migration is
not atomic. Other databases (SQLite, in development) get nothing: they have no
GIN indexes, and their lookups scan.
"""

from django.db import migrations

INDEXES = {
    "inspections_finding_photo_uuids_gin": "inspections_finding",
    "inspections_rectification_photo_uuids_gin": "inspections_rectification",
}


def create_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING gin (photo_uuids jsonb_path_ops)"
        )


def drop_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("inspections", "0009_photo_hash_band_labels"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
