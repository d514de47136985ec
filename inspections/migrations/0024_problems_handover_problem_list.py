"""The 问题清单 fields (责任单位, 责任人, 整改措施, 签收), the stages of long-term problems, the
departments (seeded with the five usual ones) and the 交办 notice; existing problems get their
village's township as responsible unit."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DEPARTMENTS = ["农业农村", "生态环境", "住建", "水利", "卫健"]


def seed(apps, schema_editor):
    Department = apps.get_model("inspections", "Department")
    for position, name in enumerate(DEPARTMENTS, start=1):
        Department.objects.get_or_create(name=name, defaults={"position": position})
    Case = apps.get_model("inspections", "Case")
    unset = Case.objects.filter(responsible_division__isnull=True, responsible_village__isnull=True)
    for case in unset.select_related("village").iterator():
        if case.village.township_id is not None:
            case.responsible_division_id = case.village.township_id
        else:
            case.responsible_village_id = case.village_id
        case.save(update_fields=["responsible_division", "responsible_village"])


class Migration(migrations.Migration):

    dependencies = [
        ('inspections', '0023_visits_key_villages_coverage'),
        ('villages', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Department',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=50, unique=True, verbose_name='name')),
                ('position', models.PositiveSmallIntegerField(default=0, verbose_name='position')),
                ('active', models.BooleanField(default=True, verbose_name='active')),
            ],
            options={
                'verbose_name': 'department',
                'verbose_name_plural': 'departments',
                'ordering': ['position', 'name'],
            },
        ),
        migrations.AddField(
            model_name='case',
            name='measures',
            field=models.TextField(blank=True, verbose_name='rectification measures (整改措施)'),
        ),
        migrations.AddField(
            model_name='case',
            name='measures_submitted_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='measures submitted at'),
        ),
        migrations.AddField(
            model_name='case',
            name='received_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='receipt acknowledged at (签收)'),
        ),
        migrations.AddField(
            model_name='case',
            name='received_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='receipt acknowledged by'),
        ),
        migrations.AddField(
            model_name='case',
            name='responsible_division',
            field=models.ForeignKey(blank=True, help_text='The township (or another division over the village) that rectifies.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='villages.division', verbose_name='responsible unit: division'),
        ),
        migrations.AddField(
            model_name='case',
            name='responsible_person',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name="responsible person's account"),
        ),
        migrations.AddField(
            model_name='case',
            name='responsible_person_name',
            field=models.CharField(blank=True, max_length=100, verbose_name='responsible person'),
        ),
        migrations.AddField(
            model_name='case',
            name='responsible_person_post',
            field=models.CharField(blank=True, max_length=100, verbose_name="responsible person's post"),
        ),
        migrations.AddField(
            model_name='case',
            name='responsible_village',
            field=models.ForeignKey(blank=True, help_text='Set instead of the division when the village itself rectifies.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='villages.village', verbose_name='responsible unit: village'),
        ),
        migrations.AlterField(
            model_name='caseevent',
            name='kind',
            field=models.CharField(choices=[('opened', 'opened'), ('status', 'status changed'), ('escalated', 'escalated (督办)'), ('look_back_passed', 'look-back found no relapse'), ('published', 'published as a typical case'), ('deadline', 'deadline recounted'), ('merged_in', 'a duplicate merged in'), ('extension_requested', 'extension requested (延期)'), ('extension_decided', 'extension approved or rejected'), ('responsibility', 'responsible unit set (责任单位)'), ('received', 'receipt acknowledged (签收)'), ('measures', 'rectification measures submitted (整改措施)'), ('deadline_changed', 'time limit changed (整改时限)'), ('stage_added', 'stage added'), ('stage_completed', 'stage completed')], max_length=20, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='casenotification',
            name='kind',
            field=models.CharField(choices=[('escalated', 'case escalated'), ('handed_over', 'problem handed over (交办)')], max_length=12, verbose_name='kind'),
        ),
        migrations.CreateModel(
            name='CaseStage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveSmallIntegerField(verbose_name='stage')),
                ('description', models.TextField(verbose_name='description')),
                ('due_date', models.DateField(verbose_name='due date')),
                ('created_at', models.DateTimeField(verbose_name='set at')),
                ('completed_at', models.DateTimeField(blank=True, null=True, verbose_name='completed at')),
                ('completion_note', models.TextField(blank=True, verbose_name='completion note')),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stages', to='inspections.case', verbose_name='case')),
                ('completed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='completed by')),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='set by')),
            ],
            options={
                'verbose_name': 'stage',
                'verbose_name_plural': 'stages',
                'ordering': ['case', 'seq'],
            },
        ),
        migrations.AddField(
            model_name='case',
            name='responsible_department',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inspections.department', verbose_name='responsible department'),
        ),
        migrations.AddConstraint(
            model_name='case',
            constraint=models.CheckConstraint(condition=models.Q(('responsible_division__isnull', True), ('responsible_village__isnull', True), _connector='OR'), name='case_one_responsible_unit'),
        ),
        migrations.AddConstraint(
            model_name='casestage',
            constraint=models.UniqueConstraint(fields=('case', 'seq'), name='case_stage_seq_unique'),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
