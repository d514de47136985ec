"""A problem belongs to a submitted inspection: the database holds to it, on PostgreSQL and SQLite.

Problems open when their inspection is submitted, and only then; a submitted
inspection stays submitted. Every list of problems used to say so again by
joining each problem to its inspection and testing its status, which costs a
national list a join of 500,000 problems to 2,000,000 inspections on every
page. The rule now lives in two triggers, and the lists read the problems
alone:

* a problem whose inspection is not submitted is refused (insert, or a
  change of its inspection);
* a submitted inspection with problems cannot leave that status.

A database that already holds a problem of an unsubmitted inspection (none
can, by the services) stops this migration, naming them.
"""

from django.db import migrations

CASE_TRIGGER = "inspections_case_of_submitted_inspection"
INSPECTION_TRIGGER = "inspections_inspection_with_cases_stays_submitted"
CASE_REFUSAL = "a problem belongs to a submitted inspection"
INSPECTION_REFUSAL = "an inspection with problems stays submitted"

SQLITE = [
    f"""CREATE TRIGGER {CASE_TRIGGER}_insert BEFORE INSERT ON inspections_case
    WHEN NOT EXISTS (
        SELECT 1 FROM inspections_inspection WHERE id = NEW.inspection_id AND status = 'submitted'
    )
    BEGIN SELECT RAISE(ABORT, '{CASE_REFUSAL}'); END""",
    f"""CREATE TRIGGER {CASE_TRIGGER}_update BEFORE UPDATE OF inspection_id ON inspections_case
    WHEN NOT EXISTS (
        SELECT 1 FROM inspections_inspection WHERE id = NEW.inspection_id AND status = 'submitted'
    )
    BEGIN SELECT RAISE(ABORT, '{CASE_REFUSAL}'); END""",
    f"""CREATE TRIGGER {INSPECTION_TRIGGER} BEFORE UPDATE OF status ON inspections_inspection
    WHEN OLD.status = 'submitted' AND NEW.status <> 'submitted'
        AND EXISTS (SELECT 1 FROM inspections_case WHERE inspection_id = OLD.id)
    BEGIN SELECT RAISE(ABORT, '{INSPECTION_REFUSAL}'); END""",
]

POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION {CASE_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (
            SELECT 1 FROM inspections_inspection WHERE id = NEW.inspection_id AND status = 'submitted'
        ) THEN
            RAISE EXCEPTION '{CASE_REFUSAL}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE TRIGGER {CASE_TRIGGER} BEFORE INSERT OR UPDATE OF inspection_id ON inspections_case
    FOR EACH ROW EXECUTE FUNCTION {CASE_TRIGGER}()""",
    f"""CREATE OR REPLACE FUNCTION {INSPECTION_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM inspections_case WHERE inspection_id = OLD.id) THEN
            RAISE EXCEPTION '{INSPECTION_REFUSAL}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE TRIGGER {INSPECTION_TRIGGER} BEFORE UPDATE OF status ON inspections_inspection
    FOR EACH ROW WHEN (OLD.status = 'submitted' AND NEW.status <> 'submitted')
    EXECUTE FUNCTION {INSPECTION_TRIGGER}()""",
]


def create_triggers(apps, schema_editor):
    Case = apps.get_model("inspections", "Case")
    strays = list(
        Case.objects.exclude(inspection__status="submitted").order_by("pk").values_list("pk", flat=True)[:20]
    )
    if strays:
        raise RuntimeError(f"problems of unsubmitted inspections (ids {strays}): resolve them first")
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for name in (f"{CASE_TRIGGER}_insert", f"{CASE_TRIGGER}_update", INSPECTION_TRIGGER):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {CASE_TRIGGER} ON inspections_case")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {INSPECTION_TRIGGER} ON inspections_inspection")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {CASE_TRIGGER}()")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {INSPECTION_TRIGGER}()")


class Migration(migrations.Migration):
    dependencies = [("inspections", "0028_coverage_tallies")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
