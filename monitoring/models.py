"""The safety flags raised from the lab results, the monitoring status and the outbox.

The lab results themselves live in the patients app (``patients.models.LabResult``, tables
still named monitoring_*), beside the weights, so therapy reads them directly.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from patients.models import Patient, TimeStampedModel


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

__all__ = ["Flag", "MonitoringStatus", "Notification", "ResponseAssessment"]

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
