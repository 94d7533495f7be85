"""The lab record keeps the id of the interface message a result arrived in, not a foreign
key to monitoring's message log: patients sits below monitoring. The column
(``interface_message_id``) and its index stay; only the foreign-key constraint goes, so no
data moves."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0005_move_labs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterField(
                    model_name="labresult",
                    name="interface_message",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="results",
                        to="monitoring.interfacemessage",
                    ),
                ),
            ],
            state_operations=[
                migrations.RemoveField(model_name="labresult", name="interface_message"),
                migrations.AddField(
                    model_name="labresult",
                    name="interface_message_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True),
                ),
                migrations.RemoveField(model_name="historicallabresult", name="interface_message"),
                migrations.AddField(
                    model_name="historicallabresult",
                    name="interface_message_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True),
                ),
            ],
        ),
    ]
