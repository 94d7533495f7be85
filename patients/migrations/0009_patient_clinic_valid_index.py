# A clinic's valid patients from an index alone, for the worklist's order.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0008_lab_result_marker_and_in_error_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                condition=models.Q(("entered_in_error_at__isnull", True)),
                fields=["clinic", "id"],
                name="patient_clinic_valid_idx",
            ),
        ),
    ]
