"""Rules evaluation: from stored labs and the therapy course to the flags in force.

One code path serves a single patient (after labs are saved) and the hourly sweep (a batch
of patients): ``patients_evaluate`` reads everything a batch needs in a fixed number of
set-based queries, runs the pure rules per patient in Python, and reconciles the flags
with the database deciding under concurrency:

* new flags: ``bulk_create(ignore_conflicts=True)`` against the partial unique constraint
  ``monitoring_flag_one_open_per_patient_kind`` (a second sweep inserts nothing);
* escalation and resolution: compare-and-set ``UPDATE ... WHERE`` the values read;
* due dates: one upsert of ``MonitoringStatus`` rows;
* emails: outbox rows with a unique key, so each goes out once.

Writes per batch grow only with flags that *change*; a steady-state sweep is a fixed
number of queries per batch however many patients it holds.

An open flag follows the current finding: its message, evidence and severity are updated
in place (the old words kept in ``escalations``), so a REMS flag opened as "no
authorization" reads "authorization expiring" once one is recorded. A flag whose evidence
was marked entered-in-error resolves as "evidence withdrawn", and pending suggestions
raised on that result are withdrawn. A finding a physician already accepted (same kind,
same results) does not open its flag again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from monitoring.models import Flag, MonitoringStatus, Notification
from monitoring.rules import ctcae, imwg, review, schedule
from monitoring.rules import flags as flag_rules
from monitoring.rules.registry import all_rule_defaults
from patients import lab_catalogue as catalogue
from patients.formatting import clinical_number, clinical_quantity
from patients.lab_selectors import (
    HCG_CODES,
    end_of_day,
    latest_results,
    local_date,
    marker_history,
)
from patients.models import LabResult, Patient
from patients.roles import PHYSICIAN
from patients.rulebook import Finding, Threshold, jsonable, threshold_json
from patients.selectors import WeightUsed, rule_settings_coming, rule_thresholds, weight_history
from therapy import dosing
from therapy import selectors as therapy_selectors
from therapy import services as therapy_services
from therapy.selectors import crcl_with_weight

logger = logging.getLogger(__name__)

CBC_CODES = ("WBC", "ANC", "LYMPH", "HGB", "PLT")
IN_SCOPE_STATUSES = (Patient.Status.ACTIVE, Patient.Status.PRE_MAINTENANCE)
K = Flag.Kind


@dataclass
class Desired:
    """A flag the rules want open for one patient, with everything shown under it."""

    kind: str
    severity: int
    message: str
    finding: Finding
    evidence: list[dict]
    ctcae_grade: int | None = None
    ctcae_version: str = ""
    due_on: date | None = None
    notify: bool = False
    suggestion_kind: str = ""  # therapy dose suggestion raised with the flag


@dataclass
class Outcome:
    """What one evaluation did (returned by the task and the sweep, and asserted in tests)."""

    patients: int = 0
    created: int = 0
    changed: int = 0
    resolved: int = 0
    notifications: int = 0
    kinds_open: dict[int, set[str]] = field(default_factory=dict)

    def add(self, other: Outcome) -> None:
        self.patients += other.patients
        self.created += other.created
        self.changed += other.changed
        self.resolved += other.resolved
        self.notifications += other.notifications
        self.kinds_open.update(other.kinds_open)


def patient_rules_evaluate(*, patient_id: int, as_of: date, now: datetime | None = None) -> Outcome:
    """Evaluate one patient's rules and bring the flags in line (idempotent)."""
    return patients_evaluate([patient_id], as_of=as_of, now=now)


def sweep_patient_ids(*, after_id: int = 0, due_on: date | None = None) -> list[int]:
    """Everyone the sweep looks at: active or awaiting maintenance, or still holding an
    open flag (so flags of a patient who left maintenance are resolved).

    With ``due_on`` (the incremental sweep) only those due on that date: no status row yet,
    an input changed since the last evaluation (``rules_version`` moved on), or a
    time-driven rule may have changed (``next_review_on`` has come). One query, an
    anti-join on ``monstatus_clean_idx``.
    """
    in_scope = Q(status__in=IN_SCOPE_STATUSES, entered_in_error_at__isnull=True)
    flagged = Patient.objects.filter(flags__status__in=Flag.OPEN_STATUSES).values("pk")
    patients = Patient.objects.filter(in_scope | Q(pk__in=flagged), pk__gt=after_id)
    if due_on is not None:
        clean = MonitoringStatus.objects.filter(
            Q(next_review_on__isnull=True) | Q(next_review_on__gt=due_on),
            patient_id=OuterRef("pk"),
            evaluated_version=OuterRef("rules_version"),
            as_of__lte=due_on,
        )
        patients = patients.filter(~Exists(clean))
    return list(patients.order_by("pk").values_list("pk", flat=True))


def batches(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def sweep_run(
    *, as_of: date, batch_size: int = 500, now: datetime | None = None, full: bool = True
) -> Outcome:
    """The sweep, synchronously (management command, demo seed, tests).

    ``full=False`` is the incremental sweep: only the patients due (``sweep_patient_ids``).
    The full sweep evaluates everyone and is the safety net: a change to a patient the
    incremental sweep would have skipped is logged as a warning (a missed dirty mark or a
    ``next_review_on`` too late).
    """
    total = Outcome()
    due = sweep_patient_ids(due_on=as_of)
    if not full:
        for batch in batches(due, batch_size):
            total.add(patients_evaluate(batch, as_of=as_of, now=now))
        return total
    skipped = set(sweep_patient_ids()) - set(due)
    for batch in batches(sorted(set(due) | skipped), batch_size):
        total.add(patients_evaluate(batch, as_of=as_of, now=now, audit=skipped))
    return total


# --- Gathering -----------------------------------------------------------------------


@dataclass
class _Batch:
    as_of: date
    upto: datetime
    patients: dict[int, Patient]
    thresholds: dict[int, dict[str, Threshold]]
    snapshots: dict[int, Any]
    rems: dict[int, Any]
    latest: dict[tuple[int, str], list[LabResult]]
    markers: dict[int, list[LabResult]]
    weights: dict[int, list[WeightUsed]]
    pregnancy: dict[int, LabResult]  # the latest valid hCG result per patient
    # The results of each patient's latest complete CBC (every required count, one draw).
    cbc_draws: dict[int, list[LabResult]] = field(default_factory=dict)
    # Accepted therapy suggestions per (patient, kind): a decided finding does not reopen.
    accepted: dict[tuple[int, str], Any] = field(default_factory=dict)
    pending: list[Any] = field(default_factory=list)  # pending therapy suggestions
    # Results of these patients marked entered-in-error: {id: (result, words)}.
    in_error: dict[int, str] = field(default_factory=dict)
    # Dates after as_of on which something already recorded starts to count (next_review_on):
    # per patient (a planned course's start, a result collected later), per clinic (a rule
    # setting coming into force).
    coming: dict[int, tuple[date, str]] = field(default_factory=dict)
    coming_rules: dict[int, date] = field(default_factory=dict)


def _gather(patient_ids: list[int], as_of: date) -> _Batch:
    upto = end_of_day(as_of)
    patients = {
        p.pk: p
        for p in Patient.objects.filter(pk__in=patient_ids).select_related("diagnosis", "clinic")
    }
    defaults = tuple(all_rule_defaults())
    thresholds = {
        clinic_id: rule_thresholds(defaults, clinic_id=clinic_id, as_of=as_of)
        for clinic_id in {p.clinic_id for p in patients.values()}
    }
    in_scope = [pid for pid, p in patients.items() if _in_scope(p)]
    latest = latest_results(in_scope, (*CBC_CODES, "CREAT"), upto=upto, per_code=2)
    with_creatinine = sorted({pid for (pid, code) in latest if code == "CREAT"})
    pregnancy: dict[int, LabResult] = {}
    for (pid, _code), rows in latest_results(in_scope, HCG_CODES, upto=upto, per_code=1).items():
        if rows and (pid not in pregnancy or rows[0].collected_at > pregnancy[pid].collected_at):
            pregnancy[pid] = rows[0]
    snapshots = therapy_selectors.course_snapshots(in_scope, as_of=as_of) if in_scope else {}
    pending, accepted = therapy_selectors.suggestion_states(sorted(patients))
    return _Batch(
        as_of=as_of,
        upto=upto,
        patients=patients,
        thresholds=thresholds,
        snapshots=snapshots,
        rems=therapy_selectors.rems_states(in_scope, as_of=as_of) if in_scope else {},
        latest=latest,
        markers=marker_history(in_scope, upto=upto),
        weights=weight_history(with_creatinine),
        pregnancy=pregnancy,
        cbc_draws=_complete_cbc_draws(in_scope, latest, patients, thresholds, upto),
        accepted=accepted,
        pending=pending,
        in_error=_in_error_words(sorted(patients)),
        coming=_coming(in_scope, as_of, upto) if in_scope else {},
        coming_rules=rule_settings_coming(
            {patients[pid].clinic_id for pid in in_scope}, after=as_of
        )
        if in_scope
        else {},
    )


def _coming(patient_ids: list[int], as_of: date, upto: datetime) -> dict[int, tuple[date, str]]:
    """Per patient, the first date after ``as_of`` on which a recorded fact starts to
    count, with what it is: a therapy fact dated later (a planned course, a dose change,
    a hold, a REMS record) or a result collected after ``as_of`` (a back-fill)."""
    coming = therapy_selectors.therapy_dates_coming(patient_ids, after=as_of)
    later = (
        LabResult.objects.valid()
        .filter(patient_id__in=patient_ids, collected_at__gt=upto)
        .values("patient_id")
        .annotate(first=Min("collected_at"))
        .values_list("patient_id", "first")
    )
    for pid, first in later:
        on = local_date(first)
        if pid not in coming or on < coming[pid][0]:
            coming[pid] = (on, "a result collected")
    return coming


def _next_review(batch: _Batch, pid: int, patient: Patient, snap) -> date | None:
    """The earliest date a time-driven rule can change this patient's flags (None: only a
    change of input can), enumerated by ``review.next_review`` from the values the rules
    read here (the same CBC interval, due dates and flagged counts)."""
    if not _in_scope(patient):
        return None
    t = batch.thresholds[patient.clinic_id]
    course = None
    if snap is not None:
        interval = _interval_now(batch, pid, snap, t)
        draw = _last_cbc(batch, pid)
        markers = batch.markers.get(pid, [])
        version = ctcae.version_in_force(t)
        flagged = []
        for code in flag_rules.CYTOPENIA_KIND_BY_CODE:
            rows = batch.latest.get((pid, code))
            if rows:
                lln = _lln(rows[0], catalogue.find_test(code))
                grade = ctcae.grade(
                    code, rows[0].canonical_value, lln=lln, version=version, thresholds=t
                ).grade
                if flag_rules.cytopenia_flagged(grade, t):
                    flagged.append((code, local_date(rows[0].collected_at)))
        state = batch.rems.get(pid)
        course = review.CourseDates(
            cbc_due_on=local_date(draw[0].collected_at) + timedelta(days=interval)
            if draw
            else snap.start_date,
            cbc_interval_days=interval,
            dosing=not snap.on_hold,
            held_for_cytopenia=snap.held_for_cytopenia,
            response_labs_due_on=schedule.response_labs_status(
                last_response_labs_on=local_date(markers[-1].collected_at) if markers else None,
                course_start=snap.start_date,
                as_of=batch.as_of,
                thresholds=t,
            ).values["due_on"],
            flagged_counts=tuple(flagged),
            calendar=getattr(snap, "calendar", None),
            rems_changes=getattr(state, "changes", ())
            if state is not None and snap.includes_lenalidomide
            else (),
        )
    found = review.next_review(
        as_of=batch.as_of,
        thresholds=t,
        course=course,
        recorded_coming=batch.coming.get(pid),
        setting_coming=batch.coming_rules.get(patient.clinic_id),
    )
    if found is None:
        return None
    logger.debug("Next review of %s on %s: %s", patient.public_id, found.on, found.reason)
    return found.on


def _in_error_words(patient_ids: list[int]) -> dict[int, str]:
    """Every result of these patients marked entered-in-error, in words (one query; such
    results are few): flags and suggestions resting on one are withdrawn."""
    words = {}
    for row in LabResult.objects.filter(
        patient_id__in=patient_ids, entered_in_error_at__isnull=False
    ).only(
        "id",
        "test_code",
        "canonical_value",
        "canonical_unit",
        "qualitative",
        "collected_at",
        "entered_in_error_reason",
    ):
        test = catalogue.find_test(row.test_code)
        value = (
            clinical_quantity(row.canonical_value, row.canonical_unit, test.decimal_places)
            if row.canonical_value is not None
            else row.get_qualitative_display()
        )
        words[row.pk] = (
            f"{test.name} {value} collected {local_date(row.collected_at)} was marked "
            f"entered-in-error ({row.entered_in_error_reason or 'no reason given'})"
        )
    return words


def _complete_cbc_draws(
    patient_ids: list[int],
    latest: dict[tuple[int, str], list[LabResult]],
    patients: dict[int, Patient],
    thresholds: dict[int, dict[str, Threshold]],
    upto: datetime,
) -> dict[int, list[LabResult]]:
    """The results of each patient's latest complete CBC draw.

    Read first from the newest results already loaded (the usual case: the last draw was
    a full CBC); only patients whose recent counts are partial (an ANC on its own) need
    one more query, for all of them at once.
    """
    found: dict[int, list[LabResult]] = {}
    search_further: list[int] = []
    for pid in patient_ids:
        required = schedule.cbc_required_codes(thresholds[patients[pid].clinic_id])
        rows = [r for code in required for r in latest.get((pid, code), [])]
        draw = _latest_complete(rows, required)
        if draw:
            found[pid] = draw
        elif rows:
            search_further.append(pid)
    if search_further:
        by_patient: dict[int, list[LabResult]] = defaultdict(list)
        for row in (
            LabResult.objects.valid()
            .filter(
                patient_id__in=search_further,
                test_code__in=schedule.CBC_COUNT_CODES,
                collected_at__lte=upto,
            )
            .order_by("patient_id", "-collected_at", "test_code", "-pk")
        ):
            by_patient[row.patient_id].append(row)
        for pid, rows in by_patient.items():
            required = schedule.cbc_required_codes(thresholds[patients[pid].clinic_id])
            draw = _latest_complete([r for r in rows if r.test_code in required], required)
            if draw:
                found[pid] = draw
    return found


def _latest_complete(rows: list[LabResult], required: tuple[str, ...]) -> list[LabResult]:
    draws: dict[datetime, dict[str, LabResult]] = defaultdict(dict)
    for row in rows:
        draws[row.collected_at].setdefault(row.test_code, row)
    for collected_at in sorted(draws, reverse=True):
        if set(required) <= set(draws[collected_at]):
            return [draws[collected_at][code] for code in required]
    return []


def _in_scope(patient: Patient) -> bool:
    return patient.entered_in_error_at is None and patient.status in IN_SCOPE_STATUSES


# --- The rules, per patient ------------------------------------------------------------


def _evidence(result: LabResult) -> dict:
    return {
        "result_id": result.pk,
        "code": result.test_code,
        # As shown on the result (the catalogue's display precision); result_id keeps the
        # link to the exact stored value.
        "value": clinical_number(
            result.canonical_value, catalogue.find_test(result.test_code).decimal_places
        )
        if result.canonical_value is not None
        else result.qualitative,
        "unit": result.canonical_unit,
        "collected_at": timezone.localtime(result.collected_at).isoformat(),
    }


def _shown(result: LabResult) -> str:
    test = catalogue.find_test(result.test_code)
    value = clinical_number(result.canonical_value, test.decimal_places)
    return f"{test.name} {value} {test.canonical_unit}"


def _lln(result: LabResult, test) -> Decimal | None:
    """The reporting lab's LLN stored with the result; the catalogue default otherwise."""
    return result.ref_low if result.ref_low is not None else test.ref_low


def _cytopenias(batch: _Batch, pid: int, t, interval_days: int | None) -> dict[str, Desired]:
    """Graded cytopenias; a count older than the CBC interval in force is marked stale."""
    desired = {}
    version = ctcae.version_in_force(t)  # per clinic (rule setting ctcae.version)
    for code, kind in flag_rules.CYTOPENIA_KIND_BY_CODE.items():
        rows = batch.latest.get((pid, code))
        if not rows:
            continue
        latest = rows[0]
        test = catalogue.find_test(code)
        graded = ctcae.grade(
            code, latest.canonical_value, lln=_lln(latest, test), version=version, thresholds=t
        )
        if not flag_rules.cytopenia_flagged(graded.grade, t):
            continue
        collected_on = local_date(latest.collected_at)
        stale = flag_rules.count_is_stale(
            count_age_days=(batch.as_of - collected_on).days,
            interval_days=interval_days,
            thresholds=t,
        )
        message = (
            f"{_shown(latest)} (collected {collected_on}): "
            f"{graded.label} {kind} (CTCAE v{graded.version})."
            + (" Preliminary result." if latest.result_status == "preliminary" else "")
        )
        finding = graded.finding
        if stale:
            message += (
                f" Stale: this count is older than the {interval_days}-day CBC interval now "
                "in force; repeat the CBC."
            )
            finding = dataclasses.replace(
                finding,
                values={**finding.values, "stale": True, "cbc_interval_days": interval_days},
                thresholds=(*finding.thresholds, t["flags.cytopenia.stale_after_intervals"]),
            )
        desired[kind] = Desired(
            kind=kind,
            severity=flag_rules.cytopenia_severity(graded.grade),
            message=message,
            finding=finding,
            evidence=[_evidence(latest)],
            ctcae_grade=graded.grade,
            ctcae_version=graded.version,
            notify=flag_rules.notify_for_grade(graded.grade, t),
        )
    return desired


def _last_cbc(batch: _Batch, pid: int) -> list[LabResult]:
    """The results of the latest complete CBC (empty: none yet)."""
    return batch.cbc_draws.get(pid, [])


def _phase_at(snap, on: date, as_of: date, t) -> str:
    """The course phase on the day of the last CBC, read on the cycle calendar with its
    holds (``schedule.phase_on``). A hold for a cytopenia switches to weekly CBCs whenever
    the last CBC was drawn.
    """
    calendar = getattr(snap, "calendar", None)
    if calendar is not None:
        return schedule.phase_on(
            on,
            calendar=calendar,
            held_for_cytopenia_now=snap.held_for_cytopenia,
            cytopenia_holds=getattr(snap, "cytopenia_holds", ()),
            thresholds=t,
        )
    if snap.held_for_cytopenia:
        return schedule.HELD_CYTOPENIA
    # Without a calendar (an older therapy contract): count back from today's cycle/day.
    cycle_days = snap.current_level.cycle_days if snap.current_level else 28
    day = snap.day or 1  # None while held for another reason: count from the cycle start
    position = (snap.cycle - 1) * cycle_days + (day - 1) - (as_of - on).days
    cycle = max(1, position // cycle_days + 1)
    return schedule.phase_for_cycle(cycle, thresholds=t)


def _interval_now(batch: _Batch, pid: int, snap, t) -> int | None:
    """The CBC interval in force for this patient (None without an active course): the one
    the CBC schedule uses, so a count is never called stale against another interval than
    the one the overdue message names."""
    if snap is None:
        return None
    draw = _last_cbc(batch, pid)
    if draw:
        phase = _phase_at(snap, local_date(draw[0].collected_at), batch.as_of, t)
    else:
        phase = schedule.phase_for_cycle(
            max(snap.cycle, 1), held_for_cytopenia=snap.held_for_cytopenia, thresholds=t
        )
    return schedule.cbc_interval_days(phase, t)


def _schedule(batch: _Batch, pid: int, snap, t) -> tuple[dict[str, Desired], dict]:
    desired: dict[str, Desired] = {}
    draw = _last_cbc(batch, pid)
    last_on = local_date(draw[0].collected_at) if draw else None
    phase = (
        _phase_at(snap, last_on, batch.as_of, t)
        if last_on
        else (
            schedule.HELD_CYTOPENIA
            if snap.held_for_cytopenia
            else schedule.phase_for_cycle(max(snap.cycle, 1), thresholds=t)
        )
    )
    status = schedule.cbc_status(
        last_cbc_on=last_on,
        phase=phase,
        course_start=snap.start_date,
        as_of=batch.as_of,
        thresholds=t,
    )
    due_on = status.values["due_on"]
    if status.outcome == "overdue":
        interval = status.values["interval_days"]
        why = {
            schedule.EARLY: f"every {interval} days in cycles 1-2",
            schedule.STANDARD: f"every {interval} days from cycle 3",
            schedule.HELD_CYTOPENIA: "weekly while lenalidomide is held for low counts"
            if snap.held_for_cytopenia
            else "a week after a CBC drawn while lenalidomide was held for low counts",
        }[phase]
        since = (
            f"last complete CBC {last_on}"
            if last_on
            else "no complete CBC since the course started"
        )
        severity = flag_rules.cbc_overdue_severity(
            days_past_due=status.values["overdue_by_days"],
            interval_days=interval,
            dosing=not snap.on_hold,
            held_for_cytopenia=snap.held_for_cytopenia,
            thresholds=t,
        )
        late = ""
        if severity == flag_rules.URGENT and phase != schedule.HELD_CYTOPENIA:
            late = " More than a whole CBC interval has passed beyond the due date while dosing."
            status = dataclasses.replace(
                status,
                thresholds=(*status.thresholds, t["flags.cbc_overdue.urgent_after_intervals"]),
            )
        desired[K.CBC_OVERDUE] = Desired(
            kind=K.CBC_OVERDUE,
            severity=severity,
            message=(
                f"CBC overdue: it was due {due_on} ({since}; {why}).{late} Arrange a blood draw."
            ),
            finding=status,
            evidence=[_evidence(r) for r in draw],
            due_on=due_on,
        )

    markers = batch.markers.get(pid, [])
    last_response = local_date(markers[-1].collected_at) if markers else None
    response = schedule.response_labs_status(
        last_response_labs_on=last_response,
        course_start=snap.start_date,
        as_of=batch.as_of,
        thresholds=t,
    )
    response_due = response.values["due_on"]
    if response.outcome == "overdue" or (
        response.outcome == "due_soon" and batch.as_of >= response_due
    ):
        since = f"last on {last_response}" if last_response else "none since the course started"
        desired[K.RESPONSE_LABS_DUE] = Desired(
            kind=K.RESPONSE_LABS_DUE,
            severity=flag_rules.ROUTINE,
            message=(
                f"Response labs due {response_due} (SPEP, free light chains, urine M-protein if "
                f"measurable; {since}; every {response.values['interval_days']} days)."
            ),
            finding=response,
            evidence=[_evidence(markers[-1])] if markers else [],
            due_on=response_due,
        )
    status_row = {
        "on_course": True,
        "cbc_phase": phase,
        "last_cbc_on": last_on,
        "cbc_due_on": due_on,
        "cbc_overdue_after": status.values["overdue_after"],
        "response_labs_due_on": response_due,
    }
    return desired, status_row


def _hold(batch: _Batch, pid: int, snap, t) -> tuple[dict[str, Desired], str, Finding | None]:
    """Hold guidance from the latest ANC and platelets (therapy.dosing).

    Returns the desired hold flag, the suggestion kind for a held course ("resume_lower"),
    and the finding; outcome "unknown" keeps whatever flag is open.
    """
    if not snap.includes_lenalidomide or snap.current_level is None:
        return {}, "", None
    anc = batch.latest.get((pid, "ANC"))
    plt = batch.latest.get((pid, "PLT"))
    if snap.held_for_cytopenia and anc and plt and anc[0].collected_at != plt[0].collected_at:
        # Recovery must be shown by one blood draw: the older count may predate the hold,
        # so it is treated as unknown (no resume suggestion from stale platelets, or ANC).
        if anc[0].collected_at > plt[0].collected_at:
            plt = None
        else:
            anc = None
    guidance = dosing.hematologic_dose_guidance(
        anc=anc[0].canonical_value if anc else None,
        platelets=plt[0].canonical_value if plt else None,
        current_level=snap.current_level,
        on_hold_for_cytopenia=snap.held_for_cytopenia,
        thresholds=t,
    )
    evidence = [_evidence(rows[0]) for rows in (anc, plt) if rows]
    counts = ", ".join(_shown(rows[0]) for rows in (anc, plt) if rows)
    if guidance.outcome == "discontinuation_review" or (
        guidance.outcome == "hold" and not snap.held_for_cytopenia
    ):
        kind = "discontinuation_review" if guidance.outcome == "discontinuation_review" else "hold"
        return (
            {
                K.HOLD_RECOMMENDED: Desired(
                    kind=K.HOLD_RECOMMENDED,
                    severity=flag_rules.URGENT,
                    message=f"{counts}: {guidance.message}. A physician decides.",
                    finding=guidance,
                    evidence=evidence,
                    suggestion_kind=kind,
                )
            },
            "",
            guidance,
        )
    if guidance.outcome == "resume_lower":
        return {}, "resume_lower", guidance
    return {}, "", guidance


def _band_words(crcl: Decimal, on_dialysis: bool, t) -> str:
    """The renal band in words with the label's reference dose (reference sec. 3)."""
    band = dosing.renal_band(crcl, on_dialysis, t)
    level = band.values["suggested_level"]
    normal = clinical_number(t["dosing.renal.normal_min_crcl"].value)
    severe = clinical_number(t["dosing.renal.severe_below_crcl"].value)
    where = {
        "normal": f"CrCl {normal} mL/min or more",
        "moderate": f"CrCl {severe} to below {normal} mL/min",
        "severe": f"CrCl below {severe} mL/min, not on dialysis",
        "dialysis": "on dialysis",
    }[band.outcome]
    dose = f"{dosing.format_mg(level.dose_mg)} mg once daily"
    if band.outcome == "dialysis":
        dose += ", given after dialysis on dialysis days"
    words = f"Renal band: {band.outcome} ({where}); label reference dose {dose}."
    if band.values["not_studied"]:
        key = (
            "dosing.renal.not_studied_dialysis_below_crcl"
            if on_dialysis
            else "dosing.renal.not_studied_below_crcl"
        )
        words += (
            f" CrCl below {clinical_number(t[key].value)} mL/min was not studied (label): "
            "decide with care."
        )
    return words + " A physician reviews the dose; it has not been changed."


def _renal_above_band(
    snap, rows: list[LabResult], current, current_crcl, on_dialysis: bool, t
) -> dict[str, Desired]:
    """On a course at a dose above the label's reference dose for CrCl below 30 mL/min (or
    on dialysis): a renal dose review, even without a band crossing (reference sec. 3)."""
    band = dosing.renal_band(current_crcl, on_dialysis, t)
    level = snap.current_level if snap is not None else None
    if band.outcome not in ("severe", "dialysis") or level is None:
        return {}
    if level.dose_mg <= band.values["suggested_level"].dose_mg:
        return {}
    finding = dataclasses.replace(
        band,
        rule_id="dosing.renal_band.after_start",
        outcome="renal_dose_review",
        values={**band.values, "current": current.values, "current_level": level},
    )
    return {
        K.RENAL_DOSE_REVIEW: Desired(
            kind=K.RENAL_DOSE_REVIEW,
            severity=flag_rules.ATTENTION,
            message=(
                f"Creatinine clearance {clinical_number(current_crcl, 1)} mL/min (Cockcroft-Gault, "
                f"creatinine {clinical_number(rows[0].canonical_value, 2)} mg/dL on "
                f"{local_date(rows[0].collected_at)}) while dosing "
                f"{dosing.format_mg(level.dose_mg)} mg. "
                f"{_band_words(current_crcl, on_dialysis, t)}"
            ),
            finding=finding,
            evidence=[_evidence(rows[0])],
            suggestion_kind="renal_dose_review",
        )
    }


def _renal(
    batch: _Batch, pid: int, patient: Patient, t, snap=None
) -> tuple[dict[str, Desired], Decimal | None, dict]:
    rows = batch.latest.get((pid, "CREAT"), [])
    weights = batch.weights.get(pid, [])
    on_dialysis = bool(getattr(getattr(patient, "diagnosis", None), "on_dialysis", False))

    computed = [
        crcl_with_weight(
            patient,
            creatinine_mg_dl=r.canonical_value,
            collected_at=r.collected_at,
            weights=weights,
        )
        for r in rows
    ]
    if not computed or computed[0] is None:
        return {}, None, {}
    current, current_weight = computed[0].finding, computed[0].weight
    current_crcl = current.values["crcl_ml_min"]
    band = dosing.renal_band(current_crcl, on_dialysis, t).outcome
    info = {"current_band": band}
    above = _renal_above_band(snap, rows, current, current_crcl, on_dialysis, t)
    if len(computed) < 2 or computed[1] is None:
        return above, current_crcl, info
    previous, previous_weight = computed[1].finding, computed[1].weight
    crossed = dosing.renal_band_crossed(
        previous.values["crcl_ml_min"], current_crcl, on_dialysis, t
    )
    if crossed is None:
        return above, current_crcl, info
    used = (
        f"creatinine {clinical_number(rows[0].canonical_value, 2)} mg/dL on "
        f"{local_date(rows[0].collected_at)} with weight {clinical_number(current_weight.weight_kg, 1)} kg "
        f"of {current_weight.measured_on}; before: creatinine {clinical_number(rows[1].canonical_value, 2)} "
        f"mg/dL with weight {clinical_number(previous_weight.weight_kg, 1)} kg of "
        f"{previous_weight.measured_on}"
    )
    finding = dataclasses.replace(
        crossed,
        values={
            **crossed.values,
            "current": current.values,
            "previous": previous.values,
            "current_weight_on": current_weight.measured_on,
            "previous_weight_on": previous_weight.measured_on,
        },
    )
    return (
        {
            K.RENAL_DOSE_REVIEW: Desired(
                kind=K.RENAL_DOSE_REVIEW,
                severity=flag_rules.ATTENTION,
                message=(
                    f"Creatinine clearance {clinical_number(previous.values['crcl_ml_min'], 1)} -> "
                    f"{clinical_number(current_crcl, 1)} mL/min (Cockcroft-Gault: {used}). Renal "
                    f"band changed from {crossed.values['previous_band']} to "
                    f"{crossed.values['current_band']}. {_band_words(current_crcl, on_dialysis, t)}"
                ),
                finding=finding,
                evidence=[_evidence(rows[0]), _evidence(rows[1])],
                suggestion_kind="renal_dose_review",
            )
        },
        current_crcl,
        info,
    )


def _progression(batch: _Batch, pid: int, patient: Patient, t) -> dict[str, Desired]:
    markers = batch.markers.get(pid, [])
    if len(markers) < 2:
        return {}
    diagnosis = getattr(patient, "diagnosis", None)
    by_day: dict[date, dict[str, LabResult]] = defaultdict(dict)
    for row in markers:
        by_day[local_date(row.collected_at)][row.test_code] = row
    points = imwg.marker_points(
        ((local_date(r.collected_at), r.test_code, r.canonical_value) for r in markers),
        recorded_chain=diagnosis.light_chain if diagnosis else None,
        thresholds=t,
    )
    finding = imwg.progression(points, thresholds=t)
    if finding.outcome != "progression":
        return {}
    latest_day = points[-1].on
    nadir_on = finding.values.get("nadir_on")
    evidence = [_evidence(r) for r in by_day[latest_day].values()]
    if nadir_on and nadir_on in by_day:
        evidence += [_evidence(r) for r in by_day[nadir_on].values()]
    return {
        K.POSSIBLE_PROGRESSION: Desired(
            kind=K.POSSIBLE_PROGRESSION,
            severity=flag_rules.URGENT,
            message=f"Possible progression (IMWG): {finding.message}",
            finding=finding,
            evidence=evidence,
            notify=True,
        )
    }


PREGNANCY_ACTIONS = ("pregnancy_test_due", "pregnancy_test_overdue")
# REMS actions that stop the next prescription (the others are reminders).
REMS_BLOCKING_ACTIONS = (
    "enrollment_missing",
    "prescriber_certification_expired",
    "no_authorization",
    "authorization_expired",
)


PREGNANCY_POSITIVE_SOURCE = (
    "Lenalidomide US PI, boxed warning (embryo-fetal toxicity) and the Lenalidomide REMS: stop "
    "lenalidomide at once if pregnancy occurs and report it"
)


def _pregnancy_positive(batch: _Batch, pid: int) -> dict[str, Desired]:
    """The latest pregnancy test is positive: the most urgent REMS event there is."""
    latest = batch.pregnancy.get(pid)
    if latest is None or latest.qualitative != "positive":
        return {}
    on = local_date(latest.collected_at)
    finding = Finding(
        rule_id="rems.pregnancy_test.positive",
        outcome="positive",
        message=f"Positive pregnancy test on {on}.",
        values={"test": latest.test_code, "collected_on": on, "result": "positive"},
        source=PREGNANCY_POSITIVE_SOURCE,
    )
    return {
        K.PREGNANCY_TEST_POSITIVE: Desired(
            kind=K.PREGNANCY_TEST_POSITIVE,
            severity=flag_rules.CRITICAL,
            message=(
                f"Positive pregnancy test on {on}: lenalidomide must be stopped now. Tell the "
                "prescriber today and report to the REMS."
            ),
            finding=finding,
            evidence=[_evidence(latest)],
            notify=True,
        )
    }


def _rems(batch: _Batch, pid: int) -> dict[str, Desired]:
    state = batch.rems.get(pid)
    if state is None:
        return {}
    status: Finding = state.status
    actions = list(status.values.get("actions", []))
    desired = {}
    pregnancy = [a for a in actions if a in PREGNANCY_ACTIONS]
    if pregnancy:
        overdue = "pregnancy_test_overdue" in pregnancy
        desired[K.PREGNANCY_TEST_DUE] = Desired(
            kind=K.PREGNANCY_TEST_DUE,
            severity=flag_rules.URGENT if overdue else flag_rules.ATTENTION,
            message=(
                "Pregnancy test overdue: test before the next prescription (REMS)."
                if overdue
                else "Pregnancy test due: arrange it before the next prescription (REMS)."
            ),
            finding=status,
            evidence=[],
        )
    others = [a for a in actions if a not in PREGNANCY_ACTIONS]
    if others:
        # The flag follows the current finding: once an authorization is recorded, "no
        # authorization" becomes "authorization expiring" (and routine), in place.
        blocking = any(a in REMS_BLOCKING_ACTIONS for a in others)
        desired[K.REMS_ACTION_NEEDED] = Desired(
            kind=K.REMS_ACTION_NEEDED,
            severity=flag_rules.ATTENTION if blocking else flag_rules.ROUTINE,
            message="REMS: " + "; ".join(a.replace("_", " ") for a in others) + ".",
            finding=status,
            evidence=[{"code": "REMS", "value": a.replace("_", " ")} for a in others],
        )
    return desired


# --- Reconciling flags with the database -----------------------------------------------


def _new_flag(pid: int, d: Desired, *, as_of: date, now: datetime) -> Flag:
    return Flag(
        patient_id=pid,
        kind=d.kind,
        status=Flag.Status.OPEN,
        severity=d.severity,
        ctcae_grade=d.ctcae_grade,
        peak_ctcae_grade=d.ctcae_grade,
        ctcae_version=d.ctcae_version,
        message=d.message,
        rule_id=d.finding.rule_id,
        basis=d.finding.basis,
        thresholds=[threshold_json(t) for t in d.finding.thresholds],
        values=jsonable(d.finding.values),
        evidence=d.evidence,
        due_on=d.due_on,
        opened_at=now,
        opened_as_of=as_of,
        created_at=now,
        updated_at=now,
    )


def _evidence_ids(evidence: list[dict]) -> list:
    return sorted(e.get("result_id") or 0 for e in evidence)


def _differs(flag: Flag, d: Desired) -> bool:
    return (
        flag.severity != d.severity
        or flag.ctcae_grade != d.ctcae_grade
        or flag.due_on != d.due_on
        or flag.message != d.message
        or _evidence_ids(flag.evidence) != _evidence_ids(d.evidence)
    )


def _update_flag(flag: Flag, d: Desired, *, now: datetime) -> bool:
    """Compare-and-set: applies only if the flag still holds what this evaluation read."""
    worse = d.severity > flag.severity or (d.ctcae_grade or 0) > (flag.ctcae_grade or 0)
    escalations = list(flag.escalations)
    if (
        flag.ctcae_grade != d.ctcae_grade
        or flag.severity != d.severity
        or flag.message != d.message
    ):
        # The flag's history: what it said before, and what it says now.
        escalations.append(
            {
                "at": timezone.localtime(now).isoformat(),
                "from_grade": flag.ctcae_grade,
                "to_grade": d.ctcae_grade,
                "from_severity": flag.severity,
                "to_severity": d.severity,
                "from_message": flag.message,
                "to_message": d.message,
                "evidence": d.evidence,
            }
        )
    changes = {
        "severity": d.severity,
        "ctcae_grade": d.ctcae_grade,
        "peak_ctcae_grade": max(flag.peak_ctcae_grade or 0, d.ctcae_grade or 0) or None,
        "ctcae_version": d.ctcae_version,
        "message": d.message,
        "rule_id": d.finding.rule_id,
        "basis": d.finding.basis,
        "thresholds": [threshold_json(t) for t in d.finding.thresholds],
        "values": jsonable(d.finding.values),
        "evidence": d.evidence,
        "due_on": d.due_on,
        "escalations": escalations,
        "updated_at": now,
    }
    if worse:
        # A worse result needs fresh eyes: an acknowledged flag opens again.
        changes["status"] = Flag.Status.OPEN
    return bool(
        Flag.objects.filter(
            pk=flag.pk,
            status__in=Flag.OPEN_STATUSES,
            severity=flag.severity,
            ctcae_grade=flag.ctcae_grade,
            due_on=flag.due_on,
            message=flag.message,
        ).update(**changes)
    )


def _resolve_flag(flag: Flag, *, reason: str, evidence: list[dict], now: datetime) -> bool:
    return bool(
        Flag.objects.filter(pk=flag.pk, status__in=Flag.OPEN_STATUSES).update(
            status=Flag.Status.RESOLVED,
            resolved_at=now,
            resolution=reason,
            resolving_evidence=evidence,
            updated_at=now,
        )
    )


def _resolution(kind: str, batch: _Batch, pid: int, patient: Patient) -> tuple[str, list[dict]]:
    """Why a flag's condition cleared, and the results that show it."""
    if not _in_scope(patient):
        return f"Patient is no longer on maintenance ({patient.get_status_display()}).", []
    if kind in flag_rules.CYTOPENIA_KIND_BY_CODE.values():
        code = {v: k for k, v in flag_rules.CYTOPENIA_KIND_BY_CODE.items()}[kind]
        rows = batch.latest.get((pid, code))
        if rows:
            return f"Recovered: {_shown(rows[0])} on {local_date(rows[0].collected_at)}.", [
                _evidence(rows[0])
            ]
        return "The result behind this flag was entered in error.", []
    if kind == K.CBC_OVERDUE:
        draw = _last_cbc(batch, pid)
        if draw:
            return f"Complete CBC collected {local_date(draw[0].collected_at)}.", [
                _evidence(r) for r in draw
            ]
        return "No active maintenance course: no CBC schedule.", []
    if kind == K.RESPONSE_LABS_DUE:
        markers = batch.markers.get(pid, [])
        if markers:
            return f"Response labs collected {local_date(markers[-1].collected_at)}.", [
                _evidence(markers[-1])
            ]
        return "No active maintenance course.", []
    if kind == K.HOLD_RECOMMENDED:
        anc = batch.latest.get((pid, "ANC"))
        plt = batch.latest.get((pid, "PLT"))
        rows = [r[0] for r in (anc, plt) if r]
        snap = batch.snapshots.get(pid)
        if snap is not None and snap.on_hold:
            return "Lenalidomide is on hold.", [_evidence(r) for r in rows]
        return "Counts no longer meet the hold limits.", [_evidence(r) for r in rows]
    if kind == K.RENAL_DOSE_REVIEW:
        rows = batch.latest.get((pid, "CREAT"), [])
        return "No renal band change since the review.", [_evidence(r) for r in rows[:1]]
    if kind == K.POSSIBLE_PROGRESSION:
        markers = batch.markers.get(pid, [])
        return "Latest markers are below the progression level.", [
            _evidence(r) for r in markers[-4:]
        ]
    if kind == K.PREGNANCY_TEST_POSITIVE and (latest := batch.pregnancy.get(pid)) is not None:
        return "A later pregnancy test is negative.", [_evidence(latest)]
    return "Condition cleared.", []


@transaction.atomic
def patients_evaluate(
    patient_ids: list[int],
    *,
    as_of: date,
    now: datetime | None = None,
    audit: set[int] | frozenset[int] = frozenset(),
) -> Outcome:
    """Evaluate a batch of patients and reconcile their flags (idempotent, concurrency-safe).

    Steps: gather (fixed queries); per patient, run the pure rules into the wanted flags;
    insert missing flags, compare-and-set changed ones, resolve cleared ones with the
    resolving evidence; upsert the due dates; raise or withdraw therapy suggestions for
    new decisions; queue emails in the outbox for grade 3-4 cytopenias and progression.
    The status row keeps the patient's ``rules_version`` read at the start (compare-and-
    set: an edit committed meanwhile leaves the patient dirty) and ``next_review_on``.
    Patients in ``audit`` were not due (the full safety-net sweep): any flag change on
    them is logged as a warning.
    """
    now = now or timezone.now()
    outcome = Outcome(patients=len(patient_ids))
    if not patient_ids:
        return outcome
    batch = _gather(sorted(patient_ids), as_of)
    existing: dict[tuple[int, str], Flag] = {
        (f.patient_id, f.kind): f for f in Flag.objects.open().filter(patient_id__in=batch.patients)
    }
    to_create: list[Flag] = []
    wanted: dict[int, dict[str, Desired]] = {}
    statuses: list[MonitoringStatus] = []
    suggestions: list[tuple[Patient, str, Finding, list[dict]]] = []
    withdrawals: list[tuple[Patient, str, str]] = []
    withdrawn = _withdraw_suggestions_on_withdrawn_evidence(batch, existing)

    for pid, patient in batch.patients.items():
        desired: dict[str, Desired] = {}
        keep: set[str] = set()
        status_row: dict[str, Any] = {"on_course": False}
        if _in_scope(patient):
            t = batch.thresholds[patient.clinic_id]
            snap = batch.snapshots.get(pid)
            desired.update(_cytopenias(batch, pid, t, _interval_now(batch, pid, snap, t)))
            desired.update(_progression(batch, pid, patient, t))
            if snap is not None:
                scheduled, status_row = _schedule(batch, pid, snap, t)
                desired.update(scheduled)
                hold, held_suggestion, guidance = _hold(batch, pid, snap, t)
                desired.update(hold)
                if guidance is not None and guidance.outcome == "unknown":
                    keep.add(K.HOLD_RECOMMENDED)
                if held_suggestion:
                    suggestions.append((patient, held_suggestion, guidance, []))
                renal, crcl, renal_info = _renal(batch, pid, patient, t, snap)
                desired.update(renal)
                status_row["crcl_ml_min"] = crcl
                open_renal = existing.get((pid, K.RENAL_DOSE_REVIEW))
                if (
                    K.RENAL_DOSE_REVIEW not in renal
                    and open_renal is not None
                    and open_renal.status == Flag.Status.OPEN
                    and open_renal.rule_id == "dosing.renal_band_crossed"
                    and open_renal.values.get("previous_band") != renal_info.get("current_band")
                ):
                    # Not reviewed yet and the new band still holds: keep the flag open.
                    keep.add(K.RENAL_DOSE_REVIEW)
                # REMS applies to patients prescribed lenalidomide.
                if snap.includes_lenalidomide:
                    desired.update(_rems(batch, pid))
                    desired.update(_pregnancy_positive(batch, pid))
        wanted[pid] = desired
        statuses.append(
            MonitoringStatus(
                patient_id=pid,
                evaluated_at=now,
                as_of=as_of,
                evaluated_version=patient.rules_version,
                next_review_on=_next_review(
                    batch, pid, patient, batch.snapshots.get(pid) if _in_scope(patient) else None
                ),
                **status_row,
            )
        )
        for kind in Flag.Kind.values:
            d, flag = desired.get(kind), existing.get((pid, kind))
            gone = _withdrawn_words(flag, withdrawn) if flag is not None else ""
            if kind in keep and not gone:
                continue
            if d is not None and flag is None:
                if not _already_decided(batch, pid, d):
                    to_create.append(_new_flag(pid, d, as_of=as_of, now=now))
            elif d is not None and _differs(flag, d):
                if _update_flag(flag, d, now=now):
                    outcome.changed += 1
                    _audit(audit, patient, kind, "changed")
            elif (d is None or kind in keep) and flag is not None:
                if gone:
                    reason, evidence = f"Evidence withdrawn: {gone}", []
                else:
                    reason, evidence = _resolution(kind, batch, pid, patient)
                if _resolve_flag(flag, reason=reason, evidence=evidence, now=now):
                    outcome.resolved += 1
                    _audit(audit, patient, kind, "resolved")
                    if kind == K.HOLD_RECOMMENDED:
                        withdrawals.append((patient, "hold", reason))
                        withdrawals.append((patient, "discontinuation_review", reason))

    if to_create:
        Flag.objects.bulk_create(to_create, ignore_conflicts=True)
    _upsert_statuses(statuses)

    # Read back what is open now: ids for emails and suggestions (whoever inserted them).
    open_now = list(Flag.objects.open().filter(patient_id__in=batch.patients))
    before = {flag.pk for flag in existing.values()}
    outcome.created = sum(1 for flag in open_now if flag.pk not in before)
    for flag in open_now:
        if flag.pk not in before:
            _audit(audit, batch.patients[flag.patient_id], flag.kind, "opened")
    outcome.kinds_open = defaultdict(set)
    for flag in open_now:
        outcome.kinds_open[flag.patient_id].add(flag.kind)
    outcome.kinds_open = dict(outcome.kinds_open)
    outcome.notifications = _queue_notifications(open_now, wanted, batch)
    _therapy_suggestions(open_now, wanted, batch, suggestions, withdrawals)
    return outcome


def _audit(audit, patient: Patient, kind: str, what: str) -> None:
    if patient.pk in audit:
        logger.warning(
            "Full sweep %s flag %s of patient %s, which the incremental sweep had not due: "
            "a missed dirty mark or a late next_review_on.",
            what,
            kind,
            patient.public_id,
        )


def _already_decided(batch: _Batch, pid: int, d: Desired) -> bool:
    """A physician accepted this very finding (same kind, same results): its flag was
    resolved by the decision, and the same results do not open it again."""
    if not d.suggestion_kind:
        return False
    accepted = batch.accepted.get((pid, d.suggestion_kind))
    ids = _evidence_ids(d.evidence)
    return accepted is not None and any(ids) and _evidence_ids(accepted.evidence) == ids


def _withdrawn_words(flag: Flag, withdrawn: dict[int, str]) -> str:
    return "; ".join(
        withdrawn[e["result_id"]] for e in flag.evidence if e.get("result_id") in withdrawn
    )


def _withdraw_suggestions_on_withdrawn_evidence(
    batch: _Batch, existing: dict[tuple[int, str], Flag]
) -> dict[int, str]:
    """Results marked entered-in-error that open flags or pending suggestions rest on.

    A pending suggestion raised on such a result is withdrawn now, with the reason, so
    nobody accepts a hold on a result the nurse withdrew; its flags are unlinked so that a
    finding still standing on other results raises a fresh suggestion. Returns the words
    for each withdrawn result id (the flags' resolution).
    """
    withdrawn = batch.in_error
    if not withdrawn:
        return {}
    for suggestion in batch.pending:
        words = "; ".join(
            withdrawn[e["result_id"]]
            for e in suggestion.evidence or []
            if isinstance(e, dict) and e.get("result_id") in withdrawn
        )
        if not words:
            continue
        therapy_services.dose_suggestion_withdraw(
            patient=batch.patients[suggestion.patient_id],
            kind=suggestion.kind,
            reason=f"Evidence withdrawn: {words}",
        )
        Flag.objects.filter(dose_suggestion_id=suggestion.pk).update(dose_suggestion_id=None)
        for flag in existing.values():
            if flag.dose_suggestion_id == suggestion.pk:
                flag.dose_suggestion_id = None
    return withdrawn


def _upsert_statuses(rows: list[MonitoringStatus]) -> None:
    MonitoringStatus.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=[
            "evaluated_at",
            "as_of",
            "on_course",
            "cbc_phase",
            "last_cbc_on",
            "cbc_due_on",
            "cbc_overdue_after",
            "response_labs_due_on",
            "crcl_ml_min",
            "evaluated_version",
            "next_review_on",
        ],
    )


def _therapy_suggestions(open_now, wanted, batch, suggestions, withdrawals) -> None:
    """Hand decisions to therapy: a suggestion per new hold/renal flag, resume when held
    counts recover, and withdraw a pending hold once counts recovered first."""
    for flag in open_now:
        d = wanted.get(flag.patient_id, {}).get(flag.kind)
        if d is None or not d.suggestion_kind or flag.dose_suggestion_id is not None:
            continue
        if flag.patient_id not in batch.snapshots:
            continue
        suggestion = _dose_suggestion_raise(
            patient=batch.patients[flag.patient_id],
            kind=d.suggestion_kind,
            finding=d.finding,
            evidence=d.evidence,
            as_of=batch.as_of,
        )
        if suggestion is not None:
            Flag.objects.filter(pk=flag.pk, dose_suggestion_id__isnull=True).update(
                dose_suggestion_id=suggestion.pk
            )
    pending = set()
    if suggestions:
        pending = {
            (s.patient_id, s.kind)
            for s in therapy_selectors.pending_suggestions([p.pk for p, *_ in suggestions])
        }
    for patient, kind, finding, evidence in suggestions:
        if (patient.pk, kind) in pending:
            continue  # already waiting for the physician; re-raising would only churn history
        _dose_suggestion_raise(
            patient=patient, kind=kind, finding=finding, evidence=evidence, as_of=batch.as_of
        )
    for patient, kind, reason in withdrawals:
        therapy_services.dose_suggestion_withdraw(patient=patient, kind=kind, reason=reason)


def _dose_suggestion_raise(*, patient, kind: str, finding, evidence: list[dict], as_of: date):
    """Raise (idempotently) a therapy dose suggestion on the active course; None without one."""
    course = therapy_selectors.active_course_for(patient)
    if course is None:
        return None
    return therapy_services.dose_suggestion_raise(
        patient=patient, course=course, kind=kind, finding=finding, evidence=evidence, as_of=as_of
    )


def _queue_notifications(open_now: list[Flag], wanted, batch: _Batch) -> int:
    """Outbox rows for flags that email the care team; the key makes each go out once
    (a flag's grade 3 and a later grade 4 are two messages; a re-run adds none)."""
    to_notify = [
        f
        for f in open_now
        if (d := wanted.get(f.patient_id, {}).get(f.kind)) is not None and d.notify
    ]
    if not to_notify:
        return 0
    clinic_ids = {batch.patients[f.patient_id].clinic_id for f in to_notify}
    recipients: dict[int, list[tuple[int, str]]] = defaultdict(list)
    team = (
        get_user_model()
        .objects.filter(clinics__id__in=clinic_ids, groups__name=PHYSICIAN, is_active=True)
        .exclude(email="")
        .values_list("clinics__id", "pk", "email")
        .distinct()
    )
    for clinic_id, user_id, email in team:
        recipients[clinic_id].append((user_id, email))
    rows = []
    for flag in to_notify:
        patient = batch.patients[flag.patient_id]
        step = f"grade-{flag.ctcae_grade}" if flag.ctcae_grade else "open"
        for user_id, email in recipients.get(patient.clinic_id, []):
            rows.append(
                Notification(
                    key=f"flag-{flag.pk}-{step}-user-{user_id}",
                    flag=flag,
                    recipient=email,
                    subject=f"[MMM] {flag.get_severity_display()}: {flag.get_kind_display()}"
                    + (f" grade {flag.ctcae_grade}" if flag.ctcae_grade else "")
                    + f" ({patient.clinic.name})",
                    body=(
                        f"{flag.message}\n\nRule: {flag.rule_id}. {flag.basis}\n\n"
                        f"Open the patient record: /patients/{patient.public_id}/\n"
                        "Decision support only: clinical judgement decides."
                    ),
                )
            )
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
