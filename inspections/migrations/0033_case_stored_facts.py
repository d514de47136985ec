"""Two facts of a problem kept by the database, for figures over many problems: PostgreSQL and SQLite.

The workbench counts the problems of a jurisdiction by area, and their on-time
rectification rate. Over the national dataset (500,000 problems) that meant
joining every problem to its village for the village's code, and looking up
each problem's rectifications: 2.3 s of the first page's 2.8 s. Two columns
of the problem now hold both facts:

* ``village_code``: its village's code;
* ``first_rectified_on``: the day in China (UTC+8, no daylight saving) its
  first rectification was submitted, or NULL.

The database writes them, whatever the application saves: a trigger on the
problem computes both on every insert and update (a value saved from a stale
instance is overwritten), one on the rectifications touches their problem when
one is added, moved or re-dated, and one on the villages passes a changed code
on to their problems. Existing rows are filled in here.
"""

from django.db import migrations, models

CASE = "inspections_case_stored_facts"
RECTIFICATION = "inspections_rectification_case_facts"
VILLAGE = "villages_village_case_code"

# The stored facts of the problem NEW, as SQL expressions (its village's code: the same on both).
CODE = "(SELECT code FROM villages_village WHERE id = NEW.village_id)"
PG_FIRST = (
    "(SELECT MIN((created_at AT TIME ZONE 'Asia/Shanghai')::date)"
    " FROM inspections_rectification WHERE case_id = NEW.id)"
)
SQLITE_FIRST = (
    "(SELECT MIN(date(created_at, '+8 hours')) FROM inspections_rectification WHERE case_id = NEW.id)"
)

POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION {CASE}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.village_code := {CODE};
        NEW.first_rectified_on := {PG_FIRST};
        RETURN NEW;
    END $$""",
    f"""CREATE TRIGGER {CASE} BEFORE INSERT OR UPDATE ON inspections_case
    FOR EACH ROW EXECUTE FUNCTION {CASE}()""",
    # Touching the problem runs its trigger, which computes the facts again.
    f"""CREATE OR REPLACE FUNCTION {RECTIFICATION}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE inspections_case SET first_rectified_on = NULL WHERE id = OLD.case_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE inspections_case SET first_rectified_on = NULL WHERE id = NEW.case_id;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER {RECTIFICATION}
    AFTER INSERT OR DELETE OR UPDATE OF case_id, created_at ON inspections_rectification
    FOR EACH ROW EXECUTE FUNCTION {RECTIFICATION}()""",
    f"""CREATE OR REPLACE FUNCTION {VILLAGE}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE inspections_case SET village_code = NEW.code WHERE village_id = NEW.id;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER {VILLAGE} AFTER UPDATE OF code ON villages_village
    FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code) EXECUTE FUNCTION {VILLAGE}()""",
]

# SQLite's triggers cannot change NEW: they update the row after the fact. (A trigger's own
# UPDATE does not fire it again: recursive triggers are off.)
SQLITE_SET = f"UPDATE inspections_case SET village_code = {CODE}, first_rectified_on = {SQLITE_FIRST}"
SQLITE = [
    f"""CREATE TRIGGER {CASE}_insert AFTER INSERT ON inspections_case
    BEGIN {SQLITE_SET} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER {CASE}_update AFTER UPDATE ON inspections_case
    WHEN NEW.village_code IS NOT {CODE} OR NEW.first_rectified_on IS NOT {SQLITE_FIRST}
    BEGIN {SQLITE_SET} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER {RECTIFICATION}_insert AFTER INSERT ON inspections_rectification
    BEGIN UPDATE inspections_case SET first_rectified_on = NULL WHERE id = NEW.case_id; END""",
    f"""CREATE TRIGGER {RECTIFICATION}_update AFTER UPDATE OF case_id, created_at
    ON inspections_rectification
    BEGIN UPDATE inspections_case SET first_rectified_on = NULL WHERE id IN (OLD.case_id, NEW.case_id); END""",
    f"""CREATE TRIGGER {RECTIFICATION}_delete AFTER DELETE ON inspections_rectification
    BEGIN UPDATE inspections_case SET first_rectified_on = NULL WHERE id = OLD.case_id; END""",
    f"""CREATE TRIGGER {VILLAGE} AFTER UPDATE OF code ON villages_village
    WHEN OLD.code IS NOT NEW.code
    BEGIN UPDATE inspections_case SET village_code = NEW.code WHERE village_id = NEW.id; END""",
]

# The existing rows, set-based: one UPDATE joined to the villages (the triggers, created after,
# would compute the same row by row).
FILL = {
    "postgresql": """UPDATE inspections_case AS c SET
        village_code = v.code,
        first_rectified_on = (
            SELECT MIN((r.created_at AT TIME ZONE 'Asia/Shanghai')::date)
            FROM inspections_rectification r WHERE r.case_id = c.id
        )
        FROM villages_village v WHERE v.id = c.village_id""",
    "sqlite": """UPDATE inspections_case SET
        village_code = (SELECT code FROM villages_village WHERE id = inspections_case.village_id),
        first_rectified_on = (
            SELECT MIN(date(created_at, '+8 hours')) FROM inspections_rectification
            WHERE case_id = inspections_case.id
        )""",
}


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in FILL:
        schema_editor.execute(FILL[vendor])
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(vendor, []):
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for name in (
            f"{CASE}_insert",
            f"{CASE}_update",
            f"{RECTIFICATION}_insert",
            f"{RECTIFICATION}_update",
            f"{RECTIFICATION}_delete",
            VILLAGE,
        ):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {CASE} ON inspections_case")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {RECTIFICATION} ON inspections_rectification")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {VILLAGE} ON villages_village")
        for name in (CASE, RECTIFICATION, VILLAGE):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0032_inspection_visit_village_index"),
        ("villages", "0002_village_search_and_statistics"),
    ]

    # The columns are added by ALTER TABLE on both databases: on SQLite, Django's AddField of a
    # column with a default rebuilds the table, which would drop migration 0029's triggers.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="case",
                    name="first_rectified_on",
                    field=models.DateField(
                        editable=False,
                        help_text="The day in China its first rectification was submitted.",
                        null=True,
                        verbose_name="first rectification on",
                    ),
                ),
                migrations.AddField(
                    model_name="case",
                    name="village_code",
                    field=models.CharField(
                        default="", editable=False, max_length=12, verbose_name="village code"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE inspections_case ADD COLUMN first_rectified_on date NULL",
                    "ALTER TABLE inspections_case DROP COLUMN first_rectified_on",
                ),
                migrations.RunSQL(
                    "ALTER TABLE inspections_case ADD COLUMN village_code varchar(12) NOT NULL DEFAULT ''",
                    "ALTER TABLE inspections_case DROP COLUMN village_code",
                ),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
