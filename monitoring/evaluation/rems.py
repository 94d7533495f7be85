"""REMS actions and pregnancy tests: raised, worded and resolved here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitoring.evaluation.common import Desired, K, _evidence
from monitoring.rules import flags as flag_rules
from patients.rulebook import Finding

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


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
    on = latest.collected_on
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


def _pregnancy_positive_resolution(kind: str, batch: _Batch, pid: int):
    latest = batch.pregnancy.get(pid)
    if latest is None:
        return None
    return "A later pregnancy test is negative.", [_evidence(latest)]
