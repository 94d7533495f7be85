"""Lab entries, corrections, entered-in-error results and flags on the patient's History
page, in words; registered in MonitoringConfig.ready()."""

from __future__ import annotations

from itertools import groupby

from monitoring.models import Flag
from patients.formatting import clinical_datetime, person
from patients.history import HistoryEntry
from patients.models import LabResult, Patient


def _result_text(result: LabResult) -> str:
    return f"{result.get_test_code_display()} {result.shown_value}"


def lab_entries(patient: Patient) -> list[HistoryEntry]:
    """One entry per draw entered together, one per correction and one per result
    marked entered in error. Ratios the software computes are not entries of their own."""
    results = list(
        LabResult.objects.filter(patient=patient)
        .exclude(source=LabResult.Source.COMPUTED)
        .select_related("entered_by", "entered_in_error_by")
        .order_by("collected_at", "entered_at", "pk")
    )
    entries: list[HistoryEntry] = []
    # Results drawn together and entered by the same person in one go read as one entry
    # (imports give every result its own collection id, so the draw time decides).
    for _, group in groupby(
        (r for r in results if r.corrects_id is None),
        key=lambda r: (r.collected_at, r.entered_by_id, r.source),
    ):
        batch = list(group)
        first = batch[0]
        entries.append(
            HistoryEntry(
                when=first.entered_at,
                who=person(first.entered_by),
                what=f"Labs entered{_source(first)}, collected {clinical_datetime(first.collected_at)}",
                area="Labs",
                details=(", ".join(_result_text(r) for r in batch),),
            )
        )
    by_pk = {r.pk: r for r in results}
    # A corrected result already reads as "corrected (was …)" on its correction.
    replaced = {r.corrects_id for r in results if r.corrects_id is not None}
    for result in results:
        if result.corrects_id is not None:
            old = by_pk.get(result.corrects_id)
            was = f" (was {old.shown_value})" if old else ""
            entries.append(
                HistoryEntry(
                    when=result.entered_at,
                    who=person(result.entered_by),
                    what=f"{_result_text(result)} corrected{was}, "
                    f"collected {clinical_datetime(result.collected_at)}",
                    area="Labs",
                    reason=(old.entered_in_error_reason if old else "").removeprefix("Corrected: "),
                )
            )
        if result.entered_in_error_at is not None and result.pk not in replaced:
            entries.append(
                HistoryEntry(
                    when=result.entered_in_error_at,
                    who=person(result.entered_in_error_by),
                    what=f"{_result_text(result)} (collected "
                    f"{clinical_datetime(result.collected_at)}) marked entered in error",
                    area="Labs",
                    reason=result.entered_in_error_reason,
                )
            )
    return entries


def _source(result: LabResult) -> str:
    """How results came in, unless typed in on the lab page (the usual way)."""
    if result.source == LabResult.Source.ENTRY:
        return ""
    return f" ({result.get_source_display().lower()})"


def flag_entries(patient: Patient) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    for flag in Flag.objects.filter(patient=patient).select_related("acknowledged_by"):
        kind = flag.get_kind_display()
        entries.append(
            HistoryEntry(
                when=flag.opened_at,
                who="system",
                what=f"Flag raised: {kind} ({flag.get_severity_display().lower()})",
                area="Flags",
                details=(flag.message,),
                rule_id=flag.rule_id,
            )
        )
        if flag.acknowledged_at:
            entries.append(
                HistoryEntry(
                    when=flag.acknowledged_at,
                    who=person(flag.acknowledged_by),
                    what=f"Flag acknowledged: {kind}",
                    area="Flags",
                    reason=flag.acknowledgement_note,
                )
            )
        if flag.resolved_at:
            entries.append(
                HistoryEntry(
                    when=flag.resolved_at,
                    who="system",
                    what=f"Flag resolved: {kind}",
                    area="Flags",
                    reason=flag.resolution,
                )
            )
    return entries


def history_entries(patient: Patient) -> list[HistoryEntry]:
    return [*lab_entries(patient), *flag_entries(patient)]
