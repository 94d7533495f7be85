"""Lab results, the safety flags raised from them, and the notification outbox.

The lab catalogue itself (tests, units, limits) is pure data in ``monitoring.rules.catalogue``;
rows here refer to a test by its catalogue code. Every measured value keeps what was typed
(value and unit as entered) next to its canonical value, so a unit mix-up stays visible.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from monitoring.rules.catalogue import PANELS, TESTS
from patients.formatting import clinical_datetime, clinical_power_of_ten, clinical_quantity
from patients.models import (
    Clinic,
    EnteredInError,
    EnteredInErrorQuerySet,
    Patient,
    TimeStampedModel,
)

TEST_CHOICES = [(t.code, t.name) for t in TESTS]
PANEL_CHOICES = [(p.code, p.name) for p in PANELS.values()]


class ClinicLabUnit(TimeStampedModel):
    """The unit a clinic's lab reports a test in: the default on the entry page."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="lab_units")
    test_code = models.CharField(max_length=20, choices=TEST_CHOICES)
    unit = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "test_code"], name="monitoring_cliniclabunit_one_per_test"
            )
        ]

    def __str__(self) -> str:
        return f"{self.clinic.code}: {self.test_code} in {self.unit}"


class UserLabUnit(models.Model):
    """The unit a user last entered a test in: remembered for their next entry."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    test_code = models.CharField(max_length=20, choices=TEST_CHOICES)
    unit = models.CharField(max_length=20)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "test_code"], name="monitoring_userlabunit_one_per_test"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.test_code} in {self.unit}"


# A result that counts: not entered-in-error and not a preliminary the lab's final result
# superseded (issue 11). Rules, charts, duplicates and the one-per-time constraint use it.
CURRENT_RESULT = Q(entered_in_error_at__isnull=True, result_status__in=["final", "preliminary"])


class LabResultQuerySet(EnteredInErrorQuerySet):
    def valid(self):
        """Current results: entered-in-error and superseded preliminary results drop out."""
        return self.filter(CURRENT_RESULT)

    def for_patients(self, patient_ids):
        return self.filter(patient_id__in=patient_ids)


class LabResult(TimeStampedModel, EnteredInError):
    class Qualitative(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        POSITIVE = "positive", "Positive"
        NOT_DONE = "not_done", "Not done"

    class OutOfRange(models.TextChoices):
        NONE = "", "Within range"
        LOW = "low", "Low"
        HIGH = "high", "High"

    class Source(models.TextChoices):
        ENTRY = "entry", "Entered on the panel page"
        API = "api", "Lab interface (API)"
        COMPUTED = "computed", "Computed"
        DEMO = "demo", "Synthetic demo data"
        HL7 = "hl7", "Lab interface (HL7 v2)"
        FHIR = "fhir", "Lab interface (FHIR)"

    class ResultStatus(models.TextChoices):
        FINAL = "final", "Final"
        PRELIMINARY = "preliminary", "Preliminary"
        # A preliminary result replaced by the lab's final one: kept with its history, not
        # a mistake (never entered-in-error), out of rules and charts like one.
        SUPERSEDED = "superseded", "Preliminary, superseded by the final result"

    class MrdMethod(models.TextChoices):
        NGF = "NGF", "Next-generation flow"
        NGS = "NGS", "Next-generation sequencing"
        OTHER = "other", "Other"
        NONE = "", "—"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_results")
    test_code = models.CharField(max_length=20, choices=TEST_CHOICES)
    panel = models.CharField(max_length=20, choices=PANEL_CHOICES)
    # Results typed together (one panel, one collection) share a collection id.
    collection_id = models.UUIDField(default=uuid.uuid4)
    # Clinical time (when the sample was drawn) and record time (when it was typed in).
    collected_at = models.DateTimeField()
    entered_at = models.DateTimeField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ENTRY)

    # What was typed, exactly (a string, so "0.50" keeps its precision) ...
    value_as_entered = models.CharField(max_length=40, blank=True)
    unit_as_entered = models.CharField(max_length=20, blank=True)
    # ... and the same value in the test's canonical unit (catalogue), used by every rule.
    canonical_value = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    canonical_unit = models.CharField(max_length=20, blank=True)
    qualitative = models.CharField(max_length=10, choices=Qualitative.choices, blank=True)

    out_of_range = models.CharField(max_length=4, choices=OutOfRange.choices, blank=True)
    ref_low = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    ref_high = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    ctcae_grade = models.PositiveSmallIntegerField(null=True, blank=True)
    ctcae_label = models.CharField(max_length=40, blank=True)
    ctcae_version = models.CharField(max_length=8, blank=True)
    # The reporting lab's reference range (OBX-7, API, FHIR) was used for ref_low/ref_high
    # (and so for CTCAE grade 1); otherwise they hold the catalogue default.
    ref_from_lab = models.BooleanField(default=False)
    ref_range_as_reported = models.CharField(max_length=60, blank=True)
    # The lab's own abnormal flags (OBX-8): shown, never trusted over out_of_range.
    lab_abnormal_flags = models.CharField(max_length=40, blank=True)
    result_status = models.CharField(
        max_length=12, choices=ResultStatus.choices, default=ResultStatus.FINAL
    )
    interface_message = models.ForeignKey(
        "monitoring.InterfaceMessage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="results",
    )

    # MRD and pregnancy tests: how the result was obtained matters clinically.
    mrd_method = models.CharField(max_length=8, choices=MrdMethod.choices, blank=True)
    mrd_sensitivity_exponent = models.PositiveSmallIntegerField(
        "MRD sensitivity (10^-n)", null=True, blank=True
    )
    hcg_sensitivity_miu_ml = models.DecimalField(
        "hCG test sensitivity (mIU/mL)", max_digits=8, decimal_places=2, null=True, blank=True
    )

    # A value 100-fold away from the previous one was saved only after explicit confirmation.
    suspicious_confirmed = models.BooleanField(default=False)
    # A value below the test's lower plausibility limit was saved only with a confirmation
    # and this reason (likely a unit mix-up otherwise).
    low_value_reason = models.TextField(blank=True)
    # A correction replaces a result (marked entered-in-error) by this one.
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )

    history = HistoricalRecords()
    objects = LabResultQuerySet.as_manager()

    class Meta:
        ordering = ["-collected_at", "test_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "test_code", "collected_at"],
                condition=CURRENT_RESULT,
                name="monitoring_labresult_one_valid_per_test_and_time",
            ),
            models.CheckConstraint(
                condition=Q(canonical_value__isnull=False) | ~Q(qualitative=""),
                name="monitoring_labresult_has_a_value",
            ),
            models.CheckConstraint(
                condition=Q(entered_at__gte=models.F("collected_at")),
                name="monitoring_labresult_entered_after_collection",
            ),
        ]
        indexes = [
            # Latest valid value per patient and test (rules, latest-labs panel, lab reader,
            # window "row_number() over (partition by patient, test order by collected_at desc)").
            models.Index(
                fields=["patient", "test_code", "-collected_at"],
                condition=CURRENT_RESULT,
                name="labresult_valid_latest_idx",
            ),
            # The results of one panel entry, shown after save.
            models.Index(fields=["collection_id"], name="labresult_collection_idx"),
        ]

    def __str__(self) -> str:
        # In the clinic's time zone: this text titles the entered-in-error page.
        return f"{self.get_test_code_display()} {self.shown_value} ({clinical_datetime(self.collected_at)})"

    @property
    def shown_value(self) -> str:
        if self.qualitative:
            return self.get_qualitative_display()
        from monitoring.rules.catalogue import find_test

        # The catalogue's display precision, no trailing zeros, never an exponent.
        places = find_test(self.test_code).decimal_places
        if self.canonical_unit == "fraction":  # an MRD level: 2 × 10^-6, not 0.000002
            return f"{clinical_power_of_ten(self.canonical_value, places)} {self.canonical_unit}"
        return clinical_quantity(self.canonical_value, self.canonical_unit, places)


class FlagQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=Flag.OPEN_STATUSES)

    def for_clinic(self, clinic_id):
        return self.filter(patient__clinic_id=clinic_id)


class Flag(TimeStampedModel):
    """A safety flag: what a rule found about one patient, until the condition clears."""

    class Kind(models.TextChoices):
        CBC_OVERDUE = "cbc_overdue", "CBC overdue"
        NEUTROPENIA = "neutropenia", "Neutropenia"
        THROMBOCYTOPENIA = "thrombocytopenia", "Thrombocytopenia"
        ANEMIA = "anemia", "Anemia"
        LEUKOPENIA = "leukopenia", "Leukopenia"
        HOLD_RECOMMENDED = "hold_recommended", "Hold recommended"
        RENAL_DOSE_REVIEW = "renal_dose_review", "Renal dose review"
        POSSIBLE_PROGRESSION = "possible_progression", "Possible progression"
        RESPONSE_LABS_DUE = "response_labs_due", "Response labs due"
        PREGNANCY_TEST_DUE = "pregnancy_test_due", "Pregnancy test due"
        PREGNANCY_TEST_POSITIVE = "pregnancy_test_positive", "Positive pregnancy test"
        REMS_ACTION_NEEDED = "rems_action_needed", "REMS action needed"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.IntegerChoices):
        ROUTINE = 1, "Routine"
        ATTENTION = 2, "Attention"
        URGENT = 3, "Urgent"
        CRITICAL = 4, "Critical"

    OPEN_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)
    CYTOPENIA_KINDS = (
        Kind.NEUTROPENIA,
        Kind.THROMBOCYTOPENIA,
        Kind.ANEMIA,
        Kind.LEUKOPENIA,
    )
    DECISION_KINDS = (
        Kind.PREGNANCY_TEST_POSITIVE,
        Kind.HOLD_RECOMMENDED,
        Kind.RENAL_DOSE_REVIEW,
        Kind.POSSIBLE_PROGRESSION,
    )

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    ctcae_grade = models.PositiveSmallIntegerField(null=True, blank=True)
    peak_ctcae_grade = models.PositiveSmallIntegerField(null=True, blank=True)
    ctcae_version = models.CharField(max_length=8, blank=True)
    message = models.TextField()
    # The rule that raised it, its source and the thresholds (with versions) it applied.
    rule_id = models.CharField(max_length=60)
    basis = models.TextField()
    thresholds = models.JSONField(default=list)
    values = models.JSONField(default=dict)
    # The lab results the rule used: [{"result_id", "code", "value", "unit", "collected_at"}].
    evidence = models.JSONField(default=list)
    due_on = models.DateField(null=True, blank=True)
    opened_at = models.DateTimeField()
    opened_as_of = models.DateField()
    # Grade changes while open: [{"at", "from", "to", "result_id"}].
    escalations = models.JSONField(default=list)
    # The therapy dose suggestion raised with it (therapy app; no foreign key across apps).
    dose_suggestion_id = models.BigIntegerField(null=True, blank=True)

    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)

    # A nurse asked the physician to look at this flag (it then shows in the inbox).
    physician_notified_at = models.DateTimeField(null=True, blank=True)
    physician_notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    physician_note = models.TextField(blank=True)
    physician_seen_at = models.DateTimeField(null=True, blank=True)
    physician_seen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolving_evidence = models.JSONField(default=list)

    objects = FlagQuerySet.as_manager()

    class Meta:
        ordering = ["-severity", "-opened_at"]
        permissions = [
            ("acknowledge_flag", "Can acknowledge safety flags"),
            ("decide_flag", "Can see the physician inbox of flags that need a decision"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="monitoring_flag_one_open_per_patient_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_at__isnull=False)
                | Q(status__in=["open", "acknowledged"], resolved_at__isnull=True),
                name="monitoring_flag_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="acknowledged") | Q(acknowledged_at__isnull=False),
                name="monitoring_flag_acknowledged_has_time",
            ),
        ]
        indexes = [
            # Worklists and navbar counts: open flags by kind and severity.
            models.Index(
                fields=["kind", "-severity", "opened_at"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="flag_open_kind_severity_idx",
            ),
            # A patient's flags (record panel, API list), newest first.
            models.Index(fields=["patient", "-opened_at"], name="flag_patient_opened_idx"),
            # The navbar's counts on every page and the worklist's order: open flags per
            # patient, with every column those two read, so PostgreSQL answers from the index
            # alone (an index-only scan) and never reads the flag rows and their JSON.
            models.Index(
                fields=["patient"],
                include=[
                    "status",
                    "kind",
                    "severity",
                    "opened_at",
                    "physician_notified_at",
                    "physician_seen_at",
                ],
                condition=Q(status__in=["open", "acknowledged"]),
                name="flag_open_patient_counts_idx",
            ),
            # "Done today" on the worklist and inbox: flags acknowledged since a time.
            models.Index(
                fields=["-acknowledged_at"],
                condition=Q(status="acknowledged"),
                name="flag_acknowledged_at_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()}) patient {self.patient_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class MonitoringStatus(models.Model):
    """When each patient's next labs are due, as of the last evaluation (one row per patient).

    Kept so the worklist can list "due in the next 7 days" for 10,000 patients with one
    indexed query instead of recomputing every schedule on each page view.
    """

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="+")
    evaluated_at = models.DateTimeField()
    as_of = models.DateField()
    on_course = models.BooleanField(default=False)
    cbc_phase = models.CharField(max_length=20, blank=True)
    last_cbc_on = models.DateField(null=True, blank=True)
    cbc_due_on = models.DateField(null=True, blank=True)
    cbc_overdue_after = models.DateField(null=True, blank=True)
    response_labs_due_on = models.DateField(null=True, blank=True)
    crcl_ml_min = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    # Incremental evaluation. The patient's ``rules_version`` read at the start of the
    # evaluation that wrote this row: while they differ an input changed since (dirty).
    evaluated_version = models.PositiveBigIntegerField(default=0)
    # The earliest date a time-driven rule can change this patient's flags (CBC and
    # response-lab due dates, REMS dates, a planned course's start, a rule setting coming
    # into force); null when only a change of input can. Conservative: never later.
    next_review_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "monitoring statuses"
        indexes = [
            # The incremental sweep's due set (evaluation.sweep_patient_ids): patients with
            # NO status row that is clean, i.e. "patient = p AND evaluated_version =
            # p.rules_version AND as_of <= :as_of AND (next_review_on IS NULL OR
            # next_review_on > :as_of)". An anti-join probing this index, index-only on
            # PostgreSQL thanks to the included columns.
            models.Index(
                fields=["patient", "evaluated_version"],
                include=["next_review_on", "as_of"],
                name="monstatus_clean_idx",
            ),
            # Nurse worklist: CBCs due by a date, soonest first.
            models.Index(
                fields=["cbc_due_on"],
                condition=Q(cbc_due_on__isnull=False),
                name="monstatus_cbc_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"patient {self.patient_id}: CBC due {self.cbc_due_on}"


class Notification(models.Model):
    """The outbox: one row per message to send; ``key`` makes each go out once."""

    key = models.CharField(max_length=200, unique=True)
    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The delivery task: messages not yet sent, oldest first.
            models.Index(
                fields=["created_at"],
                condition=Q(notified_at__isnull=True),
                name="notification_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} -> {self.recipient}"


# The physician's confirmed response assessments live with the timeline code.
from monitoring.timeline.models import ResponseAssessment  # noqa: E402

__all__ = [
    "ClinicLabUnit",
    "Flag",
    "LabResult",
    "MonitoringStatus",
    "Notification",
    "ResponseAssessment",
    "UserLabUnit",
]

# The Cohort page's permission (no table: the page reads the records above).
from monitoring.cohort.models import CohortReport  # noqa: E402

__all__ += ["CohortReport"]
# The lab interface's mapping tables and message log live with the interface code.
from monitoring.interop.models import (  # noqa: E402
    Hl7Sender,
    InterfaceMessage,
    LabCodeMapping,
    UnitMapping,
)

__all__ += ["Hl7Sender", "InterfaceMessage", "LabCodeMapping", "UnitMapping"]
