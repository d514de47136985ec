"""Risk weights from cases: open and overdue cases replace the findings of the last 365 days.

The frozen-plan trigger of ``0002_sampling`` names the weight columns, so it is
dropped before the columns change and created again with the new list. On
SQLite the column changes rebuild ``inspections_samplingplan``, which drops its
triggers anyway; re-creating it here keeps a committed plan immutable.
"""

from django.db import migrations, models

PLAN_FROZEN_BEFORE = [
    "name", "scope_id", "window_start", "window_end", "sample_size", "sample_rate", "stratum_level",
    "min_per_stratum", "exclude_inspected_days", "excluded_kinds", "base_weight", "findings_weight",
    "staleness_weight", "staleness_cap_days", "team_size", "team_pool",
]
PLAN_FROZEN_AFTER = [
    "name", "scope_id", "window_start", "window_end", "sample_size", "sample_rate", "stratum_level",
    "min_per_stratum", "exclude_inspected_days", "excluded_kinds", "base_weight", "open_cases_weight",
    "overdue_cases_weight", "staleness_weight", "staleness_cap_days", "team_size", "team_pool",
]
PLAN_HAS_DRAW = "EXISTS (SELECT 1 FROM inspections_draw d WHERE d.plan_id = OLD.id)"


def _drop_plan_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS inspections_plan_frozen")
        elif vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS inspections_plan_frozen ON inspections_samplingplan")
            cursor.execute("DROP FUNCTION IF EXISTS inspections_plan_frozen()")


def _plan_trigger(columns):
    def create(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "sqlite":
            changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
            statements = [
                f"""CREATE TRIGGER inspections_plan_frozen BEFORE UPDATE ON inspections_samplingplan
                    WHEN {PLAN_HAS_DRAW} AND ({changed})
                    BEGIN SELECT RAISE(ABORT, 'a committed plan is immutable'); END""",
            ]
        elif vendor == "postgresql":
            changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
            statements = [
                f"""CREATE FUNCTION inspections_plan_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF {PLAN_HAS_DRAW} AND ({changed}) THEN
                            RAISE EXCEPTION 'a committed plan is immutable'
                                USING ERRCODE = 'integrity_constraint_violation';
                        END IF;
                        RETURN NEW;
                    END $$""",
                """CREATE TRIGGER inspections_plan_frozen BEFORE UPDATE ON inspections_samplingplan
                    FOR EACH ROW EXECUTE FUNCTION inspections_plan_frozen()""",
            ]
        else:  # pragma: no cover - other backends rely on the services alone
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return create


class Migration(migrations.Migration):

    dependencies = [
        ('inspections', '0004_cases'),
        ('villages', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(_drop_plan_trigger, _plan_trigger(PLAN_FROZEN_BEFORE)),
        migrations.RemoveConstraint(
            model_name='samplingplan',
            name='plan_weights_not_negative',
        ),
        migrations.RemoveField(
            model_name='samplingplan',
            name='findings_weight',
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='open_cases_weight',
            field=models.DecimalField(decimal_places=3, default=0.5, help_text='Added for each case of the village that is not closed (销号) at commit.', max_digits=9, verbose_name='weight per open case'),
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='overdue_cases_weight',
            field=models.DecimalField(decimal_places=3, default=1, help_text='Added again for each open case past its rectification deadline and still not rectified.', max_digits=9, verbose_name='weight per overdue case'),
        ),
        migrations.AddConstraint(
            model_name='samplingplan',
            constraint=models.CheckConstraint(condition=models.Q(('open_cases_weight__gte', 0), ('overdue_cases_weight__gte', 0), ('staleness_cap_days__gte', 1), ('staleness_weight__gte', 0)), name='plan_weights_not_negative'),
        ),
        migrations.RunPython(_plan_trigger(PLAN_FROZEN_AFTER), _drop_plan_trigger),
    ]
