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

from patients.formatting import (
    clinical_datetime,
    clinical_number,
    clinical_power_of_ten,
    clinical_quantity,
)
from patients.lab_catalogue import PANELS, TESTS
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
    # When an evaluation of this patient was last queued and not yet started
    # (``patients.services.evaluations_send`` sets it, a worker clears it as it starts): while
    # set, a further change queues nothing more, since the task still waiting will read it.
    # Also written only by those two statements.
    evaluation_queued_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["rules_version", "evaluation_queued_at"])
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
            # A clinic's valid patients, ids only: the worklist's order joins them to every
            # open item, and PostgreSQL reads them from this index alone (index-only scan).
            models.Index(
                fields=["clinic", "id"],
                name="patient_clinic_valid_idx",
                condition=Q(entered_in_error_at__isnull=True),
            ),
            # The evaluation queue: the patients a worker takes (``evaluations_take``).
            models.Index(
                fields=["evaluation_queued_at", "id"],
                name="patient_eval_queued_idx",
                condition=Q(evaluation_queued_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    def save(self, *args, **kwargs):
        # rules_version belongs to patient_rules_changed alone (an F() update), and
        # evaluation_queued_at to the evaluation queue: writing every other column keeps a
        # bump or a queue mark made since this instance was read.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in _WRITTEN_BY_THEIR_SERVICES
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


_WRITTEN_BY_THEIR_SERVICES = frozenset({"rules_version", "evaluation_queued_at"})


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
        return f"Myeloma {self.isotype} ({self.diagnosed_on})"

    @property
    def isotype(self) -> str:
        """The isotype as clinicians write it, on every page and in FHIR: "IgG kappa",
        "Lambda light chain only", "Non-secretory"; a light chain that is not recorded is
        left out (never the blank choice's "None / not applicable")."""
        light = self.get_light_chain_display().lower() if self.light_chain else ""
        if self.heavy_chain == self.HeavyChain.LIGHT_CHAIN_ONLY:
            return f"{light.capitalize()} light chain only" if light else "Light chain only"
        if self.heavy_chain == self.HeavyChain.NON_SECRETORY:
            return f"Non-secretory ({light})" if light else "Non-secretory"
        return f"{self.get_heavy_chain_display()} {light}".rstrip()


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


# --- Lab results ------------------------------------------------------------------------
# The lab record: results and the units they are entered in. Rows refer to a test by its
# code in the lab catalogue (``patients.lab_catalogue``, pure data). Every measured value
# keeps what was typed (value and unit as entered) next to its canonical value, so a unit
# mix-up stays visible. The tables keep their first names (monitoring_*): the models moved
# down from the monitoring app so therapy can read labs without an indirection layer.

TEST_CHOICES = [(t.code, t.name) for t in TESTS]
PANEL_CHOICES = [(p.code, p.name) for p in PANELS.values()]


class ClinicLabUnit(TimeStampedModel):
    """The unit a clinic's lab reports a test in: the default on the entry page."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="lab_units")
    test_code = models.CharField(max_length=20, choices=TEST_CHOICES)
    unit = models.CharField(max_length=20)

    class Meta:
        db_table = "monitoring_cliniclabunit"
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
        db_table = "monitoring_userlabunit"
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

# The response markers IMWG reads (M-protein, free light chains): their whole history is read
# per patient (``patients.lab_selectors.marker_history``, the sweep's gather), from
# ``labresult_marker_history_idx``, whose condition names these codes.
RESPONSE_MARKER_CODES = ("SPEP_M", "UPEP_M24", "FLC_KAPPA", "FLC_LAMBDA")


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
    # The interface message (HL7 or FHIR) the result arrived in, by id: the message log
    # lives in monitoring, above this app, so the record keeps the id and the interface
    # pages look the message up (no foreign key pointing up the layers).
    interface_message_id = models.BigIntegerField(null=True, blank=True, db_index=True)

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

    history = HistoricalRecords(table_name="monitoring_historicallabresult")
    objects = LabResultQuerySet.as_manager()

    class Meta:
        db_table = "monitoring_labresult"
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
        # The latest valid value per patient and test (rules, latest-labs panel, therapy
        # checks, the window "row_number() over (partition by patient, test order by
        # collected_at desc)") is read from the index behind the unique constraint above,
        # scanned backwards; a second index on the same columns was never chosen.
        indexes = [
            # The results of one panel entry, shown after save.
            models.Index(fields=["collection_id"], name="labresult_collection_idx"),
            # Each patient's response-marker history, oldest first (the sweep's gather and
            # ``lab_selectors.marker_history``): markers are about a tenth of a patient's
            # results, so the patient index read ten rows to keep one. The key is the read's
            # order; the included columns are the rest of what the sweep reads, so on
            # PostgreSQL the read is index-only (SQLite ignores INCLUDE).
            models.Index(
                fields=["patient", "collected_at", "test_code", "id"],
                include=[
                    "canonical_value",
                    "canonical_unit",
                    "qualitative",
                    "ref_low",
                    "result_status",
                ],
                condition=CURRENT_RESULT & Q(test_code__in=RESPONSE_MARKER_CODES),
                name="labresult_marker_history_idx",
            ),
            # A batch's results marked entered-in-error (the sweep's withdrawn evidence:
            # ``gather._in_error_words``): few rows, so the index is tiny and the lookup no
            # longer reads every result of the batch's patients.
            models.Index(
                fields=["patient"],
                condition=Q(entered_in_error_at__isnull=False),
                name="labresult_in_error_patient_idx",
            ),
        ]

    def __str__(self) -> str:
        # In the clinic's time zone: this text titles the entered-in-error page.
        return f"{self.get_test_code_display()} {self.shown_value} ({clinical_datetime(self.collected_at)})"

    @property
    def shown_value(self) -> str:
        if self.qualitative:
            return self.get_qualitative_display()
        from patients.lab_catalogue import find_test

        # The catalogue's display precision, no trailing zeros, never an exponent.
        places = find_test(self.test_code).decimal_places
        if self.canonical_unit == "fraction":  # an MRD level: 2 × 10^-6, not 0.000002
            return f"{clinical_power_of_ten(self.canonical_value, places)} {self.canonical_unit}"
        return clinical_quantity(self.canonical_value, self.canonical_unit, places)
