"""A spatial index of the open cases' positions, on PostgreSQL only: the desk map counts and
lists the open cases in a view (``desk/web/map.py``), a few thousand among a year's million.
With the index on every case's position PostgreSQL reads every case ever reported in the box
(closed ones by the hundred thousand for a street) and with the index on the status every open
case of the district; this one holds the open cases alone, so the box finds just those. The
condition is the map's own (``status IN OPEN_STATES``). SpatiaLite has no partial spatial
index; the embedded default's tables are small enough for its own.

On a large production table, create it by hand first with CREATE INDEX CONCURRENTLY (the same
name, expression and condition): this migration then finds it there and does nothing.
"""

from django.db import migrations

INDEX = "cases_open_point"
# cases.models.OPEN_STATES, as it stands at this migration.
OPEN = [
    "reported",
    "filed",
    "dispatched",
    "returned",
    "handling",
    "handled",
    "verifying",
    "suspended",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    states = ", ".join(f"'{state}'" for state in OPEN)
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "cases_case" USING gist ("point") '
        f'WHERE "status" IN ({states})'
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_case_onsite_confirmation")]

    operations = [migrations.RunPython(forwards, backwards)]
