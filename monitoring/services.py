"""Writes for the monitoring app: recording lab results, corrections, acknowledging flags.

Every service is one atomic action. Recording labs queues the rules evaluation after
commit in a Celery task (``monitoring.tasks``), and a broker outage never loses a saved
result (the sweep evaluates every patient again). Actions that close a loop evaluate the
patient in the same transaction instead, so the page that follows already shows the
result: marking a result entered-in-error (flags resting on it resolve, suggestions raised
on it are withdrawn) and a physician's decision on a therapy suggestion (its flag is
resolved or acknowledged). Those decisions live here, not in therapy, because therapy
sits below monitoring and may not touch flags. Rules evaluation and the sweep live in
``monitoring.evaluation``; the notification outbox in ``monitoring.notifications``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from monitoring import errors
from monitoring.errors import EntryProblem
from monitoring.models import Flag
from monitoring.rules import ctcae
from patients import lab_catalogue as catalogue
from patients import services as patient_services
from patients.errors import DomainError
from patients.formatting import clinical_datetime, person
from patients.models import LabResult, Patient
from patients.parsing import ParseError, parse_clinical_number
from therapy import services as therapy_services

COMPUTED_CODES = {"FLC_RATIO"}
CANONICAL_PLACES = Decimal("1E-10")
REF_PLACES = Decimal("1E-4")  # LabResult.ref_low / ref_high

# One collection holds at most one value per catalogue test; a request with more is refused
# before any row is checked (README, "Security": limits).
MAX_RESULTS_PER_ENTRY = len(catalogue.TESTS)


@dataclass(frozen=True)
class LabEntry:
    """One value as a nurse typed it (or a lab interface sent it)."""

    test: str  # catalogue code or LOINC
    value: str  # as typed; for qualitative tests the choice ("negative")
    unit: str = ""
    confirm_suspicious: bool = False
    # The reporting lab's reference range, in ``unit`` (optional; catalogue default if None).
    ref_low: Decimal | None = None
    ref_high: Decimal | None = None
    # Lab interface details set on the saved result (result_status, lab_abnormal_flags, ...).
    details: Mapping[str, object] = field(default_factory=dict)
    # A value below the test's lower plausibility limit is saved only when confirmed AND
    # explained (issue 15): both fields, or a refusal naming the likely unit mix-up.
    confirm_low: bool = False
    low_reason: str = ""


@dataclass(frozen=True)
class _Checked:
    test: catalogue.LabTestDef
    entry: LabEntry
    canonical: Decimal | None
    qualitative: str
    low_reason: str = ""  # set when a value below the lower plausibility limit was confirmed


def _check_entry(
    entry: LabEntry, panel: str | None, index: int | None = None
) -> tuple[_Checked | None, EntryProblem | None]:
    """Shape and limits of one value (no database): the catalogue decides."""
    try:
        test = catalogue.find_test(entry.test)
    except catalogue.UnknownTestError:
        return None, EntryProblem(
            entry.test, errors.UNKNOWN_TEST.format(test=entry.test), "invalid", index=index
        )
    code = test.code

    def problem(message: str, kind: str = "invalid"):
        return None, EntryProblem(code, message, kind, index=index)

    if code in COMPUTED_CODES:
        return problem(errors.COMPUTED_TEST.format(test=test.name))
    if panel is not None and test.panel != panel:
        return problem(
            errors.NOT_IN_PANEL.format(test=test.name, panel=catalogue.PANELS[panel].name)
        )
    value = (entry.value or "").strip()
    if not test.is_numeric:
        choice = value.lower().replace(" ", "_")
        if choice not in test.choices:
            return problem(
                errors.NOT_A_CHOICE.format(test=test.name, choices=", ".join(test.choices))
            )
        return _Checked(test, entry, None, choice), None
    try:
        # One strict parser (patients.parsing): ASCII digits, one decimal point, a decimal
        # comma refused, no exponent; the digit count is checked before any arithmetic.
        number = parse_clinical_number(value, label=test.name)
    except ParseError as error:
        return problem(error.message)
    if not entry.unit:
        return problem(errors.UNIT_REQUIRED.format(test=test.name))
    try:
        # Stored to 10 decimal places (exact for every factor but hemoglobin mmol/L and
        # the dividing ones, where 10 places is far below any reported precision).
        canonical = catalogue.to_canonical(code, number, entry.unit).quantize(CANONICAL_PLACES)
    except catalogue.UnitError as error:
        return problem(str(error))
    except InvalidOperation:
        return problem(errors.NOT_A_NUMBER.format(test=test.name, value=value))
    impossible = catalogue.check_plausible(code, canonical)
    if impossible:
        return problem(impossible, "impossible")
    too_low = catalogue.check_implausibly_low(code, canonical, number, entry.unit)
    if too_low and not entry.confirm_low:
        return problem(too_low, "implausibly_low")
    if too_low and not (entry.low_reason or "").strip():
        return problem(errors.LOW_VALUE_REASON_REQUIRED.format(test=test.name), "implausibly_low")
    return _Checked(
        test, entry, canonical, "", (entry.low_reason or "").strip() if too_low else ""
    ), None


@transaction.atomic
def lab_results_record(
    *,
    patient: Patient,
    user,
    collected_at: datetime,
    entries: Sequence[LabEntry],
    panel: str | None = None,
    source: str = LabResult.Source.ENTRY,
    mrd_method: str = "",
    mrd_sensitivity_exponent: int | None = None,
    hcg_sensitivity_miu_ml: Decimal | None = None,
    corrects: LabResult | None = None,
    now: datetime | None = None,
) -> list[LabResult]:
    """Record one collection's results: all of them, or none with a problem per result.

    The batch ingest service (``monitoring.ingest.lab_collections_record``) with one
    collection: check the collection time; check each value against the catalogue (unit,
    plausibility); refuse a test already recorded at that collection time (with a link to
    it); ask for confirmation of a value 100-fold away from the previous one; convert,
    grade (CTCAE, version stored) and mark out-of-range; save with history; compute the
    kappa/lambda ratio from the chains of the draw; remember the user's units; mark the
    patient dirty; after commit, queue the patient's rules evaluation. Raises
    ``LabEntryRejected`` (a problem per result) or ``DomainError`` when refused.
    """
    from monitoring import ingest

    collection = ingest.Collection(
        patient=patient,
        collected_at=collected_at,
        entries=entries,
        panel=panel,
        mrd_method=mrd_method,
        mrd_sensitivity_exponent=mrd_sensitivity_exponent,
        hcg_sensitivity_miu_ml=hcg_sensitivity_miu_ml,
        corrects=corrects,
    )
    outcome = ingest.lab_collections_record(
        collections=[collection], user=user, source=source, now=now
    ).collections[0]
    if not outcome.stored:
        raise outcome.error()
    return outcome.results


def grade_fields(
    code: str,
    canonical: Decimal,
    thresholds,
    *,
    lab_low: Decimal | None = None,
    lab_high: Decimal | None = None,
) -> dict:
    """CTCAE grade (with version) and the out-of-range mark for one canonical value.

    The reporting lab's range (canonical unit) wins over the catalogue default: CTCAE
    grade 1 is "< LLN" of the lab that measured the value.
    """
    test = catalogue.find_test(code)
    from_lab = lab_low is not None or lab_high is not None
    low = lab_low if lab_low is not None else test.ref_low
    high = lab_high if lab_high is not None else test.ref_high
    out = "low" if low is not None and canonical < low else ""
    out = "high" if not out and high is not None and canonical > high else out
    fields = {
        "out_of_range": out,
        "ref_low": low,
        "ref_high": high,
        "ref_from_lab": from_lab,
        "ctcae_grade": None,
        "ctcae_label": "",
        "ctcae_version": "",
    }
    if code in ctcae.GRADABLE_CODES:
        graded = ctcae.grade(code, canonical, lln=low, thresholds=thresholds)
        fields.update(
            ctcae_grade=graded.grade, ctcae_label=graded.label, ctcae_version=graded.version
        )
    return fields


def _build(
    item: _Checked, *, patient, user, collected_at, collection_id, source, now, thresholds, corrects
):
    test = item.test
    result = LabResult(
        patient=patient,
        test_code=test.code,
        panel=test.panel,
        collection_id=collection_id,
        collected_at=collected_at,
        entered_at=now,
        entered_by=user,
        source=source,
        value_as_entered=(item.entry.value or "").strip(),
        unit_as_entered=item.entry.unit.strip() if test.is_numeric else "",
        canonical_value=item.canonical,
        canonical_unit=test.canonical_unit,
        qualitative=item.qualitative,
        suspicious_confirmed=item.entry.confirm_suspicious and item.canonical is not None,
        low_value_reason=item.low_reason,
        corrects=corrects,
    )
    if item.canonical is not None:
        lab_range = {
            name: catalogue.to_canonical(test.code, limit, item.entry.unit).quantize(REF_PLACES)
            for name, limit in (("lab_low", item.entry.ref_low), ("lab_high", item.entry.ref_high))
            if limit is not None
        }
        for name, value in grade_fields(test.code, item.canonical, thresholds, **lab_range).items():
            setattr(result, name, value)
    for name, value in item.entry.details.items():
        setattr(result, name, value)
    # Quantitative hCG reads as positive or negative against its reference limit too.
    if test.code == "HCG_SERUM_QUANT":
        result.qualitative = "positive" if item.canonical > test.ref_high else "negative"
    return result


# Foreign keys a service sets from loaded objects: full_clean would SELECT each again.
LOADED_KEYS = ("patient", "entered_by", "corrects", "entered_in_error_by")


def _save(result: LabResult, *, user, reason: str) -> None:
    # The database checks the partial unique and the foreign keys.
    patient_services.record_save(result, user=user, reason=reason, loaded=LOADED_KEYS)


def _refresh_flc_ratio(
    patient, collected_at, *, user, collection_id=None, now=None
) -> LabResult | None:
    """Keep the computed kappa/lambda ratio in step with the chains at one collection time.

    Race: kappa and lambda of one draw posted at once, each in its own transaction, would
    each see only its own chain and store no ratio. Locking the patient row first
    serialises the derivation: whoever locks second reads the other's committed chain
    (READ COMMITTED takes a fresh snapshot per statement) and stores the ratio.
    """
    now = now or timezone.now()
    # NO KEY UPDATE: the lab rows' foreign keys hold KEY SHARE on the patient, which a
    # plain FOR UPDATE would wait on (two posters would deadlock).
    list(Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).values_list("pk"))
    rows = {
        r.test_code: r
        for r in LabResult.objects.valid().filter(
            patient=patient,
            collected_at=collected_at,
            test_code__in=["FLC_KAPPA", "FLC_LAMBDA", "FLC_RATIO"],
        )
    }
    kappa, lambda_, ratio_row = rows.get("FLC_KAPPA"), rows.get("FLC_LAMBDA"), rows.get("FLC_RATIO")
    ratio = catalogue.flc_ratio(
        kappa.canonical_value if kappa else None, lambda_.canonical_value if lambda_ else None
    )
    if ratio is not None:
        ratio = ratio.quantize(Decimal("0.0001"))
    if ratio_row is not None:
        if ratio is not None and ratio_row.canonical_value == ratio:
            return None
        _mark_in_error(ratio_row, user=user, reason="Recomputed: kappa or lambda changed", now=now)
    if ratio is None:
        return None
    result = flc_ratio_result(
        kappa, lambda_, patient=patient, user=user, now=now, collection_id=collection_id
    )
    _save(result, user=user, reason=result._change_reason)
    return result


def flc_ratio_result(
    kappa: LabResult,
    lambda_: LabResult,
    *,
    patient: Patient,
    user,
    now: datetime,
    collection_id=None,
) -> LabResult | None:
    """The computed kappa/lambda ratio of one draw (unsaved), from its two chains; None
    when lambda is zero. The one builder for the batch ingest and the locked refresh."""
    ratio = catalogue.flc_ratio(kappa.canonical_value, lambda_.canonical_value)
    if ratio is None:
        return None
    ratio = ratio.quantize(Decimal("0.0001"))
    test = catalogue.find_test("FLC_RATIO")
    result = LabResult(
        patient=patient,
        test_code="FLC_RATIO",
        panel="myeloma",
        collection_id=collection_id or kappa.collection_id,
        collected_at=kappa.collected_at,
        entered_at=now,
        entered_by=user,
        source=LabResult.Source.COMPUTED,
        value_as_entered=f"{kappa.canonical_value.normalize():f} / {lambda_.canonical_value.normalize():f}",
        canonical_value=ratio,
        canonical_unit="ratio",
        out_of_range=catalogue.out_of_range("FLC_RATIO", ratio) or "",
        ref_low=test.ref_low,
        ref_high=test.ref_high,
    )
    result._history_user = user
    result._change_reason = "Computed from free kappa and lambda"
    return result


def _mark_in_error(result: LabResult, *, user, reason: str, now) -> None:
    result.entered_in_error_at = now
    result.entered_in_error_by = user
    result.entered_in_error_reason = reason
    _save(result, user=user, reason=f"Entered in error: {reason}")


def _evaluate_after_commit(patient_ids: list[int]) -> None:
    """Once this transaction commits, queue one evaluation of these patients."""
    from monitoring import tasks

    ids = sorted(set(patient_ids))
    if ids:
        transaction.on_commit(lambda: tasks.enqueue_patients_evaluation(ids))


@transaction.atomic
def lab_result_correct(
    *, result: LabResult, user, value: str, unit: str, reason: str, confirm_suspicious: bool = False
) -> LabResult:
    """Replace a result by a corrected one; the old one stays, marked entered-in-error.

    Steps: require a reason; lock and mark the old result; record the new value at the
    same collection time (all entry checks apply), linked to the one it corrects.
    """
    reason = (reason or "").strip()
    if not reason:
        from patients import errors as patient_errors

        raise DomainError(patient_errors.REASON_REQUIRED, field="reason")
    now = timezone.now()
    old = lab_result_retire_for_correction(result=result, user=user, reason=reason, now=now)
    saved = lab_results_record(
        patient=old.patient,
        user=user,
        collected_at=old.collected_at,
        # The correction's confirmation box and reason also confirm a value below the
        # lower plausibility limit.
        entries=[
            LabEntry(
                old.test_code,
                value,
                unit,
                confirm_suspicious,
                confirm_low=confirm_suspicious,
                low_reason=reason,
            )
        ],
        source=old.source if old.source != LabResult.Source.DEMO else LabResult.Source.ENTRY,
        mrd_method=old.mrd_method,
        mrd_sensitivity_exponent=old.mrd_sensitivity_exponent,
        hcg_sensitivity_miu_ml=old.hcg_sensitivity_miu_ml,
        corrects=old,
        now=now,
    )
    return saved[0]


@transaction.atomic
def lab_result_retire_for_correction(
    *, result: LabResult, user, reason: str, now: datetime | None = None
) -> LabResult:
    """The first half of a correction (a nurse's, or a lab's OBX-11 C / FHIR "corrected"):
    lock the result and mark it entered-in-error with "Corrected: <reason>" and history.
    No evaluation here: the caller records the corrected value (``corrects`` set) in the
    same transaction and the patient is evaluated once after commit, so a finding that
    still stands keeps its flag (updated to the corrected value), never resolved and
    raised again."""
    old = LabResult.objects.select_for_update().get(pk=result.pk)
    if old.result_status == LabResult.ResultStatus.SUPERSEDED:
        raise DomainError(errors.SUPERSEDED_RESULT)
    if old.entered_in_error_at is not None:
        from patients import errors as patient_errors

        raise DomainError(
            patient_errors.ALREADY_IN_ERROR.format(when=clinical_datetime(old.entered_in_error_at))
        )
    _mark_in_error(old, user=user, reason=f"Corrected: {reason}", now=now or timezone.now())
    return old


@transaction.atomic
def lab_result_mark_entered_in_error(
    *, result: LabResult, user, reason: str, as_of: date | None = None
) -> LabResult:
    """Mark a mistaken result (never deleted): it drops out of rules, charts and the ratio.

    Steps: mark it (with the reason and history); recompute the kappa/lambda ratio; then
    re-evaluate the patient in the same transaction, so flags resting on the result
    resolve as "evidence withdrawn" and pending suggestions raised on it are withdrawn
    before anyone can accept them.
    """
    if result.result_status == LabResult.ResultStatus.SUPERSEDED:
        raise DomainError(errors.SUPERSEDED_RESULT)
    marked = patient_services.mark_entered_in_error(record=result, user=user, reason=reason)
    if marked.test_code in ("FLC_KAPPA", "FLC_LAMBDA"):
        _refresh_flc_ratio(marked.patient, marked.collected_at, user=user)
    _evaluate_now(marked.patient_id, as_of=as_of)
    return marked


@transaction.atomic
def lab_result_supersede(*, result: LabResult, reason: str) -> LabResult:
    """A preliminary result replaced by the lab's final one (issue 11): not a mistake.

    Steps: lock it; mark it superseded (kept with history; it drops out of rules, charts
    and the duplicate check like an entered-in-error result, but nothing resting on it is
    "withdrawn"). No evaluation here: the caller stores the final, re-points the evidence
    (``lab_results_evidence_repoint``) and the patient is evaluated once after commit, so
    a finding that still stands keeps its flag and its pending suggestion.
    """
    row = LabResult.objects.select_for_update().get(pk=result.pk)
    if (
        row.entered_in_error_at is not None
        or row.result_status != LabResult.ResultStatus.PRELIMINARY
    ):
        raise DomainError(errors.NOT_PRELIMINARY.format(result=row))
    row.result_status = LabResult.ResultStatus.SUPERSEDED
    _save(row, user=None, reason=f"Superseded: {reason}")
    return row


@transaction.atomic
def lab_results_evidence_repoint(*, patient: Patient, replaced: Mapping[int, int]) -> None:
    """Open flags and therapy suggestions that rest on superseded results now name the
    results that replaced them (same draw, same test), so the evaluation that follows sees
    the same finding: the flag keeps its id and no suggestion is raised or withdrawn."""
    if not replaced:
        return
    for flag in Flag.objects.open().filter(patient=patient):
        evidence = _repointed(flag.evidence, replaced)
        if evidence != flag.evidence:
            Flag.objects.filter(pk=flag.pk).update(evidence=evidence)
    therapy_services.dose_suggestions_repoint_evidence(
        patient=patient, replaced=replaced, repoint=lambda e: _repointed(e, replaced)
    )


def _repointed(evidence, replaced: Mapping[int, int]) -> list:
    return [
        {**e, "result_id": replaced[e["result_id"]]}
        if isinstance(e, dict) and e.get("result_id") in replaced
        else e
        for e in evidence or []
    ]


def _evaluate_now(patient_id: int, *, as_of: date | None = None) -> None:
    """Evaluate one patient inside the caller's transaction; emails go out after commit."""
    from monitoring import evaluation, tasks

    outcome = evaluation.patient_rules_evaluate(
        patient_id=patient_id, as_of=as_of or timezone.localdate()
    )
    if outcome.notifications:
        transaction.on_commit(tasks.enqueue_notification_delivery)


def _decision_evidence(suggestion) -> list[dict]:
    """What the physician's decision created, as a flag's resolving evidence."""
    evidence = []
    if suggestion.created_hold_id:
        hold = suggestion.created_hold
        evidence.append(
            {"code": "HOLD", "value": f"Hold started {hold.start_date:%Y-%m-%d}", "unit": ""}
        )
    if suggestion.created_dose_change_id:
        change = suggestion.created_dose_change
        evidence.append(
            {
                "code": "DOSE",
                "value": f"Dose change from {change.effective_from:%Y-%m-%d}: {change}",
                "unit": "",
            }
        )
    return evidence


@transaction.atomic
def dose_suggestion_accept(*, suggestion, user, on: date, now: datetime | None = None):
    """Accept a therapy suggestion and close the flag that raised it, in one transaction.

    Steps: therapy creates the hold or dose change; every open flag linked to the
    suggestion is resolved with what was created as its resolving evidence; the patient
    is evaluated at once, so counts and badges change in this request.
    """
    now = now or timezone.now()
    accepted = therapy_services.dose_suggestion_accept(suggestion=suggestion, user=user, on=on)
    evidence = _decision_evidence(accepted)
    what = "; ".join(e["value"] for e in evidence) or "dose kept as it is"
    Flag.objects.open().filter(
        patient_id=accepted.patient_id, dose_suggestion_id=accepted.pk
    ).update(
        status=Flag.Status.RESOLVED,
        resolved_at=now,
        resolution=(
            f"Suggestion accepted by {person(user)} on {timezone.localtime(now):%Y-%m-%d %H:%M}: "
            f"{what}."
        ),
        resolving_evidence=evidence,
        updated_at=now,
    )
    _evaluate_now(accepted.patient_id, as_of=on)
    return accepted


@transaction.atomic
def dose_suggestion_dismiss(*, suggestion, user, reason: str, now: datetime | None = None):
    """Dismiss a therapy suggestion with a reason; the flag that raised it is acknowledged
    with that reason (it leaves the to-do lists, and opens again if the finding worsens)."""
    now = now or timezone.now()
    dismissed = therapy_services.dose_suggestion_dismiss(
        suggestion=suggestion, user=user, reason=reason
    )
    Flag.objects.filter(
        patient_id=dismissed.patient_id,
        dose_suggestion_id=dismissed.pk,
        status=Flag.Status.OPEN,
    ).update(
        status=Flag.Status.ACKNOWLEDGED,
        acknowledged_by=user,
        acknowledged_at=now,
        acknowledgement_note=f"Suggestion dismissed: {dismissed.dismiss_reason}",
        updated_at=now,
    )
    return dismissed


@transaction.atomic
def flag_acknowledge(*, flag: Flag, user, note: str = "") -> Flag:
    """Acknowledge an open flag (compare-and-set: a flag resolved meanwhile stays resolved)."""
    note = (note or "").strip()
    if len(note) > 1000:
        raise DomainError(errors.NOTE_TOO_LONG, field="note")
    updated = Flag.objects.filter(pk=flag.pk, status=Flag.Status.OPEN).update(
        status=Flag.Status.ACKNOWLEDGED,
        acknowledged_by=user,
        acknowledged_at=timezone.now(),
        acknowledgement_note=note,
        updated_at=timezone.now(),
    )
    flag.refresh_from_db()
    if not updated:
        raise DomainError(errors.FLAG_NOT_OPEN.format(status=flag.get_status_display().lower()))
    # A reviewed renal flag may now resolve (the evaluation keeps only unreviewed ones).
    patient_services.patient_rules_changed([flag.patient_id])
    return flag
