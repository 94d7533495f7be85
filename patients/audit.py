"""The access log for API (and FHIR) responses: every response that carries a patient's
data writes one ``PatientAccess`` row per patient, with the route (README, "Security").

Routes with a ``public_id`` in their URL are logged by ``config.middleware.ApiAccessLog``
without any code in the view; a list route names the patients it returned with
``note_read``, and they are written in one bulk insert after a successful response.
"""

from __future__ import annotations

from collections.abc import Iterable

from patients.models import Patient, PatientAccess

PATH_LENGTH = PatientAccess._meta.get_field("path").max_length


def _raw(request):
    # Django REST framework wraps the HttpRequest; the middleware sees the inner one.
    return getattr(request, "_request", request)


def note_read(request, patients: Iterable[Patient]) -> None:
    """Mark patients as read by this request (a list route, or a route without public_id)."""
    raw = _raw(request)
    raw._patients_read = [*getattr(raw, "_patients_read", []), *(p.pk for p in patients)]


def note_public_id(request, public_id) -> None:
    _raw(request)._patient_public_id = public_id


def write_reads(request) -> int:
    """Write the access rows of one successful response; the number written."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    ids = list(dict.fromkeys(getattr(request, "_patients_read", [])))
    public_id = getattr(request, "_patient_public_id", None)
    if public_id is not None and not ids:
        # The 2xx answer already proved the user may read this patient.
        ids = list(Patient.objects.filter(public_id=public_id).values_list("pk", flat=True))
    if not ids:
        return 0
    path = request.get_full_path()[:PATH_LENGTH]
    PatientAccess.objects.bulk_create(
        [PatientAccess(user=user, patient_id=pk, path=path) for pk in ids]
    )
    return len(ids)
