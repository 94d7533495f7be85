"""The lab record (LabResult, its history, ClinicLabUnit, UserLabUnit) moves to the patients
app: removed from monitoring's migration state only. The tables keep their names and data
(patients 0005 takes them over in state)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0011_interop2_superseded_results"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay where they are (monitoring_*): only Django's state moves.
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name="historicallabresult",
                    name="corrects",
                ),
                migrations.RemoveField(
                    model_name="historicallabresult",
                    name="entered_by",
                ),
                migrations.RemoveField(
                    model_name="historicallabresult",
                    name="entered_in_error_by",
                ),
                migrations.RemoveField(
                    model_name="historicallabresult",
                    name="history_user",
                ),
                migrations.RemoveField(
                    model_name="historicallabresult",
                    name="interface_message",
                ),
                migrations.RemoveField(
                    model_name="historicallabresult",
                    name="patient",
                ),
                migrations.RemoveField(
                    model_name="labresult",
                    name="corrects",
                ),
                migrations.RemoveField(
                    model_name="labresult",
                    name="entered_by",
                ),
                migrations.RemoveField(
                    model_name="labresult",
                    name="entered_in_error_by",
                ),
                migrations.RemoveField(
                    model_name="labresult",
                    name="interface_message",
                ),
                migrations.RemoveField(
                    model_name="labresult",
                    name="patient",
                ),
                migrations.RemoveField(
                    model_name="userlabunit",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="ClinicLabUnit",
                ),
                migrations.DeleteModel(
                    name="HistoricalLabResult",
                ),
                migrations.DeleteModel(
                    name="LabResult",
                ),
                migrations.DeleteModel(
                    name="UserLabUnit",
                ),
            ],
        ),
    ]
