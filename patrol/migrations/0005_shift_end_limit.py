"""A shift the inspector started ends, at the latest, GRIDCITY_PATROL_SHIFT_MAX_HOURS after its
start (``limit``). Choices only: nothing changes in the database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patrol", "0004_tracker_contact_point_segments")]

    operations = [
        migrations.AlterField(
            model_name="shift",
            name="end_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("ended", "ended by the inspector"),
                    ("idle", "no fix for a while"),
                    ("next", "a later shift began"),
                    ("limit", "longer than a shift may last"),
                ],
                max_length=8,
                verbose_name="why ended",
            ),
        ),
    ]
