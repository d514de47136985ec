"""Key villages (重点村) and this year's coverage in sampling plans.

The plan's new columns (``unvisited_weight``, ``exclude_visited_this_year``, ``key_rate``,
``key_village_codes``) are frozen with the rest once the plan is committed: the triggers of
``0016_recusal_and_void`` are dropped before the table changes (SQLite rebuilds it) and
created again with them. ``KeyVillage`` is a jurisdiction's list of key villages.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


_M16 = importlib.import_module("inspections.migrations.0016_recusal_and_void")
PLAN_FROZEN = [
    *_M16.PLAN_FROZEN_AFTER,
    "unvisited_weight",
    "exclude_visited_this_year",
    "key_rate",
    "key_village_codes",
]
_triggers_now = _M16._triggers(PLAN_FROZEN, _M16.DRAW_ONCE_AFTER)


class Migration(migrations.Migration):

    dependencies = [
        ('inspections', '0022_problems_ladder_supervision'),
        ('villages', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(_M16._ledger_drop, _M16._ledger_create),
        migrations.RunPython(_M16._drop, _M16._triggers(_M16.PLAN_FROZEN_AFTER, _M16.DRAW_ONCE_AFTER)),
        migrations.CreateModel(
            name='KeyVillage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('black_odorous_water', 'listed black and odorous water body (黑臭水体)'), ('named', 'named by the supervisor')], max_length=20, verbose_name='reason')),
                ('note', models.CharField(blank=True, help_text="e.g. the water body's name in the national list.", max_length=300, verbose_name='note')),
                ('added_at', models.DateTimeField(auto_now_add=True, verbose_name='added at')),
            ],
            options={
                'verbose_name': 'key village (重点村)',
                'verbose_name_plural': 'key villages (重点村)',
                'ordering': ['village__code', 'reason'],
            },
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='exclude_visited_this_year',
            field=models.BooleanField(default=False, help_text="Villages not visited this year first: those with a submitted inspection in the commit's year (China time) are left out.", verbose_name='leave out villages visited this year'),
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='key_rate',
            field=models.DecimalField(blank=True, decimal_places=4, help_text="Key villages (a listed black and odorous water body, an open or reopened problem, or named as key) are drawn at this rate, up to 1 (all of them); the rest at the plan's size or rate. Empty: no key stratum.", max_digits=5, null=True, verbose_name='sample rate of key villages (重点村)'),
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='key_village_codes',
            field=models.JSONField(blank=True, default=list, help_text="12-digit codes, besides the jurisdiction's list of key villages.", verbose_name='key villages named for this plan'),
        ),
        migrations.AddField(
            model_name='samplingplan',
            name='unvisited_weight',
            field=models.DecimalField(decimal_places=3, default=0, help_text="Added for each candidate without a submitted inspection in the commit's year (China time).", max_digits=9, verbose_name='weight if not visited this year'),
        ),
        migrations.AddConstraint(
            model_name='samplingplan',
            constraint=models.CheckConstraint(condition=models.Q(('key_rate__isnull', True), models.Q(('key_rate__gt', 0), ('key_rate__lte', 1)), _connector='OR'), name='plan_key_rate_valid'),
        ),
        migrations.AddConstraint(
            model_name='samplingplan',
            constraint=models.CheckConstraint(condition=models.Q(('unvisited_weight__gte', 0)), name='plan_unvisited_weight_not_negative'),
        ),
        migrations.AddField(
            model_name='keyvillage',
            name='added_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='added by'),
        ),
        migrations.AddField(
            model_name='keyvillage',
            name='village',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='villages.village', verbose_name='village'),
        ),
        migrations.AddConstraint(
            model_name='keyvillage',
            constraint=models.UniqueConstraint(fields=('village', 'reason'), name='key_village_once_per_reason'),
        ),
        migrations.RunPython(_triggers_now, _M16._drop),
        migrations.RunPython(_M16._ledger_create, _M16._ledger_drop),
    ]
