"""How many active villages each area holds, kept by the database: PostgreSQL and SQLite.

A national reader's workbench shows each province's villages beside the
villages visited this year. Counting them meant reading the 620,000 villages on
every first page (0.3 s of its second). The tallies hold the counts by area:
each province, prefecture, county and township code prefix of the active
villages' codes, whether or not the area's division has a row.

Triggers on the villages keep them, whatever writes the villages (the division
import's COPY, the admin, a test's builder): a village inserted active adds one
to its four areas, one deleted while active takes one away, and one whose code
or activity changes moves its count. On PostgreSQL a trigger runs once per
statement over the statement's rows (transition tables), so that an import of
600,000 villages makes one grouped update of the tallies, not 2.4 million; the
tallies are written in the order of their codes, so that two writers wait for
each other rather than deadlock. SQLite's triggers run per row.
"""

from django.db import migrations, models

TALLY = "villages_villagetally"
TRIGGER = "villages_village_tally"
LENGTHS = "(VALUES (2), (4), (6), (9)) AS lengths (n)"


def _pg_apply(changes: str) -> str:
    """Add the signed ``delta`` of each village ``code`` in ``changes`` to its areas' tallies."""
    return f"""INSERT INTO {TALLY} (area, area_length, villages)
            SELECT SUBSTRING(code, 1, n), n, SUM(delta) FROM ({changes}) AS changes CROSS JOIN {LENGTHS}
            GROUP BY 1, 2 HAVING SUM(delta) <> 0 ORDER BY 1
            ON CONFLICT (area) DO UPDATE SET villages = {TALLY}.villages + EXCLUDED.villages"""


ADDED = "SELECT code, 1 AS delta FROM new_villages WHERE is_active"
REMOVED = "SELECT code, -1 AS delta FROM old_villages WHERE is_active"

POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {_pg_apply(ADDED)};
        ELSIF TG_OP = 'DELETE' THEN
            {_pg_apply(REMOVED)};
        ELSE
            {_pg_apply(f"{ADDED} UNION ALL {REMOVED}")};
        END IF;
        RETURN NULL;
    END $$""",
    # Transition tables allow no column list (UPDATE OF): an update that moves no village
    # nets to nothing and writes nothing.
    f"""CREATE TRIGGER {TRIGGER}_insert AFTER INSERT ON villages_village
    REFERENCING NEW TABLE AS new_villages FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()""",
    f"""CREATE TRIGGER {TRIGGER}_delete AFTER DELETE ON villages_village
    REFERENCING OLD TABLE AS old_villages FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()""",
    f"""CREATE TRIGGER {TRIGGER}_update AFTER UPDATE ON villages_village
    REFERENCING OLD TABLE AS old_villages NEW TABLE AS new_villages
    FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()""",
]


def _sqlite_add(row: str) -> str:
    return f"""INSERT INTO {TALLY} (area, area_length, villages)
        SELECT SUBSTR({row}.code, 1, column1), column1, 1 FROM (VALUES (2), (4), (6), (9)) WHERE {row}.is_active
        ON CONFLICT (area) DO UPDATE SET villages = villages + 1;"""


def _sqlite_remove(row: str) -> str:
    areas = ", ".join(f"SUBSTR({row}.code, 1, {n})" for n in (2, 4, 6, 9))
    return f"UPDATE {TALLY} SET villages = villages - 1 WHERE {row}.is_active AND area IN ({areas});"


SQLITE = [
    f"""CREATE TRIGGER {TRIGGER}_insert AFTER INSERT ON villages_village
    BEGIN {_sqlite_add("NEW")} END""",
    f"""CREATE TRIGGER {TRIGGER}_delete AFTER DELETE ON villages_village
    BEGIN {_sqlite_remove("OLD")} END""",
    f"""CREATE TRIGGER {TRIGGER}_update AFTER UPDATE OF code, is_active ON villages_village
    WHEN OLD.code IS NOT NEW.code OR OLD.is_active IS NOT NEW.is_active
    BEGIN {_sqlite_remove("OLD")} {_sqlite_add("NEW")} END""",
]

# The existing villages, counted once (the triggers, created after, keep the counts).
FILL = f"""INSERT INTO {TALLY} (area, area_length, villages)
    SELECT SUBSTR(code, 1, n), n, COUNT(*) FROM villages_village CROSS JOIN {LENGTHS}
    WHERE is_active GROUP BY 1, 2"""
SQLITE_FILL = FILL.replace(LENGTHS, "(SELECT column1 AS n FROM (VALUES (2), (4), (6), (9)))")


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(FILL)
        for statement in POSTGRESQL:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FILL)
        for statement in SQLITE:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for suffix in ("insert", "delete", "update"):
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}_{suffix} ON villages_village")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}_{suffix}")
    if vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")


class Migration(migrations.Migration):
    dependencies = [("villages", "0002_village_search_and_statistics")]

    operations = [
        migrations.CreateModel(
            name="VillageTally",
            fields=[
                (
                    "area",
                    models.CharField(max_length=9, primary_key=True, serialize=False, verbose_name="area code"),
                ),
                ("area_length", models.PositiveSmallIntegerField(verbose_name="length of the area code")),
                ("villages", models.IntegerField(default=0, verbose_name="active villages")),
            ],
            options={
                "verbose_name": "village tally",
                "verbose_name_plural": "village tallies",
                "indexes": [models.Index(fields=["area_length", "area"], name="village_tally_level_idx")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
