# One person's steps in a period (the hotline operator's day: calls taken, merged, answered,
# callbacks): an index on (actor, at) reads the day's range of one actor's steps, where the
# foreign key's own index on the actor read every step they ever took. It leads with the actor,
# so it replaces that index (built first, dropped after).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_public_side_and_hotline"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="casetransition",
            index=models.Index(fields=["actor", "at"], name="cases_step_actor_at"),
        ),
        migrations.AlterField(
            model_name="casetransition",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="by",
            ),
        ),
    ]
