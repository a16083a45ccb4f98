"""A trigram index on the case address, on PostgreSQL only: the workbenches' search for a word
of an address (``address__icontains``, which PostgreSQL runs as ``UPPER(address) LIKE
UPPER('%…%')``) reads the index instead of every case of the last days. SpatiaLite has no such
index; the embedded default's tables are small enough to read.

On a large production table, create it by hand first with CREATE INDEX CONCURRENTLY (the same
name and expression): this migration then finds it there and does nothing.
"""

from django.db import migrations

INDEX = "cases_case_address_trgm"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "cases_case" '
        'USING gin (UPPER("address"::text) gin_trgm_ops)'
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_desk_queue_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
