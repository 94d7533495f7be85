# The navbar's open-flag counts and the worklist's order from an index-only scan.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0012_move_labs"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="flag",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "acknowledged"])),
                fields=["patient"],
                include=(
                    "status",
                    "kind",
                    "severity",
                    "opened_at",
                    "physician_notified_at",
                    "physician_seen_at",
                ),
                name="flag_open_patient_counts_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="flag",
            index=models.Index(
                condition=models.Q(("status", "acknowledged")),
                fields=["-acknowledged_at"],
                name="flag_acknowledged_at_idx",
            ),
        ),
    ]
