"""The permission table behind test_permission_matrix (one row per named URL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PERSONAS = ("anonymous", "nurse", "physician", "rems", "superuser", "outsider")
ANON_PAGE = "login redirect"
ANON_API = "401/403"
OK, REDIRECT, BAD, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 302, 400, 403, 404, 405


@dataclass(frozen=True)
class Url:
    """Expected status by persona; ``who`` maps persona -> status for GET (and POST unless
    ``post`` says otherwise). Patient URLs default to 404 for outsider and superuser."""

    who: dict[str, int]
    methods: tuple[str, ...] = ("GET",)
    post: dict[str, int] | None = None
    kwargs: dict[str, str] = field(default_factory=dict)
    payload: Callable[[dict[str, Any]], dict[str, Any]] = lambda world: {}
    anonymous: str = ANON_PAGE

    def expect(self, persona: str, method: str):
        if persona == "anonymous":
            return self.anonymous
        table = self.post if (method == "POST" and self.post is not None) else self.who
        return table[persona]


def expand_kwargs(spec: Url, world: dict[str, Any]) -> dict[str, Any]:
    return {
        key: world[value] if isinstance(value, str) and value in world else value
        for key, value in spec.kwargs.items()
    }


def everyone(status: int = OK) -> dict[str, int]:
    return {
        "nurse": status,
        "physician": status,
        "rems": status,
        "superuser": status,
        "outsider": status,
    }


def clinic(nurse: int, physician: int, rems: int) -> dict[str, int]:
    """A patient-scoped URL: the outsider and the clinic-less superuser get 404."""
    return {
        "nurse": nurse,
        "physician": physician,
        "rems": rems,
        "superuser": NOT_FOUND,
        "outsider": NOT_FOUND,
    }


PATIENT = {"public_id": "patient_id"}
COURSE = {"public_id": "patient_id", "course_id": "course_id"}
SUGGESTION = {"public_id": "patient_id", "suggestion_id": "suggestion_id"}
RESULT = {"public_id": "patient_id", "result_id": "result_id"}
NOTE = {"public_id": "patient_id", "note_id": "note_id"}
INTERFACE_MESSAGE = {"pk": "interface_message_id"}

MATRIX: dict[str, Url] = {
    "home": Url({**everyone(REDIRECT)}),
    "login": Url({**everyone(REDIRECT)}, anonymous=OK),
    "logout": Url({**everyone(REDIRECT)}, methods=("POST",), anonymous=REDIRECT),
    "about": Url(everyone()),
    "rule_settings": Url(everyone()),
    "api-schema": Url(everyone(), anonymous=ANON_API),
    "patients:list": Url({**everyone(), "superuser": OK}),
    "patients:create": Url(
        {
            "nurse": FORBIDDEN,
            "physician": OK,
            "rems": FORBIDDEN,
            "superuser": OK,
            "outsider": OK,
        }
    ),
    "patients:detail": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "patients:history": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "patients:edit": Url(clinic(FORBIDDEN, OK, FORBIDDEN), kwargs=PATIENT),
    "patients:diagnosis_edit": Url(clinic(FORBIDDEN, OK, FORBIDDEN), kwargs=PATIENT),
    "patients:transplant_add": Url(
        clinic(FORBIDDEN, BAD, FORBIDDEN), methods=("POST",), kwargs=PATIENT
    ),
    "patients:weight_add": Url(clinic(BAD, BAD, FORBIDDEN), methods=("POST",), kwargs=PATIENT),
    "patients:mark_error": Url(  # nurses may correct the weights they record
        clinic(OK, OK, FORBIDDEN),
        kwargs={"public_id": "patient_id", "kind": "weight", "record_id": "weight_id"},
    ),
    # Notes (the nurse wrote the world's note: only its author may correct it).
    "patients:notes": Url(clinic(OK, OK, FORBIDDEN), kwargs=PATIENT),
    "patients:note_add": Url(
        clinic(OK, OK, FORBIDDEN),
        methods=("GET", "POST"),
        post=clinic(BAD, BAD, FORBIDDEN),
        kwargs=PATIENT,
    ),
    "patients:note": Url(clinic(OK, OK, FORBIDDEN), kwargs=NOTE),
    "patients:note_correct": Url(
        clinic(OK, FORBIDDEN, FORBIDDEN),
        methods=("GET", "POST"),
        post=clinic(BAD, FORBIDDEN, FORBIDDEN),
        kwargs=NOTE,
    ),
    "patients:note_mark_error": Url(
        clinic(OK, FORBIDDEN, FORBIDDEN),
        methods=("GET", "POST"),
        post=clinic(BAD, FORBIDDEN, FORBIDDEN),
        kwargs=NOTE,
    ),
    "patients:call_done": Url(
        clinic(OK, OK, FORBIDDEN),
        methods=("GET", "POST"),
        post=clinic(BAD, BAD, FORBIDDEN),
        kwargs={**PATIENT, "call_id": "call_id"},
    ),
    # --- therapy -------------------------------------------------------------------------
    "therapy:regimens": Url(everyone()),
    "therapy:rems_list": Url(everyone()),  # each user sees their own clinics' patients
    "therapy:rems_export": Url(everyone()),
    "therapy:course": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "therapy:history": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "therapy:course_start": Url(
        clinic(FORBIDDEN, OK, FORBIDDEN), methods=("GET", "POST"), kwargs=PATIENT
    ),
    "therapy:dose_change": Url(
        clinic(FORBIDDEN, OK, FORBIDDEN), methods=("GET", "POST"), kwargs=COURSE
    ),
    "therapy:hold_start": Url(
        clinic(FORBIDDEN, OK, FORBIDDEN), methods=("GET", "POST"), kwargs=COURSE
    ),
    "therapy:hold_end": Url(
        clinic(FORBIDDEN, OK, FORBIDDEN),
        methods=("GET", "POST"),
        kwargs={**COURSE, "hold_id": "hold_id"},
    ),
    "therapy:discontinue": Url(
        clinic(FORBIDDEN, OK, FORBIDDEN), methods=("GET", "POST"), kwargs=COURSE
    ),
    "therapy:correct": Url(
        clinic(FORBIDDEN, OK, FORBIDDEN), methods=("GET", "POST"), kwargs=COURSE
    ),
    "monitoring:suggestion_accept": Url(
        clinic(FORBIDDEN, REDIRECT, FORBIDDEN), methods=("POST",), kwargs=SUGGESTION
    ),
    "monitoring:suggestion_dismiss": Url(
        clinic(FORBIDDEN, OK, FORBIDDEN), methods=("GET", "POST"), kwargs=SUGGESTION
    ),
    "therapy:rems": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "therapy:rems_enrollment": Url(
        clinic(FORBIDDEN, FORBIDDEN, OK), methods=("GET", "POST"), kwargs=PATIENT
    ),
    "therapy:rems_authorization_add": Url(
        clinic(FORBIDDEN, FORBIDDEN, BAD), methods=("POST",), kwargs=PATIENT
    ),
    "therapy:rems_authorization_edit": Url(
        clinic(FORBIDDEN, FORBIDDEN, OK),
        methods=("GET", "POST"),
        kwargs={**PATIENT, "authorization_id": "authorization_id"},
    ),
    "therapy:rems_survey_add": Url(
        clinic(FORBIDDEN, FORBIDDEN, BAD), methods=("POST",), kwargs=PATIENT
    ),
    # --- monitoring ----------------------------------------------------------------------
    "monitoring:worklist": Url(
        {**everyone(), "superuser": NOT_FOUND}
    ),  # a clinic-less user has no worklist
    # Physicians and analysts, aggregates of their own clinics (the outsider sees clinic B's).
    "monitoring:cohort": Url(
        {
            "nurse": FORBIDDEN,
            "physician": OK,
            "rems": FORBIDDEN,
            "superuser": NOT_FOUND,
            "outsider": OK,
        }
    ),
    "monitoring:inbox": Url(
        {
            "nurse": FORBIDDEN,
            "physician": OK,
            "rems": FORBIDDEN,
            "superuser": NOT_FOUND,
            "outsider": OK,
        }
    ),
    "monitoring:worklist_print": Url({**everyone(), "superuser": NOT_FOUND}),
    "monitoring:flag_notify_physician": Url(
        clinic(REDIRECT, REDIRECT, FORBIDDEN), methods=("POST",), kwargs={"flag_id": "flag_id"}
    ),
    "monitoring:flag_physician_seen": Url(
        clinic(FORBIDDEN, REDIRECT, FORBIDDEN), methods=("POST",), kwargs={"flag_id": "flag_id"}
    ),
    "monitoring:dosing_calendar": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "monitoring:flag_acknowledge": Url(
        clinic(REDIRECT, REDIRECT, FORBIDDEN), methods=("POST",), kwargs={"flag_id": "flag_id"}
    ),
    "monitoring:labs": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "monitoring:lab_entry": Url(
        clinic(OK, OK, FORBIDDEN),
        methods=("GET", "POST"),
        post=clinic(BAD, BAD, FORBIDDEN),
        kwargs={**PATIENT, "panel": "cbc"},
    ),
    "monitoring:collection": Url(
        clinic(OK, OK, OK), kwargs={**PATIENT, "collection_id": "collection_id"}
    ),
    "monitoring:result": Url(clinic(OK, OK, OK), kwargs=RESULT),
    "monitoring:result_correct": Url(
        clinic(OK, OK, FORBIDDEN),
        methods=("GET", "POST"),
        post=clinic(BAD, BAD, FORBIDDEN),
        kwargs=RESULT,
    ),
    "monitoring:result_mark_error": Url(
        clinic(OK, OK, FORBIDDEN),
        methods=("GET", "POST"),
        post=clinic(BAD, BAD, FORBIDDEN),
        kwargs=RESULT,
    ),
    "monitoring:patient_flags": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "monitoring:timeline": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "monitoring:timeline_tables": Url(clinic(OK, OK, OK), kwargs=PATIENT),
    "monitoring:assessment_record": Url(
        clinic(FORBIDDEN, BAD, FORBIDDEN), methods=("POST",), kwargs=PATIENT
    ),
    # --- lab interface queue (nurses, physicians, administrators) --------------------------
    "interface:queue": Url({**everyone(), "rems": FORBIDDEN}),
    "interface:message": Url(
        {**clinic(OK, OK, FORBIDDEN), "superuser": OK}, kwargs=INTERFACE_MESSAGE
    ),
    **{
        f"interface:{action}": Url(
            {**clinic(REDIRECT, REDIRECT, FORBIDDEN), "superuser": REDIRECT},
            methods=("POST",),
            kwargs=INTERFACE_MESSAGE,
        )
        for action in ("retry", "match", "reject")
    },
    # The code and unit mapping tables are global: administrators only (issue 11 review).
    **{
        f"interface:{action}": Url(
            {**clinic(FORBIDDEN, FORBIDDEN, FORBIDDEN), "superuser": REDIRECT},
            methods=("POST",),
            kwargs=INTERFACE_MESSAGE,
        )
        for action in ("map_code", "map_unit")
    },
    # --- FHIR R4 (the API's authentication; a search without ?patient= is a 400) -----------
    # Clinic scoping per persona with ?patient= is in tests/security/test_fhir_scoping.py.
    "fhir:metadata": Url(everyone(), anonymous=OK),
    "fhir:patient": Url(clinic(OK, OK, OK), kwargs=PATIENT, anonymous=ANON_API),
    "fhir:observation": Url(everyone(BAD), methods=("GET", "POST"), anonymous=ANON_API),
    "fhir:observation_read": Url(
        clinic(OK, OK, OK), kwargs={"resource_id": "fhir_observation_id"}, anonymous=ANON_API
    ),
    "fhir:medicationrequest": Url(everyone(BAD), anonymous=ANON_API),
    "fhir:condition": Url(everyone(BAD), anonymous=ANON_API),
    "fhir:transaction": Url(everyone(BAD), methods=("POST",), anonymous=ANON_API),
    # --- API (token or session; anonymous gets 401) ----------------------------------------
    "api-patients": Url(
        everyone(),
        methods=("GET", "POST"),
        post={
            "nurse": FORBIDDEN,
            "physician": BAD,
            "rems": FORBIDDEN,
            "superuser": BAD,
            "outsider": BAD,
        },
        anonymous=ANON_API,
    ),
    "api-patient": Url(clinic(OK, OK, OK), kwargs=PATIENT, anonymous=ANON_API),
    "api-patient-courses": Url(
        clinic(OK, OK, OK),
        methods=("GET", "POST"),
        post=clinic(FORBIDDEN, BAD, FORBIDDEN),
        kwargs=PATIENT,
        anonymous=ANON_API,
    ),
    "api-patient-rems": Url(clinic(OK, OK, OK), kwargs=PATIENT, anonymous=ANON_API),
    "api-patient-labs": Url(
        clinic(OK, OK, OK),
        methods=("GET", "POST"),
        post=clinic(BAD, BAD, FORBIDDEN),
        kwargs=PATIENT,
        anonymous=ANON_API,
    ),
    "api-patient-flags": Url(clinic(OK, OK, OK), kwargs=PATIENT, anonymous=ANON_API),
    # Not patient-scoped in its URL: each collection names its patient, and one of another
    # clinic is refused in the body ("No such patient."). An empty body is a 400 for every
    # role that may enter labs, 403 for the others.
    "api-labs-batch": Url(
        {"nurse": BAD, "physician": BAD, "rems": FORBIDDEN, "superuser": BAD, "outsider": BAD},
        methods=("POST",),
        anonymous=ANON_API,
    ),
    "api-flag-acknowledge": Url(
        clinic(OK, OK, FORBIDDEN),
        methods=("POST",),
        kwargs={**PATIENT, "flag_id": "flag_id"},
        anonymous=ANON_API,
    ),
}
