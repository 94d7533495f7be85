"""Clinics, patients and what the maintenance work needs to know about each patient."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from patients.formatting import clinical_number
from patients.rulebook import SourceStatus


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class EnteredInErrorQuerySet(models.QuerySet):
    def valid(self):
        return self.filter(entered_in_error_at__isnull=True)


class EnteredInError(models.Model):
    """Clinical rows are never deleted: a mistaken one is marked, with who, when and why."""

    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_in_error_reason = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def is_entered_in_error(self) -> bool:
        return self.entered_in_error_at is not None


class Clinic(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=20, unique=True)
    # Printed on the patient's dosing calendar: the number a patient calls with questions.
    phone = models.CharField("telephone", max_length=32, blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="clinics", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PatientQuerySet(EnteredInErrorQuerySet):
    def for_user(self, user):
        """Patients of the user's clinics. Superusers are not special here: clinic
        membership is the only way to see a patient outside Django admin."""
        return self.filter(clinic__staff=user)

    def search(self, text: str):
        text = text.strip()
        if not text:
            return self
        # Every word must match ("Nakamura, Lena" and "Lena Nakamura" find her alone): a
        # name by its start, an MRN by any part ("000008" finds N000008).
        query = Q()
        for word in re.split(r"[\s,;]+", text):
            if not word:
                continue
            matches = Q(family_name__istartswith=word) | Q(given_name__istartswith=word)
            matches |= (
                Q(mrn__icontains=word)
                if any(c.isdigit() for c in word)
                else Q(mrn__istartswith=word)
            )
            query &= matches
        return self.filter(query)


class Patient(TimeStampedModel, EnteredInError):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active on maintenance"
        PRE_MAINTENANCE = "pre_maintenance", "Awaiting maintenance"
        OFF_THERAPY = "off_therapy", "Off therapy"
        TRANSFERRED = "transferred", "Transferred"
        DECEASED = "deceased", "Deceased"

    class ReproductivePotential(models.TextChoices):
        CAN_BECOME_PREGNANT = "can_become_pregnant", "Can become pregnant"
        CANNOT_BECOME_PREGNANT = "cannot_become_pregnant", "Cannot become pregnant"
        NOT_APPLICABLE = "not_applicable", "Not applicable (male)"
        UNKNOWN = "unknown", "Not yet assessed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=32)
    given_name = models.CharField(max_length=80)
    family_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=Sex.choices)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    height_cm = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("50")), MaxValueValidator(Decimal("250"))],
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    date_of_death = models.DateField(null=True, blank=True)

    # Reproductive potential feeds the REMS risk category. The facts behind it are kept so
    # the category can be re-derived and audited (REMS definition: menses in the past 24
    # consecutive months and no hysterectomy or bilateral oophorectomy).
    reproductive_potential = models.CharField(
        max_length=30, choices=ReproductivePotential.choices, default=ReproductivePotential.UNKNOWN
    )
    menses_in_past_24_months = models.BooleanField(null=True, blank=True)
    menses_regular = models.BooleanField(null=True, blank=True)
    hysterectomy = models.BooleanField(default=False)
    bilateral_oophorectomy = models.BooleanField(default=False)
    # Bumped (``patients.services.patient_rules_changed``) in the same transaction as any
    # change to an input of the monitoring rules; the evaluation stores the version it
    # read, so a patient is "dirty" while the two differ. Only that service writes it: a
    # whole-row save leaves it alone (see ``save``), so a stale instance cannot undo a bump.
    rules_version = models.PositiveBigIntegerField(default=0, editable=False)

    history = HistoricalRecords(excluded_fields=["rules_version"])
    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        permissions = [("view_access_log", "Can read the patient access log")]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "mrn"], name="patients_patient_unique_mrn_per_clinic"
            ),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__gte=50, height_cm__lte=250),
                name="patients_patient_height_plausible",
            ),
        ]
        indexes = [
            # Patient list search: MRN prefix and name prefix within the user's clinics.
            models.Index(
                fields=["clinic", "family_name", "given_name"], name="patient_clinic_name_idx"
            ),
            models.Index(fields=["clinic", "status"], name="patient_clinic_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    def save(self, *args, **kwargs):
        # rules_version belongs to patient_rules_changed alone (an F() update): writing
        # every other column keeps a bump made since this instance was read.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "rules_version"
            ]
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, on) -> int:
        years = on.year - self.date_of_birth.year
        if (on.month, on.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years


class Diagnosis(TimeStampedModel):
    """The myeloma diagnosis and the history that matters during maintenance (one per patient)."""

    class HeavyChain(models.TextChoices):
        IGG = "IgG", "IgG"
        IGA = "IgA", "IgA"
        IGD = "IgD", "IgD"
        IGM = "IgM", "IgM"
        LIGHT_CHAIN_ONLY = "light_chain_only", "Light chain only"
        NON_SECRETORY = "non_secretory", "Non-secretory"

    class LightChain(models.TextChoices):
        KAPPA = "kappa", "Kappa"
        LAMBDA = "lambda", "Lambda"
        NONE = "", "None / not applicable"

    class Stage(models.TextChoices):
        I = "I", "I"  # noqa: E741 - the stage is called I
        II = "II", "II"
        III = "III", "III"
        UNKNOWN = "", "Unknown"

    class Response(models.TextChoices):
        SCR = "sCR", "Stringent complete response (sCR)"
        CR = "CR", "Complete response (CR)"
        VGPR = "VGPR", "Very good partial response (VGPR)"
        PR = "PR", "Partial response (PR)"
        MR = "MR", "Minimal response (MR)"
        SD = "SD", "Stable disease (SD)"
        PD = "PD", "Progressive disease (PD)"
        UNKNOWN = "", "Not recorded"

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="diagnosis")
    diagnosed_on = models.DateField()
    heavy_chain = models.CharField(max_length=20, choices=HeavyChain.choices)
    light_chain = models.CharField(max_length=10, choices=LightChain.choices, blank=True)
    iss_stage = models.CharField("ISS stage", max_length=3, choices=Stage.choices, blank=True)
    riss_stage = models.CharField("R-ISS stage", max_length=3, choices=Stage.choices, blank=True)

    # Cytogenetics (FISH). None = not tested, so "not high risk" is never claimed on no data.
    cytogenetics_tested_on = models.DateField(null=True, blank=True)
    del_17p = models.BooleanField("del(17p)", null=True, blank=True)
    t_4_14 = models.BooleanField("t(4;14)", null=True, blank=True)
    t_14_16 = models.BooleanField("t(14;16)", null=True, blank=True)
    t_14_20 = models.BooleanField("t(14;20)", null=True, blank=True)
    gain_1q = models.BooleanField("gain/amplification 1q", null=True, blank=True)
    del_1p = models.BooleanField("del(1p)", null=True, blank=True)

    induction_regimen = models.CharField(max_length=120, blank=True)
    best_response_pre_maintenance = models.CharField(
        "best response before maintenance", max_length=5, choices=Response.choices, blank=True
    )
    prior_vte = models.BooleanField("prior DVT/PE", default=False)
    neuropathy_grade = models.PositiveSmallIntegerField(
        "peripheral neuropathy grade", default=0, validators=[MaxValueValidator(4)]
    )
    on_dialysis = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "diagnoses"
        constraints = [
            models.CheckConstraint(
                condition=Q(neuropathy_grade__lte=4), name="patients_diagnosis_neuropathy_grade_0_4"
            ),
        ]

    def __str__(self) -> str:
        return f"Myeloma {self.get_heavy_chain_display()} {self.get_light_chain_display()} ({self.diagnosed_on})"


class Transplant(TimeStampedModel, EnteredInError):
    class Kind(models.TextChoices):
        AUTOLOGOUS = "autologous", "Autologous"
        ALLOGENEIC = "allogeneic", "Allogeneic"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="transplants")
    transplanted_on = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.AUTOLOGOUS)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["transplanted_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} transplant {self.transplanted_on}"


class WeightMeasurement(TimeStampedModel, EnteredInError):
    """A weight on a date: Cockcroft-Gault uses the weight nearest the creatinine."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="weights")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("25")), MaxValueValidator(Decimal("350"))],
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["-measured_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__gte=25, weight_kg__lte=350), name="patients_weight_plausible"
            ),
        ]
        indexes = [models.Index(fields=["patient", "measured_on"], name="weight_patient_date_idx")]

    def __str__(self) -> str:
        return f"{self.weight_kg} kg on {self.measured_on}"


class PatientAccess(models.Model):
    """Who opened which patient record, and when (read by administrators)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="accesses")
    accessed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    path = models.CharField(max_length=300)

    class Meta:
        ordering = ["-accessed_at"]
        verbose_name_plural = "patient accesses"
        indexes = [models.Index(fields=["patient", "-accessed_at"], name="access_patient_time_idx")]

    def __str__(self) -> str:
        return f"{self.user} viewed {self.patient_id} at {self.accessed_at:%Y-%m-%d %H:%M}"


class RuleSetting(TimeStampedModel):
    """A versioned threshold that a clinical rule applies (seeded from the clinical reference).

    A change is a new version, never an edit: decisions keep the version they were made
    under. ``clinic`` null means every clinic; a clinic row overrides it.
    """

    key = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="rule_settings"
    )
    value = models.DecimalField(max_digits=12, decimal_places=4)
    unit = models.CharField(max_length=30)
    status = models.CharField(max_length=12, choices=SourceStatus.CHOICES)
    source = models.TextField()
    effective_from = models.DateField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    change_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["key", "clinic", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=Q(clinic__isnull=True),
                name="patients_rulesetting_unique_global_version",
            ),
            models.UniqueConstraint(
                fields=["key", "clinic", "version"],
                name="patients_rulesetting_unique_clinic_version",
            ),
        ]

    def __str__(self) -> str:
        scope = self.clinic.code if self.clinic_id else "all clinics"
        return f"{self.key} = {clinical_number(self.value)} {self.unit} (v{self.version}, {scope})"


# --- Nursing: telephone and clinic notes, follow-up calls -----------------------------------


class PatientNote(TimeStampedModel, EnteredInError):
    """A telephone or clinic note. A correction is an edit kept by simple-history with its
    reason; a mistaken note is marked entered-in-error, never deleted."""

    class Kind(models.TextChoices):
        TELEPHONE = "telephone", "Telephone call"
        CLINIC = "clinic", "Clinic visit"

    class Reason(models.TextChoices):
        SYMPTOMS = "symptoms", "Symptoms or side effects"
        MEDICATION = "medication", "Medication, supply or adherence"
        LAB_RESULTS = "lab_results", "Lab results"
        FOLLOW_UP = "follow_up", "Planned follow-up call"
        APPOINTMENTS = "appointments", "Appointments"
        EDUCATION = "education", "Education and counselling"
        OTHER = "other", "Other"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="notes")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TELEPHONE)
    reason = models.CharField(max_length=14, choices=Reason.choices)
    text = models.TextField()
    # Clinical time (when the call or visit took place) apart from the record time.
    contact_at = models.DateTimeField()
    follow_up_on = models.DateField("follow up on", null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()
    objects = EnteredInErrorQuerySet.as_manager()

    class Meta:
        ordering = ["-contact_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="patients_patientnote_has_text"),
        ]
        indexes = [
            # The notes panel on the patient page and the timeline: a patient's notes, newest first.
            models.Index(fields=["patient", "-contact_at"], name="note_patient_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} note ({self.get_reason_display()})"


class FollowUpCall(TimeStampedModel):
    """A call the nurses owe a patient: after a course starts (48-72 hours, 1 week, 1 month)
    or on the follow-up date of a note. Done with an outcome note; never deleted."""

    class Kind(models.TextChoices):
        AFTER_START_EARLY = "after_start_early", "First call after the course start"
        AFTER_START_WEEK = "after_start_week", "One-week call after the course start"
        AFTER_START_MONTH = "after_start_month", "One-month call after the course start"
        NOTE = "note", "Follow-up asked for in a note"

    class Status(models.TextChoices):
        OPEN = "open", "To do"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_up_calls")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    due_from = models.DateField()
    due_by = models.DateField()
    purpose = models.CharField(max_length=200)
    # The therapy course that started it (therapy sits above patients: a reference, no key).
    course_public_id = models.UUIDField(null=True, blank=True)
    # The rule settings that fixed the dates: "key v<version>; ...".
    rule = models.CharField(max_length=300, blank=True)
    note = models.ForeignKey(
        PatientNote, null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_note = models.ForeignKey(
        PatientNote, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_by__gte=models.F("due_from")),
                name="patients_followupcall_due_by_after_from",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_at__isnull=False, outcome_note__isnull=False),
                name="patients_followupcall_done_has_outcome",
            ),
            # Starting a course twice (a retry) must not owe the patient twice the calls.
            models.UniqueConstraint(
                fields=["course_public_id", "kind"],
                condition=Q(course_public_id__isnull=False),
                name="patients_followupcall_one_per_course_and_kind",
            ),
            models.UniqueConstraint(
                fields=["note"],
                condition=Q(note__isnull=False, status="open"),
                name="patients_followupcall_one_open_per_note",
            ),
        ]
        indexes = [
            # The worklist's follow-up section: open calls by due date.
            models.Index(
                fields=["due_from"], condition=Q(status="open"), name="followup_open_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()}) due {self.due_from}"
