"""Maintenance regimens, courses, holds, dose changes, dose suggestions and REMS records.

Clinical rows are never deleted: a mistaken one is marked entered-in-error, and every
change is a django-simple-history row written in the same transaction as the change.
The rules these rows feed are pure functions in ``dosing``, ``cycles``, ``eligibility``
and ``rems_rules``; this module only stores facts and invariants.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from patients.models import EnteredInError, EnteredInErrorQuerySet, Patient, TimeStampedModel
from therapy.dosing import DoseLevel, format_mg
from therapy.rems_rules import RiskCategory

USER = settings.AUTH_USER_MODEL


def parse_days(spec: str) -> frozenset[int]:
    """Cycle days from "1-21", "1,8,15" or "1-3, 8" (empty: none)."""
    days: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if "-" in part:
            first, last = (int(x) for x in part.split("-", 1))
            days.update(range(first, last + 1))
        else:
            days.add(int(part))
    return frozenset(days)


# --- Catalogue ----------------------------------------------------------------------------


class Agent(TimeStampedModel):
    """A drug used for maintenance (the catalogue is seeded by migration 0002)."""

    class DrugClass(models.TextChoices):
        IMID = "imid", "Immunomodulatory drug"
        PROTEASOME_INHIBITOR = "pi", "Proteasome inhibitor"
        ANTI_CD38 = "anti_cd38", "Anti-CD38 antibody"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80, unique=True)
    drug_class = models.CharField(max_length=12, choices=DrugClass.choices)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegimenQuerySet(models.QuerySet):
    def selectable(self):
        return self.filter(is_active=True).order_by("display_order", "name")


class Regimen(TimeStampedModel):
    """A maintenance regimen: its agents with route, dose and days, and the starting
    lenalidomide level when lenalidomide is part of it."""

    class Kind(models.TextChoices):
        LENALIDOMIDE = "lenalidomide", "Lenalidomide"
        COMBINATION = "combination", "Combination (high risk)"
        ALTERNATIVE = "alternative", "Alternative"

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160, unique=True)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    cycle_days = models.PositiveSmallIntegerField(default=28)
    # The starting lenalidomide level (null when the regimen has no lenalidomide).
    lenalidomide_dose_mg = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    lenalidomide_dosing_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Days of the cycle the backbone agent is given, for regimens without lenalidomide.
    dosing_days_spec = models.CharField(max_length=60, blank=True, help_text='e.g. "1,8,15"')
    source_status = models.CharField(max_length=12, default="seed")
    source = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=100)

    history = HistoricalRecords()
    objects = RegimenQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cycle_days__gte=1, cycle_days__lte=56),
                name="therapy_regimen_cycle_days_1_56",
            ),
            models.CheckConstraint(
                condition=(
                    Q(lenalidomide_dose_mg__isnull=True, lenalidomide_dosing_days__isnull=True)
                    | Q(
                        lenalidomide_dose_mg__gt=0,
                        lenalidomide_dosing_days__gte=1,
                        lenalidomide_dosing_days__lte=F("cycle_days"),
                    )
                ),
                name="therapy_regimen_lenalidomide_level_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def includes_lenalidomide(self) -> bool:
        return self.lenalidomide_dose_mg is not None

    @property
    def starting_level(self) -> DoseLevel | None:
        if self.lenalidomide_dose_mg is None:
            return None
        return DoseLevel(self.lenalidomide_dose_mg, self.lenalidomide_dosing_days, self.cycle_days)


class RegimenComponent(TimeStampedModel):
    class Route(models.TextChoices):
        ORAL = "oral", "Oral"
        SC = "sc", "Subcutaneous"
        IV = "iv", "Intravenous"

    class Unit(models.TextChoices):
        MG = "mg", "mg"
        MG_M2 = "mg/m2", "mg/m²"
        MG_KG = "mg/kg", "mg/kg"

    regimen = models.ForeignKey(Regimen, on_delete=models.PROTECT, related_name="components")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="components")
    route = models.CharField(max_length=5, choices=Route.choices)
    dose = models.DecimalField(max_digits=7, decimal_places=2)
    unit = models.CharField(max_length=6, choices=Unit.choices, default=Unit.MG)
    days = models.CharField("days of the cycle", max_length=60, help_text='e.g. "1-21" or "1,15"')
    frequency_note = models.CharField(max_length=120, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["regimen", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dose__gt=0), name="therapy_regimencomponent_dose_positive"
            ),
            models.UniqueConstraint(
                fields=["regimen", "agent"], name="therapy_regimencomponent_unique_agent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} {format_mg(self.dose)} {self.unit} {self.get_route_display()} days {self.days}"


# --- Courses ------------------------------------------------------------------------------


class CourseQuerySet(EnteredInErrorQuerySet):
    def active(self):
        return self.valid().filter(status=MaintenanceCourse.Status.ACTIVE)

    def for_patients(self, patient_ids):
        return self.filter(patient_id__in=patient_ids)


class MaintenanceCourse(TimeStampedModel, EnteredInError):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISCONTINUED = "discontinued", "Discontinued"

    class DiscontinuationReason(models.TextChoices):
        PROGRESSION = "progression", "Progression"
        TOXICITY = "toxicity", "Toxicity"
        PATIENT_CHOICE = "patient_choice", "Patient choice"
        MRD_GUIDED_STOP = "mrd_guided_stop", "MRD-guided stop"
        SECOND_PRIMARY = "second_primary_malignancy", "Second primary malignancy"
        DEATH = "death", "Death"
        OTHER = "other", "Other"

    class Prophylaxis(models.TextChoices):
        ASPIRIN = "aspirin", "Aspirin"
        LMWH = "lmwh", "Low-molecular-weight heparin"
        DOAC = "doac", "Direct oral anticoagulant"
        WARFARIN = "warfarin", "Warfarin"
        NONE = "none", "None"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    regimen = models.ForeignKey(Regimen, on_delete=models.PROTECT, related_name="courses")
    start_date = models.DateField()
    cycle_days = models.PositiveSmallIntegerField(default=28)
    # Lenalidomide level at the start and now (null when the regimen has no lenalidomide).
    # The current level is kept in step with the DoseChange rows by the services.
    start_dose_mg = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    start_dosing_days = models.PositiveSmallIntegerField(null=True, blank=True)
    dose_mg = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    dosing_days = models.PositiveSmallIntegerField(null=True, blank=True)

    vte_prophylaxis = models.CharField(max_length=10, choices=Prophylaxis.choices)
    aspirin_dose_mg = models.PositiveSmallIntegerField(null=True, blank=True)
    vte_prophylaxis_note = models.TextField(
        blank=True, help_text="Required when no prophylaxis is given: say why."
    )

    status = models.CharField(max_length=14, choices=Status.choices, default=Status.ACTIVE)
    discontinued_on = models.DateField(null=True, blank=True)
    discontinuation_reason = models.CharField(
        max_length=30, choices=DiscontinuationReason.choices, blank=True
    )
    discontinuation_note = models.TextField(blank=True)

    # Starting despite a failed eligibility item needs a written reason (kept with the course),
    # and the checklist as it stood at the start is frozen here with its rule versions.
    start_justification = models.TextField(blank=True)
    eligibility_snapshot = models.JSONField(default=list, blank=True)
    started_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-pk"]
        permissions = [
            ("manage_course", "Can start, change, hold and stop maintenance courses"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="active", entered_in_error_at__isnull=True),
                name="therapy_maintenancecourse_one_active_per_patient",
            ),
            models.CheckConstraint(
                condition=Q(discontinued_on__isnull=True) | Q(discontinued_on__gte=F("start_date")),
                name="therapy_maintenancecourse_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status="active", discontinued_on__isnull=True)
                | (
                    Q(status="discontinued", discontinued_on__isnull=False)
                    & ~Q(discontinuation_reason="")
                ),
                name="therapy_maintenancecourse_discontinuation_complete",
            ),
            models.CheckConstraint(
                condition=Q(dose_mg__isnull=True) | Q(dose_mg__gt=0),
                name="therapy_maintenancecourse_dose_positive",
            ),
            models.CheckConstraint(
                condition=Q(dosing_days__isnull=True)
                | Q(dosing_days__gte=1, dosing_days__lte=F("cycle_days")),
                name="therapy_maintenancecourse_dosing_days_in_cycle",
            ),
            models.CheckConstraint(
                condition=~Q(vte_prophylaxis="none") | ~Q(vte_prophylaxis_note=""),
                name="therapy_maintenancecourse_no_prophylaxis_has_reason",
            ),
        ]
        indexes = [
            # course_snapshots / active_course_for: active courses of a batch of patients.
            models.Index(
                fields=["patient", "start_date"],
                condition=Q(status="active", entered_in_error_at__isnull=True),
                name="course_active_patient_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regimen} from {self.start_date}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def current_level(self) -> DoseLevel | None:
        if self.dose_mg is None:
            return None
        return DoseLevel(self.dose_mg, self.dosing_days, self.cycle_days)

    @property
    def start_level(self) -> DoseLevel | None:
        if self.start_dose_mg is None:
            return None
        return DoseLevel(self.start_dose_mg, self.start_dosing_days, self.cycle_days)

    @property
    def prophylaxis_text(self) -> str:
        if self.vte_prophylaxis == self.Prophylaxis.ASPIRIN and self.aspirin_dose_mg:
            return f"Aspirin {self.aspirin_dose_mg} mg daily"
        if self.vte_prophylaxis == self.Prophylaxis.NONE:
            return f"None ({self.vte_prophylaxis_note})"
        return self.get_vte_prophylaxis_display()


class DoseChange(TimeStampedModel, EnteredInError):
    """The lenalidomide level changes from ``effective_from`` (from/to kept for the timeline)."""

    class Reason(models.TextChoices):
        HEMATOLOGIC_TOXICITY = "hematologic_toxicity", "Hematologic toxicity (cytopenia)"
        OTHER_TOXICITY = "other_toxicity", "Other toxicity"
        RENAL_FUNCTION = "renal_function", "Renal function"
        ESCALATION = "escalation", "Escalation (tolerated)"
        PATIENT_PREFERENCE = "patient_preference", "Patient preference"
        OTHER = "other", "Other"

    course = models.ForeignKey(
        MaintenanceCourse, on_delete=models.PROTECT, related_name="dose_changes"
    )
    effective_from = models.DateField()
    from_dose_mg = models.DecimalField(max_digits=5, decimal_places=2)
    from_dosing_days = models.PositiveSmallIntegerField()
    to_dose_mg = models.DecimalField(max_digits=5, decimal_places=2)
    to_dosing_days = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=24, choices=Reason.choices)
    note = models.TextField(blank=True)
    entered_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["effective_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_dose_mg__gt=0, to_dose_mg__gt=0),
                name="therapy_dosechange_doses_positive",
            ),
            models.UniqueConstraint(
                fields=["course", "effective_from"],
                condition=Q(entered_in_error_at__isnull=True),
                name="therapy_dosechange_one_per_course_and_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_level.label} -> {self.to_level.label} from {self.effective_from}"

    @property
    def from_level(self) -> DoseLevel:
        return DoseLevel(self.from_dose_mg, self.from_dosing_days, self.course.cycle_days)

    @property
    def to_level(self) -> DoseLevel:
        return DoseLevel(self.to_dose_mg, self.to_dosing_days, self.course.cycle_days)


class Hold(TimeStampedModel, EnteredInError):
    """Dosing paused from ``start_date``; ``end_date`` is the first day dosing resumes
    (null while the hold is open). Holds of one course never overlap: the services check
    it under a row lock on the course, and on PostgreSQL an exclusion constraint
    (migration 0003) makes the database refuse it too."""

    class Reason(models.TextChoices):
        NEUTROPENIA = "neutropenia", "Neutropenia"
        THROMBOCYTOPENIA = "thrombocytopenia", "Thrombocytopenia"
        OTHER_TOXICITY = "other_toxicity", "Other toxicity"
        INFECTION = "infection", "Infection"
        PROCEDURE = "procedure", "Surgery or procedure"
        PATIENT_CHOICE = "patient_choice", "Patient choice"
        OTHER = "other", "Other"

    CYTOPENIA = (Reason.NEUTROPENIA, Reason.THROMBOCYTOPENIA)

    course = models.ForeignKey(MaintenanceCourse, on_delete=models.PROTECT, related_name="holds")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    end_note = models.TextField(blank=True)
    entered_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["start_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
                name="therapy_hold_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(end_date__isnull=True, entered_in_error_at__isnull=True),
                name="therapy_hold_one_open_per_course",
            ),
        ]
        indexes = [
            # Holds starting or ending after a date (``selectors.therapy_dates_coming``, the
            # sweep's next review: ``start_date > d OR end_date > d``): few holds are dated
            # later than today, and the two indexes are read together (a BitmapOr) instead of
            # every hold of the clinic.
            models.Index(
                fields=["start_date"],
                condition=Q(entered_in_error_at__isnull=True),
                name="hold_valid_start_idx",
            ),
            models.Index(
                fields=["end_date"],
                condition=Q(entered_in_error_at__isnull=True),
                name="hold_valid_end_idx",
            ),
        ]

    def __str__(self) -> str:
        until = f" to {self.end_date}" if self.end_date else " (open)"
        return f"Hold {self.start_date}{until}: {self.get_reason_display()}"

    @property
    def is_open(self) -> bool:
        return self.end_date is None

    @property
    def for_cytopenia(self) -> bool:
        return self.reason in self.CYTOPENIA


# --- Dose suggestions ----------------------------------------------------------------------


class SuggestionQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=DoseSuggestion.Status.PENDING)


class DoseSuggestion(TimeStampedModel):
    """Decision support from a rule: a physician accepts (creating the hold or dose change,
    linked here) or dismisses it with a reason. Never changes a dose by itself."""

    class Kind(models.TextChoices):
        HOLD = "hold", "Hold lenalidomide"
        RESUME_LOWER = "resume_lower", "Resume at the next lower dose"
        DISCONTINUATION_REVIEW = "discontinuation_review", "Review discontinuation"
        RENAL_DOSE_REVIEW = "renal_dose_review", "Review the dose for renal function"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="dose_suggestions")
    course = models.ForeignKey(
        MaintenanceCourse,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="suggestions",
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    raised_on = models.DateField(help_text="The clinical date the rule was evaluated for.")
    # The rule's Finding: rule id, outcome, message, values and thresholds with versions.
    rule_id = models.CharField(max_length=80)
    message = models.TextField()
    finding = models.JSONField(default=dict)
    # What the rule read: lab result ids, values and dates.
    evidence = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.TextField(blank=True)
    withdraw_reason = models.TextField(blank=True)
    created_hold = models.ForeignKey(
        Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="suggestions"
    )
    created_dose_change = models.ForeignKey(
        DoseChange, null=True, blank=True, on_delete=models.PROTECT, related_name="suggestions"
    )

    history = HistoricalRecords()
    objects = SuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_on", "-pk"]
        permissions = [("decide_dosesuggestion", "Can accept or dismiss dose suggestions")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(status="pending"),
                name="therapy_dosesuggestion_one_pending_per_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismiss_reason=""),
                name="therapy_dosesuggestion_dismissal_has_reason",
            ),
        ]
        indexes = [
            # pending_suggestions(patient_ids): the pending queue of a batch of patients.
            models.Index(
                fields=["patient", "kind"],
                condition=Q(status="pending"),
                name="suggestion_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()}) {self.raised_on}"

    @property
    def thresholds(self) -> list[dict]:
        return self.finding.get("thresholds", [])

    @property
    def suggested_level(self) -> DoseLevel | None:
        level = (self.finding.get("values") or {}).get("suggested_level")
        if not isinstance(level, dict):
            return None
        return DoseLevel(
            Decimal(level["dose_mg"]), level["dosing_days"], level.get("cycle_days", 28)
        )


# --- REMS ------------------------------------------------------------------------------------


class RemsEnrollment(TimeStampedModel):
    """A patient's Lenalidomide REMS enrollment (field names follow NCPDP SCRIPT / HL7 FHIR
    REMS: REMS patient ID, prescriber enrollment ID, patient risk category)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.OneToOneField(
        Patient, on_delete=models.PROTECT, related_name="rems_enrollment"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    patient_risk_category = models.CharField(max_length=12, choices=RiskCategory.CHOICES)
    suggested_risk_category = models.CharField(
        max_length=12, choices=RiskCategory.CHOICES, blank=True
    )
    risk_category_confirmed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    risk_category_confirmed_at = models.DateTimeField(null=True, blank=True)
    enrolled_on = models.DateField(null=True, blank=True)
    rems_patient_id = models.CharField("REMS patient ID", max_length=40, blank=True)
    agreement_signed_on = models.DateField(
        "patient-physician agreement signed", null=True, blank=True
    )
    counselled_on = models.DateField(null=True, blank=True)
    prescriber_name = models.CharField(max_length=120, blank=True)
    prescriber_enrollment_id = models.CharField(
        "prescriber enrollment ID", max_length=40, blank=True
    )
    prescriber_certification_expires_on = models.DateField(
        "prescriber certification expiry", null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["patient"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agreement_signed_on__isnull=True)
                | Q(enrolled_on__isnull=True)
                | Q(agreement_signed_on__lte=F("enrolled_on")),
                name="therapy_remsenrollment_agreement_before_enrollment",
            ),
        ]
        indexes = [
            # The sweep's REMS read joins a batch's patients to their enrollment
            # (``selectors.rems._rems_tuples``). With only the one-to-one's unique index the
            # planner hashes the whole table (63,960 rows at 100,000 patients for a batch of
            # 500); with the columns the rules read in the index, it looks each patient up,
            # index-only.
            models.Index(
                fields=["patient"],
                include=[
                    "status",
                    "patient_risk_category",
                    "enrolled_on",
                    "agreement_signed_on",
                    "prescriber_certification_expires_on",
                ],
                name="rems_enrollment_rules_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"REMS {self.rems_patient_id or 'enrollment'} ({self.get_patient_risk_category_display()})"

    @property
    def is_active(self) -> bool:
        return (
            self.status == self.Status.ACTIVE
            and self.enrolled_on is not None
            and self.agreement_signed_on is not None
        )


class RemsAuthorization(TimeStampedModel, EnteredInError):
    """One prescription's REMS authorization number, its validity and dispensing."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="rems_authorizations"
    )
    authorization_number = models.CharField(max_length=40)
    obtained_on = models.DateField()
    days_supply = models.PositiveSmallIntegerField()
    expires_on = models.DateField(help_text="Last valid day, computed from the risk category.")
    patient_risk_category = models.CharField(max_length=12, choices=RiskCategory.CHOICES)
    dispensed_on = models.DateField(null=True, blank=True)
    # The rule setting that fixed the expiry: "key v<version>".
    expiry_rule = models.CharField(max_length=100, blank=True)
    entered_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["-obtained_on", "-pk"]
        constraints = [
            # REMS prescriptions are for at most a 28-day supply (label).
            models.CheckConstraint(
                condition=Q(days_supply__gte=1, days_supply__lte=28),
                name="therapy_remsauthorization_days_supply_1_28",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gte=F("obtained_on")),
                name="therapy_remsauthorization_expiry_after_obtained",
            ),
            models.CheckConstraint(
                condition=Q(dispensed_on__isnull=True) | Q(dispensed_on__gte=F("obtained_on")),
                name="therapy_remsauthorization_dispensed_after_obtained",
            ),
            models.UniqueConstraint(
                fields=["patient", "authorization_number"],
                condition=Q(entered_in_error_at__isnull=True),
                name="therapy_remsauthorization_unique_number",
            ),
        ]
        indexes = [
            # rems_states: the latest authorization of each patient.
            models.Index(fields=["patient", "-obtained_on"], name="rems_auth_patient_date_idx"),
        ]

    def __str__(self) -> str:
        return f"Authorization {self.authorization_number} ({self.obtained_on})"


class RemsSurvey(TimeStampedModel, EnteredInError):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="rems_surveys")
    completed_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    entered_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["-completed_on", "-pk"]
        indexes = [
            # rems_states: the latest survey of each patient.
            models.Index(fields=["patient", "-completed_on"], name="rems_survey_patient_date_idx"),
        ]

    def __str__(self) -> str:
        return f"REMS survey {self.completed_on}"
