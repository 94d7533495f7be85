"""The lab record (LabResult, its history, ClinicLabUnit, UserLabUnit) moves here from the
monitoring app, in Django's state only: the tables keep their monitoring_* names, their
constraints and indexes, and no row moves. The content types are renamed in place."""

import django.db.models.deletion
import simple_history.models
import uuid
from django.conf import settings
from django.db import migrations, models

MOVED = ["labresult", "historicallabresult", "cliniclabunit", "userlabunit"]


def _rename(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if ContentType.objects.filter(app_label=target, model=model).exists():
            continue  # already created under the new label (nothing to carry over)
        ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_to_patients(apps, schema_editor):
    _rename(apps, "monitoring", "patients")


def content_types_to_monitoring(apps, schema_editor):
    _rename(apps, "patients", "monitoring")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("monitoring", "0012_move_labs"),
        ("patients", "0004_engine_incremental"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay where they are (monitoring_*): only Django's state moves.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="LabResult",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("entered_in_error_at", models.DateTimeField(blank=True, null=True)),
                        ("entered_in_error_reason", models.TextField(blank=True)),
                        (
                            "test_code",
                            models.CharField(
                                choices=[
                                    ("WBC", "White blood cells"),
                                    ("ANC", "Neutrophils (ANC)"),
                                    ("LYMPH", "Lymphocytes"),
                                    ("HGB", "Hemoglobin"),
                                    ("PLT", "Platelets"),
                                    ("CREAT", "Creatinine"),
                                    ("CALCIUM", "Calcium"),
                                    ("ALBUMIN", "Albumin"),
                                    ("LDH", "Lactate dehydrogenase"),
                                    ("B2M", "Beta-2 microglobulin"),
                                    ("SPEP_M", "Serum M-protein (SPEP)"),
                                    ("UPEP_M24", "Urine M-protein (24 h)"),
                                    ("FLC_KAPPA", "Free kappa light chain"),
                                    ("FLC_LAMBDA", "Free lambda light chain"),
                                    ("FLC_RATIO", "Kappa/lambda ratio"),
                                    ("SIFE", "Serum immunofixation"),
                                    ("UIFE", "Urine immunofixation"),
                                    ("HCG_SERUM_QUAL", "hCG, serum (qualitative)"),
                                    ("HCG_SERUM_QUANT", "hCG, serum (quantitative)"),
                                    ("HCG_URINE_QUAL", "hCG, urine (qualitative)"),
                                    ("MRD", "Minimal residual disease"),
                                    ("MRD_LEVEL", "MRD level (fraction of cells)"),
                                    ("MARROW_PC", "Marrow plasma cells"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "panel",
                            models.CharField(
                                choices=[
                                    ("cbc", "Complete blood count"),
                                    ("chemistry", "Chemistry"),
                                    ("myeloma", "Myeloma markers"),
                                    ("pregnancy", "Pregnancy tests"),
                                    ("mrd", "MRD and marrow"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("collection_id", models.UUIDField(default=uuid.uuid4)),
                        ("collected_at", models.DateTimeField()),
                        ("entered_at", models.DateTimeField()),
                        (
                            "source",
                            models.CharField(
                                choices=[
                                    ("entry", "Entered on the panel page"),
                                    ("api", "Lab interface (API)"),
                                    ("computed", "Computed"),
                                    ("demo", "Synthetic demo data"),
                                    ("hl7", "Lab interface (HL7 v2)"),
                                    ("fhir", "Lab interface (FHIR)"),
                                ],
                                default="entry",
                                max_length=10,
                            ),
                        ),
                        ("value_as_entered", models.CharField(blank=True, max_length=40)),
                        ("unit_as_entered", models.CharField(blank=True, max_length=20)),
                        (
                            "canonical_value",
                            models.DecimalField(
                                blank=True, decimal_places=10, max_digits=24, null=True
                            ),
                        ),
                        ("canonical_unit", models.CharField(blank=True, max_length=20)),
                        (
                            "qualitative",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("negative", "Negative"),
                                    ("positive", "Positive"),
                                    ("not_done", "Not done"),
                                ],
                                max_length=10,
                            ),
                        ),
                        (
                            "out_of_range",
                            models.CharField(
                                blank=True,
                                choices=[("", "Within range"), ("low", "Low"), ("high", "High")],
                                max_length=4,
                            ),
                        ),
                        (
                            "ref_low",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        (
                            "ref_high",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        ("ctcae_grade", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("ctcae_label", models.CharField(blank=True, max_length=40)),
                        ("ctcae_version", models.CharField(blank=True, max_length=8)),
                        ("ref_from_lab", models.BooleanField(default=False)),
                        ("ref_range_as_reported", models.CharField(blank=True, max_length=60)),
                        ("lab_abnormal_flags", models.CharField(blank=True, max_length=40)),
                        (
                            "result_status",
                            models.CharField(
                                choices=[
                                    ("final", "Final"),
                                    ("preliminary", "Preliminary"),
                                    ("superseded", "Preliminary, superseded by the final result"),
                                ],
                                default="final",
                                max_length=12,
                            ),
                        ),
                        (
                            "mrd_method",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("NGF", "Next-generation flow"),
                                    ("NGS", "Next-generation sequencing"),
                                    ("other", "Other"),
                                    ("", "—"),
                                ],
                                max_length=8,
                            ),
                        ),
                        (
                            "mrd_sensitivity_exponent",
                            models.PositiveSmallIntegerField(
                                blank=True, null=True, verbose_name="MRD sensitivity (10^-n)"
                            ),
                        ),
                        (
                            "hcg_sensitivity_miu_ml",
                            models.DecimalField(
                                blank=True,
                                decimal_places=2,
                                max_digits=8,
                                null=True,
                                verbose_name="hCG test sensitivity (mIU/mL)",
                            ),
                        ),
                        ("suspicious_confirmed", models.BooleanField(default=False)),
                        ("low_value_reason", models.TextField(blank=True)),
                        (
                            "corrects",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="corrections",
                                to="patients.labresult",
                            ),
                        ),
                        (
                            "entered_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "entered_in_error_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "interface_message",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="results",
                                to="monitoring.interfacemessage",
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="lab_results",
                                to="patients.patient",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "monitoring_labresult",
                        "ordering": ["-collected_at", "test_code"],
                    },
                ),
                migrations.CreateModel(
                    name="HistoricalLabResult",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        ("created_at", models.DateTimeField(blank=True, editable=False)),
                        ("updated_at", models.DateTimeField(blank=True, editable=False)),
                        ("entered_in_error_at", models.DateTimeField(blank=True, null=True)),
                        ("entered_in_error_reason", models.TextField(blank=True)),
                        (
                            "test_code",
                            models.CharField(
                                choices=[
                                    ("WBC", "White blood cells"),
                                    ("ANC", "Neutrophils (ANC)"),
                                    ("LYMPH", "Lymphocytes"),
                                    ("HGB", "Hemoglobin"),
                                    ("PLT", "Platelets"),
                                    ("CREAT", "Creatinine"),
                                    ("CALCIUM", "Calcium"),
                                    ("ALBUMIN", "Albumin"),
                                    ("LDH", "Lactate dehydrogenase"),
                                    ("B2M", "Beta-2 microglobulin"),
                                    ("SPEP_M", "Serum M-protein (SPEP)"),
                                    ("UPEP_M24", "Urine M-protein (24 h)"),
                                    ("FLC_KAPPA", "Free kappa light chain"),
                                    ("FLC_LAMBDA", "Free lambda light chain"),
                                    ("FLC_RATIO", "Kappa/lambda ratio"),
                                    ("SIFE", "Serum immunofixation"),
                                    ("UIFE", "Urine immunofixation"),
                                    ("HCG_SERUM_QUAL", "hCG, serum (qualitative)"),
                                    ("HCG_SERUM_QUANT", "hCG, serum (quantitative)"),
                                    ("HCG_URINE_QUAL", "hCG, urine (qualitative)"),
                                    ("MRD", "Minimal residual disease"),
                                    ("MRD_LEVEL", "MRD level (fraction of cells)"),
                                    ("MARROW_PC", "Marrow plasma cells"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "panel",
                            models.CharField(
                                choices=[
                                    ("cbc", "Complete blood count"),
                                    ("chemistry", "Chemistry"),
                                    ("myeloma", "Myeloma markers"),
                                    ("pregnancy", "Pregnancy tests"),
                                    ("mrd", "MRD and marrow"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("collection_id", models.UUIDField(default=uuid.uuid4)),
                        ("collected_at", models.DateTimeField()),
                        ("entered_at", models.DateTimeField()),
                        (
                            "source",
                            models.CharField(
                                choices=[
                                    ("entry", "Entered on the panel page"),
                                    ("api", "Lab interface (API)"),
                                    ("computed", "Computed"),
                                    ("demo", "Synthetic demo data"),
                                    ("hl7", "Lab interface (HL7 v2)"),
                                    ("fhir", "Lab interface (FHIR)"),
                                ],
                                default="entry",
                                max_length=10,
                            ),
                        ),
                        ("value_as_entered", models.CharField(blank=True, max_length=40)),
                        ("unit_as_entered", models.CharField(blank=True, max_length=20)),
                        (
                            "canonical_value",
                            models.DecimalField(
                                blank=True, decimal_places=10, max_digits=24, null=True
                            ),
                        ),
                        ("canonical_unit", models.CharField(blank=True, max_length=20)),
                        (
                            "qualitative",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("negative", "Negative"),
                                    ("positive", "Positive"),
                                    ("not_done", "Not done"),
                                ],
                                max_length=10,
                            ),
                        ),
                        (
                            "out_of_range",
                            models.CharField(
                                blank=True,
                                choices=[("", "Within range"), ("low", "Low"), ("high", "High")],
                                max_length=4,
                            ),
                        ),
                        (
                            "ref_low",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        (
                            "ref_high",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        ("ctcae_grade", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("ctcae_label", models.CharField(blank=True, max_length=40)),
                        ("ctcae_version", models.CharField(blank=True, max_length=8)),
                        ("ref_from_lab", models.BooleanField(default=False)),
                        ("ref_range_as_reported", models.CharField(blank=True, max_length=60)),
                        ("lab_abnormal_flags", models.CharField(blank=True, max_length=40)),
                        (
                            "result_status",
                            models.CharField(
                                choices=[
                                    ("final", "Final"),
                                    ("preliminary", "Preliminary"),
                                    ("superseded", "Preliminary, superseded by the final result"),
                                ],
                                default="final",
                                max_length=12,
                            ),
                        ),
                        (
                            "mrd_method",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("NGF", "Next-generation flow"),
                                    ("NGS", "Next-generation sequencing"),
                                    ("other", "Other"),
                                    ("", "—"),
                                ],
                                max_length=8,
                            ),
                        ),
                        (
                            "mrd_sensitivity_exponent",
                            models.PositiveSmallIntegerField(
                                blank=True, null=True, verbose_name="MRD sensitivity (10^-n)"
                            ),
                        ),
                        (
                            "hcg_sensitivity_miu_ml",
                            models.DecimalField(
                                blank=True,
                                decimal_places=2,
                                max_digits=8,
                                null=True,
                                verbose_name="hCG test sensitivity (mIU/mL)",
                            ),
                        ),
                        ("suspicious_confirmed", models.BooleanField(default=False)),
                        ("low_value_reason", models.TextField(blank=True)),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.CharField(max_length=100, null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                                max_length=1,
                            ),
                        ),
                        (
                            "entered_by",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "entered_in_error_by",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "interface_message",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="monitoring.interfacemessage",
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="patients.patient",
                            ),
                        ),
                        (
                            "corrects",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="patients.labresult",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "historical lab result",
                        "verbose_name_plural": "historical lab results",
                        "db_table": "monitoring_historicallabresult",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name="UserLabUnit",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "test_code",
                            models.CharField(
                                choices=[
                                    ("WBC", "White blood cells"),
                                    ("ANC", "Neutrophils (ANC)"),
                                    ("LYMPH", "Lymphocytes"),
                                    ("HGB", "Hemoglobin"),
                                    ("PLT", "Platelets"),
                                    ("CREAT", "Creatinine"),
                                    ("CALCIUM", "Calcium"),
                                    ("ALBUMIN", "Albumin"),
                                    ("LDH", "Lactate dehydrogenase"),
                                    ("B2M", "Beta-2 microglobulin"),
                                    ("SPEP_M", "Serum M-protein (SPEP)"),
                                    ("UPEP_M24", "Urine M-protein (24 h)"),
                                    ("FLC_KAPPA", "Free kappa light chain"),
                                    ("FLC_LAMBDA", "Free lambda light chain"),
                                    ("FLC_RATIO", "Kappa/lambda ratio"),
                                    ("SIFE", "Serum immunofixation"),
                                    ("UIFE", "Urine immunofixation"),
                                    ("HCG_SERUM_QUAL", "hCG, serum (qualitative)"),
                                    ("HCG_SERUM_QUANT", "hCG, serum (quantitative)"),
                                    ("HCG_URINE_QUAL", "hCG, urine (qualitative)"),
                                    ("MRD", "Minimal residual disease"),
                                    ("MRD_LEVEL", "MRD level (fraction of cells)"),
                                    ("MARROW_PC", "Marrow plasma cells"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("unit", models.CharField(max_length=20)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "monitoring_userlabunit",
                    },
                ),
                migrations.CreateModel(
                    name="ClinicLabUnit",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "test_code",
                            models.CharField(
                                choices=[
                                    ("WBC", "White blood cells"),
                                    ("ANC", "Neutrophils (ANC)"),
                                    ("LYMPH", "Lymphocytes"),
                                    ("HGB", "Hemoglobin"),
                                    ("PLT", "Platelets"),
                                    ("CREAT", "Creatinine"),
                                    ("CALCIUM", "Calcium"),
                                    ("ALBUMIN", "Albumin"),
                                    ("LDH", "Lactate dehydrogenase"),
                                    ("B2M", "Beta-2 microglobulin"),
                                    ("SPEP_M", "Serum M-protein (SPEP)"),
                                    ("UPEP_M24", "Urine M-protein (24 h)"),
                                    ("FLC_KAPPA", "Free kappa light chain"),
                                    ("FLC_LAMBDA", "Free lambda light chain"),
                                    ("FLC_RATIO", "Kappa/lambda ratio"),
                                    ("SIFE", "Serum immunofixation"),
                                    ("UIFE", "Urine immunofixation"),
                                    ("HCG_SERUM_QUAL", "hCG, serum (qualitative)"),
                                    ("HCG_SERUM_QUANT", "hCG, serum (quantitative)"),
                                    ("HCG_URINE_QUAL", "hCG, urine (qualitative)"),
                                    ("MRD", "Minimal residual disease"),
                                    ("MRD_LEVEL", "MRD level (fraction of cells)"),
                                    ("MARROW_PC", "Marrow plasma cells"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("unit", models.CharField(max_length=20)),
                        (
                            "clinic",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="lab_units",
                                to="patients.clinic",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "monitoring_cliniclabunit",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("clinic", "test_code"),
                                name="monitoring_cliniclabunit_one_per_test",
                            )
                        ],
                    },
                ),
                migrations.AddIndex(
                    model_name="labresult",
                    index=models.Index(
                        condition=models.Q(
                            ("entered_in_error_at__isnull", True),
                            ("result_status__in", ["final", "preliminary"]),
                        ),
                        fields=["patient", "test_code", "-collected_at"],
                        name="labresult_valid_latest_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="labresult",
                    index=models.Index(fields=["collection_id"], name="labresult_collection_idx"),
                ),
                migrations.AddConstraint(
                    model_name="labresult",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(
                            ("entered_in_error_at__isnull", True),
                            ("result_status__in", ["final", "preliminary"]),
                        ),
                        fields=("patient", "test_code", "collected_at"),
                        name="monitoring_labresult_one_valid_per_test_and_time",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="labresult",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("canonical_value__isnull", False),
                            models.Q(("qualitative", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="monitoring_labresult_has_a_value",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="labresult",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("entered_at__gte", models.F("collected_at"))),
                        name="monitoring_labresult_entered_after_collection",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="userlabunit",
                    constraint=models.UniqueConstraint(
                        fields=("user", "test_code"), name="monitoring_userlabunit_one_per_test"
                    ),
                ),
            ],
        ),
        # Permissions, admin log entries and any generic reference point at the content
        # type: renamed in place, so groups keep their lab permissions.
        migrations.RunPython(content_types_to_patients, content_types_to_monitoring),
    ]
