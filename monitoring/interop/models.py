"""Mapping tables of the lab interface and the log of every message it received.

Every table keeps its history (django-simple-history): who changed a mapping and when is
part of the audit trail of each result it let through.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from patients.lab_catalogue import TESTS
from patients.models import Clinic, Patient, TimeStampedModel

TEST_CHOICES = [(t.code, t.name) for t in TESTS]
CATALOGUE_UNITS = sorted({unit for t in TESTS for unit in t.accepted_units})


class Hl7Sender(TimeStampedModel):
    """A registered sender: the sending facility (MSH-4) and the MRN's assigning authority
    (PID-3.4) together name the clinic whose patients the messages are about."""

    facility = models.CharField("sending facility (MSH-4)", max_length=180)
    authority = models.CharField("assigning authority (PID-3.4)", max_length=180)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "HL7 sender"
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "authority"], name="monitoring_hl7sender_one_per_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.facility} / {self.authority} -> {self.clinic.code}"


class LabCodeMapping(TimeStampedModel):
    """A laboratory's local test code (OBX-3 without LOINC) -> a catalogue test."""

    facility = models.CharField("sending facility (MSH-4)", max_length=180)
    local_code = models.CharField(max_length=60)
    test_code = models.CharField(max_length=20, choices=TEST_CHOICES)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "lab code mapping"
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "local_code"], name="monitoring_labcodemapping_one_per_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.facility}: {self.local_code} -> {self.test_code}"


class UnitMapping(TimeStampedModel):
    """A unit spelling (OBX-6, exact and case-sensitive: G/L is giga, g/L is grams) -> the
    catalogue unit. Adds spellings to the built-in ones in ``interop.units``; it never
    overrides one (a global table: one wrong row would mis-read every clinic's results)."""

    spelling = models.CharField(max_length=40, unique=True)
    unit = models.CharField("catalogue unit", max_length=20)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "unit mapping"

    def __str__(self) -> str:
        return f"{self.spelling} -> {self.unit}"

    def clean(self) -> None:
        if self.unit not in CATALOGUE_UNITS:
            raise ValidationError({"unit": f"Use a catalogue unit: {', '.join(CATALOGUE_UNITS)}."})
        from monitoring.interop.units import SPELLINGS

        built_in = SPELLINGS.get((self.spelling or "").strip())
        if built_in is not None and built_in != self.unit:
            raise ValidationError(
                {
                    "unit": f"{self.spelling!r} is a built-in spelling of {built_in}; it cannot be "
                    "mapped to another unit."
                }
            )


class InterfaceMessageQuerySet(models.QuerySet):
    def needing_action(self):
        return self.filter(status__in=InterfaceMessage.OPEN_STATUSES)

    def for_user(self, user):
        """Administrators see every message; staff see those of their clinics."""
        if user.is_superuser:
            return self
        return self.filter(clinic__staff=user)


class InterfaceMessage(TimeStampedModel):
    """One message as received (raw text kept), and what became of it. Never deleted."""

    class Channel(models.TextChoices):
        MLLP = "mllp", "MLLP listener"
        FILE = "file", "File import"
        FHIR = "fhir", "FHIR"

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        HELD = "held", "Held for review"
        REFUSED = "refused", "Refused (malformed)"
        REJECTED = "rejected", "Rejected by staff"

    OPEN_STATUSES = (Status.HELD, Status.REFUSED)

    channel = models.CharField(max_length=8, choices=Channel.choices)
    received_at = models.DateTimeField()
    raw = models.TextField()
    sending_facility = models.CharField(max_length=180, blank=True)
    control_id = models.CharField("message control id (MSH-10)", max_length=199, blank=True)
    message_type = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    ack_code = models.CharField(max_length=2)
    reason = models.TextField(blank=True)
    # [{"segment": "OBX", "sequence": 2, "field": 6, "code": "103", "severity": "E",
    #   "problem": "..."}]: the same words go into the ACK's ERR segments.
    problems = models.JSONField(default=list)
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A person matched the message to this patient from the queue (MRN/DOB checks waived).
    matched_manually = models.BooleanField(default=False)
    result_ids = models.JSONField(default=list)
    repeat_count = models.PositiveIntegerField(default=0)
    last_repeat_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    history = HistoricalRecords()
    objects = InterfaceMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # A repeated MSH-10 from the same sender is acknowledged, never stored twice.
            models.UniqueConstraint(
                fields=["sending_facility", "control_id"],
                condition=~Q(control_id=""),
                name="monitoring_interfacemessage_one_per_control_id",
            ),
        ]
        indexes = [
            # The interface queue: held and refused messages, newest first.
            models.Index(
                fields=["-received_at"],
                condition=Q(status__in=["held", "refused"]),
                name="ifmsg_open_received_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sending_facility} {self.control_id} ({self.get_status_display()})"
