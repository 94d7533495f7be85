"""Rules evaluation: from stored labs and the therapy course to the flags in force.

One code path serves a single patient (after labs are saved) and the hourly sweep (a batch
of patients): ``patients_evaluate`` reads everything a batch needs in a fixed number of
set-based queries, runs the pure rules per patient in Python, and reconciles the flags
with the database deciding under concurrency:

* new flags: one ``INSERT ... ON CONFLICT DO NOTHING`` per batch against the partial unique
  constraint ``monitoring_flag_one_open_per_patient_kind`` (a second sweep inserts nothing);
* escalation and resolution: one compare-and-set ``UPDATE ... FROM`` per batch each,
  a row changing only while it holds the values read (the rows of these three statements
  travel as one JSON parameter: ``flags_write._values_update``);
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

The package, by concern: ``gather`` reads a batch; one module per rule family raises,
words and resolves its flag kinds (``cytopenia``, ``cbc``, ``hold``, ``renal``,
``progression``, ``rems``; ``kinds`` looks a kind's resolution up); ``next_review``
dates the next time-driven change; ``flags_write`` reconciles with the database;
``engine`` evaluates a batch; ``sweep`` chooses the patients and the batches.
"""

from monitoring.evaluation.common import Desired, Outcome
from monitoring.evaluation.engine import patients_evaluate
from monitoring.evaluation.gather import _latest_complete
from monitoring.evaluation.sweep import (
    batches,
    patient_rules_evaluate,
    sweep_patient_ids,
    sweep_run,
)

__all__ = [
    "Desired",
    "Outcome",
    "_latest_complete",
    "batches",
    "patient_rules_evaluate",
    "patients_evaluate",
    "sweep_patient_ids",
    "sweep_run",
]
