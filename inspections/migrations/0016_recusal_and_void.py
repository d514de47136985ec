"""Recusal by the real rule, voiding an undrawable draw, rural scope by default.

The frozen-draw and frozen-plan triggers (``0002_sampling``, ``0005_plan_case_weights``)
are dropped before the tables change (SQLite rebuilds them) and created again: the
plan's new columns (``urban_rural_classes``, ``recusal_level``) are frozen with the
rest, and a draw's void (``voided_at``, ``voided_by_id``, ``void_reason``) is written once.
"""

import importlib

import django.db.models.deletion
import inspections.sampling.models
from django.conf import settings
from django.db import migrations, models

DRAW_FROZEN = [
    "plan_id", "parameters", "candidates_sha256", "candidate_count", "roster_sha256", "seed",
    "seed_commitment", "committed_at", "committed_by_id",
]
DRAW_ONCE_BEFORE = {
    "beacon_entered_at": ["beacon", "beacon_source", "beacon_entered_at"],
    "drawn_at": ["drawn_at", "drawn_by_id", "result", "result_sha256"],
    "published_at": ["published_at", "revealed_seed"],
}
DRAW_ONCE_AFTER = {**DRAW_ONCE_BEFORE, "voided_at": ["voided_at", "voided_by_id", "void_reason"]}
PLAN_FROZEN_BEFORE = [
    "name", "scope_id", "window_start", "window_end", "sample_size", "sample_rate", "stratum_level",
    "min_per_stratum", "exclude_inspected_days", "excluded_kinds", "base_weight", "open_cases_weight",
    "overdue_cases_weight", "staleness_weight", "staleness_cap_days", "team_size", "team_pool",
]
PLAN_FROZEN_AFTER = [*PLAN_FROZEN_BEFORE, "urban_rural_classes", "recusal_level"]
PLAN_HAS_DRAW = "EXISTS (SELECT 1 FROM inspections_draw d WHERE d.plan_id = OLD.id)"
# The append-only triggers of 0013 name inspections_draw too: SQLite's table rebuild
# cannot run under them, so they are dropped and created again around it (SQLite only).
_LEDGER = importlib.import_module("inspections.migrations.0013_keyed_history_append_only")


def _ledger_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _LEDGER.drop_triggers(apps, schema_editor)


def _ledger_create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _LEDGER.create_triggers(apps, schema_editor)


def _drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS inspections_plan_frozen")
            cursor.execute("DROP TRIGGER IF EXISTS inspections_draw_frozen")
        elif vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS inspections_plan_frozen ON inspections_samplingplan")
            cursor.execute("DROP FUNCTION IF EXISTS inspections_plan_frozen()")
            cursor.execute("DROP TRIGGER IF EXISTS inspections_draw_frozen ON inspections_draw")
            cursor.execute("DROP FUNCTION IF EXISTS inspections_draw_frozen()")


def _triggers(plan_columns, draw_once):
    def create(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "sqlite":
            differ = "OLD.{c} IS NOT NEW.{c}"
        elif vendor == "postgresql":
            differ = "OLD.{c} IS DISTINCT FROM NEW.{c}"
        else:  # pragma: no cover - other backends rely on the services alone
            return

        def changed(columns):
            return " OR ".join(differ.format(c=c) for c in columns)

        once = " OR ".join(
            f"(OLD.{guard} IS NOT NULL AND ({changed(cols)}))" for guard, cols in draw_once.items()
        )
        draw_condition = f"({changed(DRAW_FROZEN)}) OR {once}"
        plan_condition = f"{PLAN_HAS_DRAW} AND ({changed(plan_columns)})"
        if vendor == "sqlite":
            statements = [
                f"""CREATE TRIGGER inspections_draw_frozen BEFORE UPDATE ON inspections_draw
                    WHEN {draw_condition}
                    BEGIN SELECT RAISE(ABORT, 'a committed draw is immutable'); END""",
                f"""CREATE TRIGGER inspections_plan_frozen BEFORE UPDATE ON inspections_samplingplan
                    WHEN {plan_condition}
                    BEGIN SELECT RAISE(ABORT, 'a committed plan is immutable'); END""",
            ]
        else:
            statements = []
            for name, table, condition, message in (
                ("inspections_draw_frozen", "inspections_draw", draw_condition, "a committed draw is immutable"),
                (
                    "inspections_plan_frozen",
                    "inspections_samplingplan",
                    plan_condition,
                    "a committed plan is immutable",
                ),
            ):
                statements += [
                    f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN
                            IF {condition} THEN
                                RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
                            END IF;
                            RETURN NEW;
                        END $$""",
                    f"""CREATE TRIGGER {name} BEFORE UPDATE ON {table}
                        FOR EACH ROW EXECUTE FUNCTION {name}()""",
                ]
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return create


class Migration(migrations.Migration):

    dependencies = [
        ('inspections', '0015_phone_times_and_dropped_photos'),
        ('villages', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(_ledger_drop, _ledger_create),
        migrations.RunPython(_drop, _triggers(PLAN_FROZEN_BEFORE, DRAW_ONCE_BEFORE)),
        migrations.CreateModel(
            name='InspectorConflict',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('lives', 'lives there'), ('works', 'works there'), ('related', 'personal relation')], max_length=10, verbose_name='kind')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='note')),
            ],
            options={
                'verbose_name': 'inspector conflict',
                'verbose_name_plural': 'inspector conflicts',
                'ordering': ['inspector', 'id'],
            },
        ),
        migrations.AddField(
            model_name='draw',
            name='void_reason',
            field=models.TextField(blank=True, verbose_name='reason for voiding'),
        ),
        migrations.AddField(
            model_name='draw',
            name='voided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='voided at'),
        ),
        migrations.AddField(
            model_name='draw',
            name='voided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='voided by'),
        ),
        migrations.AddField(
            model_name='inspector',
            name='home_county',
            field=models.ForeignKey(blank=True, help_text='The county the inspector is from: its villages are recused. Empty: the county of the home division, when that is a county or lower (provincial and prefecture staff are recused only from their home county, so give it for them).', limit_choices_to={'level': 3}, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='villages.division', verbose_name='home county'),
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='recusal_level',
            field=models.PositiveSmallIntegerField(choices=[(6, 'home county (the rule)'), (4, 'home prefecture (stricter)'), (2, 'home province (stricter)')], default=6, help_text="Inspectors are recused from their home county, the villages of their declared conflicts and the village's previous team; a plan may recuse their whole home prefecture or province.", verbose_name='recusal of the home'),
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='urban_rural_classes',
            field=models.JSONField(blank=True, default=list, help_text='Only villages of these classes, e.g. 210 and 220; empty: every class. Villages whose class is not known are kept.', verbose_name='urban-rural classes (城乡分类代码)'),
        ),
        migrations.AlterField(
            model_name='inspector',
            name='home_division',
            field=models.ForeignKey(help_text="The division of the inspector's unit: it decides which plans' pools the inspector is in.", on_delete=django.db.models.deletion.PROTECT, related_name='+', to='villages.division', verbose_name='home division'),
        ),
        migrations.AlterField(
            model_name='samplingplan',
            name='excluded_kinds',
            field=models.JSONField(blank=True, default=inspections.sampling.models.rural_kinds_excluded, help_text="Village classes to leave out: residents' committees by default (rural remediation); clear it to include them.", verbose_name='excluded classes of unit'),
        ),
        migrations.AddConstraint(
            model_name='draw',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('void_reason', ''), ('voided_at__isnull', True), ('voided_by__isnull', True)), models.Q(('drawn_at__isnull', True), ('void_reason__length__gte', 5), ('voided_at__gte', models.F('committed_at')), ('voided_by__isnull', False)), _connector='OR'), name='draw_voided_undrawn_with_reason'),
        ),
        migrations.AddConstraint(
            model_name='samplingplan',
            constraint=models.CheckConstraint(condition=models.Q(('recusal_level__in', [6, 4, 2])), name='plan_recusal_level_valid'),
        ),
        migrations.AddField(
            model_name='inspectorconflict',
            name='division',
            field=models.ForeignKey(blank=True, help_text='A township, county or wider division whose villages are all recused.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='villages.division', verbose_name='division or unit'),
        ),
        migrations.AddField(
            model_name='inspectorconflict',
            name='inspector',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conflicts', to='inspections.inspector', verbose_name='inspector'),
        ),
        migrations.AddField(
            model_name='inspectorconflict',
            name='village',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='villages.village', verbose_name='village'),
        ),
        migrations.AddConstraint(
            model_name='inspectorconflict',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('division__isnull', True), ('village__isnull', False)), models.Q(('division__isnull', False), ('village__isnull', True)), _connector='OR'), name='conflict_names_one_place', violation_error_message='Name either a village or a division.'),
        ),
        migrations.RunPython(_triggers(PLAN_FROZEN_AFTER, DRAW_ONCE_AFTER), _drop),
        migrations.RunPython(_ledger_create, _ledger_drop),
    ]
