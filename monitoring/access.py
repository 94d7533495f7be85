"""Looking up monitoring objects for a user: outsiders get 404, the wrong role 403.

Everything hangs off the patient, so ``patients.access.patient_for_user`` is the door; a
result or flag id that belongs to another patient answers 404 like a missing one.
"""

from __future__ import annotations

from django.http import Http404

from monitoring.models import Flag
from patients.access import clinics_for_user, patient_for_user, require_perm
from patients.models import Clinic, LabResult, Patient
from patients.parsing import parse_query_id


def patient_for(user, public_id, *, perm: str) -> Patient:
    return patient_for_user(user, public_id, perm=perm)


def result_for(user, public_id, result_id: int, *, perm: str) -> tuple[Patient, LabResult]:
    patient = patient_for_user(user, public_id, perm=perm)
    result = (
        LabResult.objects.filter(pk=result_id, patient=patient)
        .select_related("entered_by", "entered_in_error_by", "corrects")
        .first()
    )
    if result is None:
        raise Http404("No such result.")
    return patient, result


def flag_for(user, flag_id: int, *, perm: str, public_id=None) -> Flag:
    flags = Flag.objects.filter(pk=flag_id, patient__clinic__staff=user).select_related(
        "patient", "patient__clinic"
    )
    if public_id is not None:
        flags = flags.filter(patient__public_id=public_id)
    flag = flags.first()
    if flag is None:
        raise Http404("No such flag.")
    require_perm(user, perm)
    return flag


def clinic_for(user, clinic_id=None, *, perm: str, clinics: list[Clinic] | None = None) -> Clinic:
    """The requested clinic if the user works there (else 404); the first one by default.
    A page that lists the user's clinics too passes them (``clinics_for_user``, read once)."""
    # One strict parser for ids: "²".isdigit() is true but int("²") fails; a huge number
    # overflows the database integer. Both answer 400 with the accepted range.
    pk = parse_query_id(str(clinic_id), name="clinic") if clinic_id else None
    if clinics is not None:
        clinic = next((c for c in clinics if pk is None or c.pk == pk), None)
    else:
        mine = clinics_for_user(user)
        clinic = mine.filter(pk=pk).first() if pk else mine.first()
    if clinic is None:
        raise Http404("No such clinic.")
    require_perm(user, perm)
    return clinic
