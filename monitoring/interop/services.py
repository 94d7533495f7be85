"""Writes of the lab interface: the interface queue's actions and the mapping tables.

Each action is atomic and writes the message's (or mapping's) history with who and why.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from monitoring.interop import units
from monitoring.interop.hl7 import process
from monitoring.interop.models import Hl7Sender, InterfaceMessage, LabCodeMapping, UnitMapping
from patients.errors import DomainError
from patients.models import Patient
from patients.services import record_save

REASON_REQUIRED = "Give a reason for rejecting the message."
NOT_OPEN = "This message is already {status}; there is nothing to do."
CANNOT_RETRY_REFUSED = "A refused message cannot be read; reject it with a reason instead."
BUILT_IN_UNIT = (
    "{spelling!r} is a built-in spelling of {unit}; it cannot be mapped to another unit."
)
PATIENT_OTHER_CLINIC = "The patient belongs to another clinic than the message's sender."


def _open_for_update(message: InterfaceMessage) -> InterfaceMessage:
    row = InterfaceMessage.objects.select_for_update().get(pk=message.pk)
    if row.status not in InterfaceMessage.OPEN_STATUSES:
        raise DomainError(NOT_OPEN.format(status=row.get_status_display().lower()))
    return row


@transaction.atomic
def message_retry(*, message: InterfaceMessage, user) -> InterfaceMessage:
    """Map and store a held message again (after a mapping was added)."""
    row = _open_for_update(message)
    if row.status == InterfaceMessage.Status.REFUSED:
        raise DomainError(CANNOT_RETRY_REFUSED)
    return process(row, user=user, reason=f"Retried by {user}")


@transaction.atomic
def message_match_patient(*, message: InterfaceMessage, patient: Patient, user) -> InterfaceMessage:
    """A person confirms whose results these are; the MRN and date-of-birth checks are waived."""
    row = _open_for_update(message)
    if row.status == InterfaceMessage.Status.REFUSED:
        raise DomainError(CANNOT_RETRY_REFUSED)
    if row.clinic_id is not None and row.clinic_id != patient.clinic_id:
        raise DomainError(PATIENT_OTHER_CLINIC)
    row.patient, row.matched_manually = patient, True
    return process(row, user=user, reason=f"Matched to patient {patient.public_id} by {user}")


@transaction.atomic
def message_reject(*, message: InterfaceMessage, user, reason: str) -> InterfaceMessage:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(REASON_REQUIRED, field="reason")
    row = _open_for_update(message)
    row.status = InterfaceMessage.Status.REJECTED
    row.resolved_by, row.resolved_at, row.resolution = user, timezone.now(), reason
    record_save(row, user=user, reason=f"Rejected: {reason}", check=False)
    return row


def _save_mapping(instance, *, user, reason: str):
    record_save(instance, user=user, reason=reason)
    return instance


@transaction.atomic
def code_mapping_save(*, facility: str, local_code: str, test_code: str, user) -> LabCodeMapping:
    mapping = LabCodeMapping.objects.filter(facility=facility, local_code=local_code).first()
    mapping = mapping or LabCodeMapping(facility=facility, local_code=local_code)
    mapping.test_code = test_code
    return _save_mapping(mapping, user=user, reason="Mapped from the interface queue")


@transaction.atomic
def unit_mapping_save(*, spelling: str, unit: str, user) -> UnitMapping:
    built_in = units.SPELLINGS.get(spelling.strip())
    if built_in is not None and built_in != unit:
        raise DomainError(BUILT_IN_UNIT.format(spelling=spelling, unit=built_in))
    mapping = UnitMapping.objects.filter(spelling=spelling).first() or UnitMapping(
        spelling=spelling
    )
    mapping.unit = unit
    return _save_mapping(mapping, user=user, reason="Mapped from the interface queue")


@transaction.atomic
def sender_register(*, facility: str, authority: str, clinic, user=None) -> Hl7Sender:
    sender = Hl7Sender.objects.filter(facility=facility, authority=authority).first()
    sender = sender or Hl7Sender(facility=facility, authority=authority)
    sender.clinic, sender.active = clinic, True
    return _save_mapping(sender, user=user, reason="Registered")
