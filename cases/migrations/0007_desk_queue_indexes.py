# The workbenches' overdue and escalated queues (docs/cases.md, "Indexes"): partial indexes on
# the open cases with a running clock, so that listing and counting them reads a few thousand
# rows rather than walking a year of closed ones.

from django.db import migrations, models

RUNNING = ["reported", "filed", "dispatched", "returned", "handling", "handled", "verifying"]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_extension_kind_suspension"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("overdue", True), ("status__in", RUNNING)),
                fields=["created_at"],
                name="cases_open_overdue",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("escalated", True), ("status__in", RUNNING)),
                fields=["created_at"],
                name="cases_open_escalated",
            ),
        ),
    ]
