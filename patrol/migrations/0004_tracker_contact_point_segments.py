"""Trackers remember their last contact and battery; track points mark segment starts and
fixes timed by the server, and keep the battery as a whole percent.

The track point columns are added by hand: on SpatiaLite Django would rebuild the table to add
a NOT NULL column, and its rebuild of a geometry table without a spatial index fails; on
PostgreSQL the table is partitioned (0002), and one ALTER TABLE reaches every partition. The
columns keep their database default (false), so bulk inserts that do not name them stay right.
"""

from django.db import migrations, models

POSTGRES_FORWARD = """
ALTER TABLE patrol_trackpoint
    ADD COLUMN segment_start boolean NOT NULL DEFAULT false,
    ADD COLUMN time_from_server boolean NOT NULL DEFAULT false,
    ALTER COLUMN battery TYPE smallint USING round(battery)::smallint,
    ADD CONSTRAINT patrol_trackpoint_battery_check CHECK (battery >= 0);
"""
POSTGRES_BACKWARD = """
ALTER TABLE patrol_trackpoint
    DROP CONSTRAINT patrol_trackpoint_battery_check,
    ALTER COLUMN battery TYPE double precision,
    DROP COLUMN time_from_server,
    DROP COLUMN segment_start;
"""
SQLITE_FORWARD = [
    'ALTER TABLE patrol_trackpoint ADD COLUMN "segment_start" bool DEFAULT 0 NOT NULL',
    'ALTER TABLE patrol_trackpoint ADD COLUMN "time_from_server" bool DEFAULT 0 NOT NULL',
    "UPDATE patrol_trackpoint SET battery = CAST(round(battery) AS integer) "
    "WHERE battery IS NOT NULL",
]
SQLITE_BACKWARD = [
    'ALTER TABLE patrol_trackpoint DROP COLUMN "time_from_server"',
    'ALTER TABLE patrol_trackpoint DROP COLUMN "segment_start"',
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)
    else:
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    else:
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("patrol", "0003_patrol_requirement")]

    operations = [
        migrations.AddField(
            model_name="tracker",
            name="last_battery",
            field=models.PositiveSmallIntegerField(
                blank=True, null=True, verbose_name="last battery (%)"
            ),
        ),
        migrations.AddField(
            model_name="tracker",
            name="last_contact_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last contact"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[
                migrations.AddField(
                    model_name="trackpoint",
                    name="segment_start",
                    field=models.BooleanField(
                        db_default=False, default=False, verbose_name="starts a segment"
                    ),
                ),
                migrations.AddField(
                    model_name="trackpoint",
                    name="time_from_server",
                    field=models.BooleanField(
                        db_default=False, default=False, verbose_name="time from the server"
                    ),
                ),
                migrations.AlterField(
                    model_name="trackpoint",
                    name="battery",
                    field=models.PositiveSmallIntegerField(
                        blank=True, null=True, verbose_name="battery (%)"
                    ),
                ),
            ],
        ),
    ]
