"""Each flag kind's resolution, looked up beside the rule that raises it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitoring.evaluation.cbc import _cbc_overdue_resolution, _response_labs_resolution
from monitoring.evaluation.common import K, _in_scope
from monitoring.evaluation.cytopenia import _cytopenia_resolution
from monitoring.evaluation.hold import _hold_resolution
from monitoring.evaluation.progression import _progression_resolution
from monitoring.evaluation.rems import _pregnancy_positive_resolution
from monitoring.evaluation.renal import _renal_resolution
from monitoring.rules import flags as flag_rules
from patients.models import Patient

if TYPE_CHECKING:
    from monitoring.evaluation.gather import _Batch


# Each kind's resolution text, beside the rule that raises it (kinds without one read
# "Condition cleared.").
RESOLUTIONS = {
    **dict.fromkeys(flag_rules.CYTOPENIA_KIND_BY_CODE.values(), _cytopenia_resolution),
    K.CBC_OVERDUE: _cbc_overdue_resolution,
    K.RESPONSE_LABS_DUE: _response_labs_resolution,
    K.HOLD_RECOMMENDED: _hold_resolution,
    K.RENAL_DOSE_REVIEW: _renal_resolution,
    K.POSSIBLE_PROGRESSION: _progression_resolution,
    K.PREGNANCY_TEST_POSITIVE: _pregnancy_positive_resolution,
}


def _resolution(kind: str, batch: _Batch, pid: int, patient: Patient) -> tuple[str, list[dict]]:
    """Why a flag's condition cleared, and the results that show it: each kind's own
    resolution (``RESOLUTIONS``, beside the rule that raises it)."""
    if not _in_scope(patient):
        return f"Patient is no longer on maintenance ({patient.get_status_display()}).", []
    resolve = RESOLUTIONS.get(kind)
    found = resolve(kind, batch, pid) if resolve is not None else None
    return found if found is not None else ("Condition cleared.", [])
