"""On PostgreSQL: a trigram index on villages' names, and finer statistics of their codes.

1. The searches by name (``icontains``). Django writes ``name__icontains`` as ``UPPER(name::text) LIKE UPPER('%…%')``: the
index is on that expression. A search of three characters or more finds its
villages in the index instead of reading the 620,000 names. Other databases
have no trigram index and keep reading the names (the demo's few thousand).

2. Every jurisdiction is a prefix of the village code (``code LIKE '370781%'``).
With the default statistics (100 histogram buckets of 6,000 villages each) a
county's 1,000 villages are estimated at 6,000, and the planner then reads
all two million inspections instead of the county's from the village index
(0.45 s against 0.05 s). A histogram of 1,000 buckets estimates a county
within a few hundred villages.
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


def refine_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE villages_village ALTER COLUMN code SET STATISTICS 1000")
        schema_editor.execute("ANALYZE villages_village")


def default_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE villages_village ALTER COLUMN code SET STATISTICS -1")


class Migration(migrations.Migration):
    dependencies = [("villages", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index, elidable=False),
        migrations.RunPython(refine_statistics, default_statistics, elidable=False),
    ]
