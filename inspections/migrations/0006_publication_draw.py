"""A results publication points at its sampling draw instead of a free-text reference.

The seed is revealed on the draw itself (``Draw.revealed_seed``), so the
publication's own copy goes. A reference that was a draw's id is kept as the link.
"""

import django.db.models.deletion
from django.db import migrations, models


def link_referenced_draws(apps, schema_editor):
    Publication = apps.get_model("inspections", "Publication")
    Draw = apps.get_model("inspections", "Draw")
    for publication in Publication.objects.exclude(draw_reference=""):
        reference = publication.draw_reference.strip().lstrip("#")
        if reference.isdigit() and Draw.objects.filter(pk=int(reference)).exists():
            publication.draw_id = int(reference)
            publication.save(update_fields=["draw"])


class Migration(migrations.Migration):

    dependencies = [
        ('inspections', '0005_plan_case_weights'),
    ]

    operations = [
        migrations.AddField(
            model_name='publication',
            name='draw',
            field=models.ForeignKey(blank=True, help_text='The sampling draw whose results these are: publishing them reveals its seed.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='publications', to='inspections.draw', verbose_name='draw'),
        ),
        migrations.RunPython(link_referenced_draws, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='publication',
            name='draw_reference',
        ),
        migrations.RemoveField(
            model_name='publication',
            name='revealed_seed',
        ),
    ]
