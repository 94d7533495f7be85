"""REMS reads (CONTRACT): each patient's REMS state for the rules, the REMS record and the
REMS worklist."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, OuterRef, QuerySet, Subquery

from patients.lab_selectors import last_negative_pregnancy_tests
from patients.models import Patient
from patients.rows import TupleRow, fields_of, ids_in
from patients.rulebook import Finding, Threshold
from patients.selectors import rule_thresholds
from therapy import rems_rules
from therapy.models import (
    MaintenanceCourse,
    RemsAuthorization,
    RemsEnrollment,
    RemsSurvey,
)


@dataclass(frozen=True)
class RemsState:
    """CONTRACT. A patient's REMS status on one date."""

    patient_id: int
    risk_category: str | None  # the confirmed category; None when not enrolled
    status: Finding  # rems_rules.rems_status: values["actions"] lists what is needed
    # Dates after as_of on which the status can change with nothing new recorded, earliest
    # first, each with the rule (rems_rules.status_changes; an unenrolled minor's category).
    changes: tuple[tuple[date, str], ...] = ()


def rems_states(patient_ids: list[int], *, as_of: date) -> dict[int, RemsState]:
    """CONTRACT. REMS status of each patient on ``as_of``.

    One query for patients, enrollment, latest authorization, latest survey and active
    course start; one rule-settings query per clinic among them; pregnancy tests from the
    lab record (``patients.lab_selectors``, one query for the batch).
    """
    return _states_of(_rems_tuples(patient_ids, as_of=as_of), as_of=as_of)


class _RemsEnrollmentRow(TupleRow):
    """The enrollment columns the REMS rules read (as ``RemsEnrollment``)."""

    COLUMNS = (
        "status",
        "patient_risk_category",
        "enrolled_on",
        "agreement_signed_on",
        "prescriber_certification_expires_on",
    )
    __slots__ = fields_of(COLUMNS)

    @property
    def is_active(self) -> bool:  # as ``RemsEnrollment.is_active``
        return (
            self.status == RemsEnrollment.Status.ACTIVE
            and self.enrolled_on is not None
            and self.agreement_signed_on is not None
        )


class _RemsPatientRow:
    """A patient as ``_states_of`` reads it (the columns of ``_rems_annotate``), from one
    tuple: no model instance."""

    COLUMNS = (
        "id",
        "clinic_id",
        "date_of_birth",
        "sex_at_birth",
        "reproductive_potential",
        "hysterectomy",
        "bilateral_oophorectomy",
        "menses_regular",
        "auth_obtained_on",
        "auth_expires_on",
        "last_survey_on",
        "therapy_start",
    )
    __slots__ = (*fields_of(COLUMNS), "rems_enrollment")
    ENROLLMENT_COLUMNS = tuple(f"rems_enrollment__{name}" for name in _RemsEnrollmentRow.COLUMNS)

    def __init__(self, row: tuple) -> None:
        own = len(self.COLUMNS)
        for name, value in zip(self.__slots__[:own], row[:own], strict=True):
            setattr(self, name, value)
        enrollment = row[own:]
        # The enrollment's status is never null: a null one means no enrollment row.
        self.rems_enrollment = (
            _RemsEnrollmentRow(*enrollment) if enrollment[0] is not None else None
        )

    def age_on(self, on: date) -> int:  # as ``Patient.age_on``
        return Patient.age_on(self, on)


def _rems_tuples(patient_ids: list[int], *, as_of: date) -> list[_RemsPatientRow]:
    """``_rems_rows`` read as tuples (one query, a left join to the enrollment)."""
    rows = _rems_rows(patient_ids, as_of=as_of).values_list(
        *_RemsPatientRow.COLUMNS, *_RemsPatientRow.ENROLLMENT_COLUMNS
    )
    return [_RemsPatientRow(row) for row in rows]


def _states_of(
    patients: list[Patient], *, as_of: date, with_changes: bool = True
) -> dict[int, RemsState]:
    """The REMS states of patients read by ``_rems_annotate`` (enrollment and latest dates).
    ``with_changes=False``: no future change dates (the REMS list shows today's status only;
    the evaluation schedules its next run from them)."""
    thresholds = _thresholds_by_clinic(
        {p.clinic_id for p in patients}, rems_rules.DEFAULTS, as_of=as_of
    )
    categories = {p.pk: _category_of(p, as_of, thresholds[p.clinic_id]) for p in patients}
    need_tests = [
        p.pk for p in patients if rems_rules.is_fcbp(categories[p.pk]) and p.therapy_start
    ]
    earliest = min((p.therapy_start for p in patients if p.pk in need_tests), default=as_of)
    tests = (
        last_negative_pregnancy_tests(need_tests, since=earliest - timedelta(days=14), as_of=as_of)
        if need_tests
        else {}
    )
    states = {}
    for p in patients:
        enrollment = _enrollment_of(p)
        snapshot = rems_rules.RemsSnapshot(
            risk_category=categories[p.pk],
            enrolled_on=enrollment.enrolled_on if enrollment and enrollment.is_active else None,
            agreement_signed=bool(enrollment and enrollment.agreement_signed_on),
            authorization_obtained_on=p.auth_obtained_on,
            authorization_expires_on=p.auth_expires_on,
            last_survey_on=p.last_survey_on,
            prescriber_certification_expires_on=(
                enrollment.prescriber_certification_expires_on if enrollment else None
            ),
            therapy_start=p.therapy_start,
            last_negative_pregnancy_test=tests.get(p.pk),
            # Unknown regularity: test every 2 weeks (the protective schedule).
            menses_regular=p.menses_regular is True,
        )
        status = rems_rules.rems_status(snapshot, as_of=as_of, thresholds=thresholds[p.clinic_id])
        if not with_changes:
            states[p.pk] = RemsState(
                patient_id=p.pk,
                risk_category=enrollment.patient_risk_category if enrollment else None,
                status=status,
            )
            continue
        changes = rems_rules.status_changes(
            snapshot, as_of=as_of, thresholds=thresholds[p.clinic_id]
        )
        if enrollment is None and (adult_on := _adult_on(p, thresholds[p.clinic_id])) > as_of:
            # Not enrolled: the suggested category turns adult on that birthday.
            changes = tuple(sorted((*changes, (adult_on, "risk category: adult"))))
        states[p.pk] = RemsState(
            patient_id=p.pk,
            risk_category=enrollment.patient_risk_category if enrollment else None,
            status=status,
            changes=changes,
        )
    return states


def _adult_on(patient: Patient, thresholds: dict[str, Threshold]) -> date:
    """The birthday on which ``suggest_risk_category`` counts the patient as an adult."""
    years = math.ceil(rems_rules.settings(thresholds)["rems.adult_age_years"].value)
    born = patient.date_of_birth
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February: a year later it is 1 March (Patient.age_on)
        return date(born.year + years, 3, 1)


def _rems_rows(patient_ids: list[int], *, as_of: date) -> QuerySet[Patient]:
    return _rems_annotate(Patient.objects.filter(ids_in("pk", patient_ids)), as_of=as_of)


# The patient columns the REMS rules and the REMS list read (a row of the whole clinic is
# built for every patient when the list is sorted by urgency: no more than it needs).
REMS_PATIENT_FIELDS = (
    "id",
    "public_id",
    "clinic_id",
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex_at_birth",
    "reproductive_potential",
    "hysterectomy",
    "bilateral_oophorectomy",
    "menses_regular",
)

REMS_LIST_FIELDS = (
    *REMS_PATIENT_FIELDS,
    "rems_enrollment__id",
    "rems_enrollment__status",
    "rems_enrollment__patient_risk_category",
    "rems_enrollment__enrolled_on",
    "rems_enrollment__agreement_signed_on",
    "rems_enrollment__prescriber_certification_expires_on",
)


def _rems_annotate(patients: QuerySet[Patient], *, as_of: date) -> QuerySet[Patient]:
    latest_auth = (
        RemsAuthorization.objects.valid()
        .filter(patient=OuterRef("pk"), obtained_on__lte=as_of)
        .order_by("-obtained_on", "-pk")
    )
    latest_survey = (
        RemsSurvey.objects.valid()
        .filter(patient=OuterRef("pk"), completed_on__lte=as_of)
        .order_by("-completed_on", "-pk")
    )
    # A planned course (starting after as_of) has no pregnancy-test schedule yet.
    active_start = MaintenanceCourse.objects.active().filter(
        patient=OuterRef("pk"), start_date__lte=as_of
    )
    return patients.select_related("rems_enrollment").annotate(
        auth_obtained_on=Subquery(latest_auth.values("obtained_on")[:1]),
        auth_expires_on=Subquery(latest_auth.values("expires_on")[:1]),
        last_survey_on=Subquery(latest_survey.values("completed_on")[:1]),
        therapy_start=Subquery(active_start.values("start_date")[:1]),
    )


def _enrollment_of(patient: Patient) -> RemsEnrollment | None:
    if isinstance(patient, _RemsPatientRow):
        return patient.rems_enrollment
    try:
        return patient.rems_enrollment
    except RemsEnrollment.DoesNotExist:
        return None


def _thresholds_by_clinic(
    clinic_ids: set[int], defaults: tuple[Threshold, ...], *, as_of: date
) -> dict[int, dict[str, Threshold]]:
    """Each clinic's thresholds in force on ``as_of``: the status date's, as every other rule
    of an evaluation reads them (a back-filled evaluation uses the settings of its day)."""
    return {
        clinic_id: rule_thresholds(defaults, clinic_id=clinic_id, as_of=as_of)
        for clinic_id in clinic_ids
    }


def can_become_pregnant_of(patient: Patient) -> bool | None:
    """The assessed potential; when not assessed, a recorded hysterectomy or bilateral
    oophorectomy decides "cannot" (label definition, ``rems_rules``); else unknown."""
    potential = patient.reproductive_potential
    if patient.sex_at_birth == Patient.Sex.MALE:
        return False
    if potential == Patient.ReproductivePotential.CAN_BECOME_PREGNANT:
        return True
    if potential == Patient.ReproductivePotential.CANNOT_BECOME_PREGNANT:
        return False
    if rems_rules.surgery_rules_out_pregnancy(
        hysterectomy=patient.hysterectomy, bilateral_oophorectomy=patient.bilateral_oophorectomy
    ):
        return False
    return None


def suggested_risk_category(
    patient: Patient, *, as_of: date, thresholds: dict[str, Threshold] | None = None
) -> Finding:
    assessed = {
        Patient.ReproductivePotential.CAN_BECOME_PREGNANT: True,
        Patient.ReproductivePotential.CANNOT_BECOME_PREGNANT: False,
    }.get(patient.reproductive_potential)
    return rems_rules.suggest_risk_category(
        sex_at_birth=patient.sex_at_birth,
        age_years=patient.age_on(as_of),
        can_become_pregnant=assessed,
        hysterectomy=patient.hysterectomy,
        bilateral_oophorectomy=patient.bilateral_oophorectomy,
        thresholds=thresholds,
    )


def _category_of(patient: Patient, as_of: date, thresholds: dict[str, Threshold]) -> str:
    enrollment = _enrollment_of(patient)
    if enrollment is not None:
        return enrollment.patient_risk_category
    return suggested_risk_category(patient, as_of=as_of, thresholds=thresholds).outcome


def rems_record(patient: Patient) -> dict:
    """The REMS page: enrollment, authorizations and surveys (valid ones first)."""
    return {
        "enrollment": RemsEnrollment.objects.filter(patient=patient)
        .select_related("risk_category_confirmed_by")
        .first(),
        "authorizations": list(
            RemsAuthorization.objects.filter(patient=patient).order_by("-obtained_on", "-pk")
        ),
        "surveys": list(
            RemsSurvey.objects.filter(patient=patient).order_by("-completed_on", "-pk")
        ),
    }


@dataclass(frozen=True)
class RemsRow:
    patient: Patient
    state: RemsState

    @property
    def clinic_name(self) -> str:
        return self.patient.clinic_name


class LazyRemsRows:
    """REMS rows computed only for the slice that is read (a page, or all for a CSV)."""

    def __init__(self, patients: QuerySet[Patient], *, as_of: date) -> None:
        self.patients = patients
        self.as_of = as_of

    def __len__(self) -> int:
        return self.patients.count()

    def count(self) -> int:
        return len(self)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        chunk = list(_rems_annotate(self.patients, as_of=self.as_of)[index])
        states = _states_of(chunk, as_of=self.as_of, with_changes=False)
        return [RemsRow(patient=p, state=states[p.pk]) for p in chunk]

    def __iter__(self):
        return iter(self[0 : len(self)])


# Most urgent first: a patient who may not be dispensed to today before one whose paperwork
# is merely coming due. Unknown actions sort after the known ones.
REMS_ACTION_URGENCY = (
    "pregnancy_test_overdue",
    "authorization_expired",
    "no_authorization",
    "enrollment_missing",
    "prescriber_certification_expired",
    "pregnancy_test_due",
    "authorization_expiring",
    "prescriber_certification_expiring",
    "survey_due",
)


REMS_SORTS = ("urgency", "name")


def rems_action_label(action: str) -> str:
    """'survey_due' -> 'Survey due' (the words on the list, the filter and the CSV)."""
    return action.replace("_", " ").capitalize()


def rems_risk_category_label(code: str | None) -> str:
    return rems_rules.RiskCategory.LABELS.get(code or "", "Not enrolled")


def _urgency(row: RemsRow) -> tuple:
    actions = row.state.status.values.get("actions") or []
    ranks = [
        REMS_ACTION_URGENCY.index(a) if a in REMS_ACTION_URGENCY else len(REMS_ACTION_URGENCY)
        for a in actions
    ]
    expires = str(row.state.status.values.get("authorization_expires_on") or date.max)
    return (
        row.state.status.outcome == "compliant",
        min(ranks, default=len(REMS_ACTION_URGENCY) + 1),
        expires,
        row.patient.family_name.lower(),
        row.patient.given_name.lower(),
        row.patient.pk,
    )


def rems_list(
    *,
    user,
    as_of: date,
    clinic_id: int | None = None,
    status: str = "",
    include_inactive: bool = False,
    search: str = "",
    sort: str = "urgency",
) -> list[RemsRow] | LazyRemsRows:
    """Every patient of the user's clinics with a REMS status, most urgent first (or by
    name). Filtering or sorting by status needs the computed status, so that list is built
    in memory (a fixed number of queries); by name, only the rows on screen are computed."""
    patients = (
        Patient.objects.for_user(user)
        .valid()
        # The clinic's name as a column: no Clinic object built for each of the clinic's rows.
        .annotate(clinic_name=F("clinic__name"))
    )
    if clinic_id:
        patients = patients.filter(clinic_id=clinic_id)
    if not include_inactive:
        patients = patients.filter(
            status__in=[Patient.Status.ACTIVE, Patient.Status.PRE_MAINTENANCE]
        )
    if search:
        patients = patients.search(search)
    patients = patients.order_by("family_name", "given_name", "pk")
    if not status and sort == "name":
        # Unfiltered, only the rows on screen need a status: the paginator asks for a count
        # and one slice, so 25 statuses are computed, not one per patient of the clinic.
        return LazyRemsRows(patients, as_of=as_of)
    patients = list(_rems_annotate(patients, as_of=as_of).only(*REMS_LIST_FIELDS))
    states = _states_of(patients, as_of=as_of, with_changes=False)
    rows = [RemsRow(patient=p, state=states[p.pk]) for p in patients]
    if status in ("compliant", "action_needed"):
        rows = [row for row in rows if row.state.status.outcome == status]
    elif status in rems_rules.ACTIONS:
        rows = [row for row in rows if status in row.state.status.values["actions"]]
    if sort != "name":
        rows.sort(key=_urgency)
    return rows
