"""A physician's confirmed IMWG response assessment (the software only suggests one)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from patients.models import EnteredInError, EnteredInErrorQuerySet, Patient, TimeStampedModel


class ResponseAssessment(TimeStampedModel, EnteredInError):
    class Category(models.TextChoices):
        SCR = "sCR", "Stringent complete response (sCR)"
        CR = "CR", "Complete response (CR)"
        VGPR = "VGPR", "Very good partial response (VGPR)"
        PR = "PR", "Partial response (PR)"
        MR = "MR", "Minimal response (MR)"
        SD = "SD", "Stable disease (SD)"
        PD = "PD", "Progressive disease (PD)"

    class Finding(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        POSITIVE = "positive", "Positive"
        NOT_DONE = "not_done", "Not done"

    class Imaging(models.TextChoices):
        NO_NEW_LESIONS = "no_new_lesions", "No new lesions"
        NEW_LESIONS = "new_lesions", "New or enlarging lesions"
        PLASMACYTOMA = "plasmacytoma", "Plasmacytoma present"
        NOT_DONE = "not_done", "Not done"

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="response_assessments"
    )
    assessed_on = models.DateField()
    category = models.CharField(max_length=5, choices=Category.choices)
    basis = models.TextField(
        help_text="What the assessment rests on: the labs, marrow and imaging reviewed."
    )
    serum_immunofixation = models.CharField(
        max_length=10, choices=Finding.choices, default=Finding.NOT_DONE
    )
    urine_immunofixation = models.CharField(
        max_length=10, choices=Finding.choices, default=Finding.NOT_DONE
    )
    marrow_plasma_cell_pct = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    marrow_clonal_cells = models.CharField(
        "clonal plasma cells in marrow (for sCR)",
        max_length=10,
        choices=Finding.choices,
        default=Finding.NOT_DONE,
    )
    imaging = models.CharField(max_length=16, choices=Imaging.choices, default=Imaging.NOT_DONE)
    imaging_note = models.TextField(blank=True)
    # What the software suggested when the physician confirmed: kept so the decision can be audited.
    suggested_category = models.CharField(max_length=20, blank=True)
    suggestion = models.JSONField(default=dict, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["-assessed_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(marrow_plasma_cell_pct__isnull=True)
                | models.Q(marrow_plasma_cell_pct__gte=0, marrow_plasma_cell_pct__lte=100),
                name="monitoring_responseassessment_marrow_pct_0_100",
            ),
        ]
        indexes = [
            # Timeline: a patient's valid assessments, newest first.
            models.Index(fields=["patient", "-assessed_on"], name="assessment_patient_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.category} on {self.assessed_on}"
