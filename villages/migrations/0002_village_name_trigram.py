"""On PostgreSQL, a trigram index on villages' names, for the searches by name (``icontains``).

Django writes ``name__icontains`` as ``UPPER(name::text) LIKE UPPER('%…%')``: the
index is on that expression. A search of three characters or more finds its
villages in the index instead of reading the 620,000 names. Other databases
have no trigram index and keep reading the names (the demo's few thousand).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "villages_village_name_upper_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON villages_village USING gin (UPPER(name) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("villages", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
