"""Looking up a patient for a user: the only door views use.

A patient outside the user's clinics answers 404, exactly like a patient that does not
exist, so a URL never reveals that a record exists elsewhere. Inside the clinic, a role
without the permission for the action gets 403.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404

from patients.models import Clinic, Patient


def patient_for_user(
    user, public_id: UUID | str, *, perm: str = "patients.view_patient"
) -> Patient:
    patient = (
        Patient.objects.for_user(user)
        .select_related("clinic", "diagnosis")
        .filter(public_id=public_id)
        .first()
    )
    if patient is None:
        raise Http404("No such patient.")
    require_perm(user, perm)
    return patient


def require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied(f"Your role does not allow this ({perm}).")


def clinics_for_user(user):
    return Clinic.objects.filter(staff=user).order_by("name")


def clinic_for_user(user, clinic_id) -> Clinic:
    clinic = clinics_for_user(user).filter(pk=clinic_id).first()
    if clinic is None:
        raise Http404("No such clinic.")
    return clinic
