"""Every edit form of a fully filled record, loaded and saved unchanged, stores nothing new.

Issue 14, item 1: saving the demographics page only to change a phone number wiped
"menses in the past 24 months" and "menses regular" (the yes/no select showed every stored
answer as the blank choice). These tests do what a browser does: read the form as rendered
(every input, select and textarea with the value the page shows), post it back, and compare
every stored field before and after.
"""

from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Diagnosis, Patient
from tests.factories import DiagnosisFactory, PatientFactory, TransplantFactory, WeightFactory
from therapy import services
from therapy.models import MaintenanceCourse, Regimen, RemsAuthorization, RemsEnrollment

IGNORED = {"updated_at", "created_at"}


class _FormReader(HTMLParser):
    """The fields a browser would submit for each <form method=post> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append({})
        if not self.forms:
            return
        fields = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select and self.forms:
            # A select with no selected option submits its first option, as a browser does.
            self.forms[-1].setdefault(self._select, self._select_first or "")
            self._select = None
        elif tag == "textarea":
            if self._textarea and self.forms:
                # The HTML parser keeps the newline Django writes after <textarea>.
                value = self.forms[-1][self._textarea]
                self.forms[-1][self._textarea] = value[1:] if value.startswith("\n") else value
            self._textarea = None


def form_as_browser_submits(html: str, field: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(html)
    forms = [f for f in reader.forms if field in f]
    assert len(forms) == 1, f"expected one form with {field!r}"
    return forms[0]


def stored(obj) -> dict[str, object]:
    obj = type(obj).objects.get(pk=obj.pk)
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.name not in IGNORED
    }


def round_trip(client, url: str, field: str):
    page = client.get(url)
    assert page.status_code == 200
    data = form_as_browser_submits(page.content.decode(), field)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return data


@pytest.fixture
def full_female(clinic_a):
    """Every field filled, the reproductive facts of the issue's case among them."""
    patient = PatientFactory(
        clinic=clinic_a,
        mrn="A-2001",
        given_name="Grace",
        family_name="Hopper",
        date_of_birth=date(1982, 3, 9),
        sex_at_birth=Patient.Sex.FEMALE,
        phone="+1 555 0100",
        email="grace@example.org",
        address="1 Harbour Road\nSpringfield",
        height_cm=Decimal("164.5"),
        status=Patient.Status.ACTIVE,
        reproductive_potential=Patient.ReproductivePotential.CAN_BECOME_PREGNANT,
        menses_in_past_24_months=True,
        menses_regular=False,
        hysterectomy=False,
        bilateral_oophorectomy=False,
    )
    DiagnosisFactory(
        patient=patient,
        diagnosed_on=date(2024, 1, 10),
        heavy_chain=Diagnosis.HeavyChain.IGA,
        light_chain=Diagnosis.LightChain.LAMBDA,
        iss_stage="III",
        riss_stage="II",
        cytogenetics_tested_on=date(2024, 1, 20),
        del_17p=True,
        t_4_14=False,
        t_14_16=None,
        t_14_20=False,
        gain_1q=True,
        del_1p=False,
        induction_regimen="VRd x4",
        best_response_pre_maintenance="VGPR",
        prior_vte=True,
        neuropathy_grade=1,
        on_dialysis=False,
    )
    TransplantFactory(patient=patient, transplanted_on=date(2024, 6, 1))
    WeightFactory(patient=patient, weight_kg=Decimal("61.5"))
    return patient


@pytest.mark.parametrize(
    ("menses", "regular", "hysterectomy", "oophorectomy"),
    [(True, False, False, False), (False, True, False, False), (None, None, True, True)],
)
def test_saving_demographics_unchanged_keeps_every_stored_fact(
    client_for, physician, full_female, menses, regular, hysterectomy, oophorectomy
):
    Patient.objects.filter(pk=full_female.pk).update(
        menses_in_past_24_months=menses,
        menses_regular=regular,
        hysterectomy=hysterectomy,
        bilateral_oophorectomy=oophorectomy,
    )
    before = stored(full_female)
    round_trip(client_for(physician), f"/patients/{full_female.public_id}/edit/", "mrn")
    assert stored(full_female) == before


def test_changing_only_the_phone_keeps_the_reproductive_facts(client_for, physician, full_female):
    client = client_for(physician)
    url = f"/patients/{full_female.public_id}/edit/"
    data = form_as_browser_submits(client.get(url).content.decode(), "mrn")
    assert client.post(url, {**data, "phone": "+1 555 0199"}).status_code == 302
    full_female.refresh_from_db()
    assert full_female.phone == "+1 555 0199"
    assert full_female.menses_in_past_24_months is True
    assert full_female.menses_regular is False


def test_the_demographics_page_shows_the_stored_yes_and_no(client_for, physician, full_female):
    html = client_for(physician).get(f"/patients/{full_female.public_id}/edit/").content.decode()
    data = form_as_browser_submits(html, "mrn")
    assert data["menses_in_past_24_months"] == "true"
    assert data["menses_regular"] == "false"


def test_saving_the_diagnosis_unchanged_keeps_every_cytogenetic_finding(
    client_for, physician, full_female
):
    before = stored(full_female.diagnosis)
    round_trip(client_for(physician), f"/patients/{full_female.public_id}/diagnosis/", "del_17p")
    assert stored(full_female.diagnosis) == before


@pytest.fixture
def full_rems(full_female, rems_admin):
    today = timezone.localdate()
    enrollment = RemsEnrollment.objects.create(
        patient=full_female,
        patient_risk_category="fcbp_adult",
        suggested_risk_category="fcbp_adult",
        status=RemsEnrollment.Status.ACTIVE,
        enrolled_on=today - timedelta(days=20),
        agreement_signed_on=today - timedelta(days=21),
        counselled_on=today - timedelta(days=20),
        rems_patient_id="RP-2001",
        prescriber_name="Paul Physician",
        prescriber_enrollment_id="PE-77",
        prescriber_certification_expires_on=today + timedelta(days=400),
    )
    authorization = services.rems_authorization_create(
        patient=full_female,
        user=rems_admin,
        authorization_number="AUTH-2001",
        obtained_on=today - timedelta(days=2),
        days_supply=28,
        dispensed_on=today - timedelta(days=1),
    )
    return enrollment, authorization


def test_saving_the_rems_enrollment_unchanged_keeps_it(client_for, rems_admin, full_rems):
    enrollment, _ = full_rems
    before = stored(enrollment)
    url = reverse("therapy:rems_enrollment", args=[enrollment.patient.public_id])
    round_trip(client_for(rems_admin), url, "rems_patient_id")
    assert stored(RemsEnrollment.objects.get(pk=enrollment.pk)) == before


def test_saving_an_authorization_unchanged_keeps_it(client_for, rems_admin, full_rems):
    _, authorization = full_rems
    before = stored(authorization)
    url = reverse(
        "therapy:rems_authorization_edit",
        args=[authorization.patient.public_id, authorization.public_id],
    )
    round_trip(client_for(rems_admin), url, "dispensed_on")
    assert stored(RemsAuthorization.objects.get(pk=authorization.pk)) == before


def test_saving_a_course_correction_unchanged_keeps_the_course(
    client_for, physician, full_female, full_rems
):
    from tests.therapy.conftest import start_course

    regimen = Regimen.objects.get(code="len-10-d1-21")
    course = start_course(full_female, physician, regimen, start=date(2024, 9, 10))
    services.course_discontinue(
        course=course,
        user=physician,
        discontinued_on=date(2025, 3, 1),
        reason=MaintenanceCourse.DiscontinuationReason.TOXICITY,
        note="Grade 3 rash",
    )
    before = stored(course)
    url = reverse("therapy:correct", args=[full_female.public_id, course.public_id])
    client = client_for(physician)
    data = form_as_browser_submits(client.get(url).content.decode(), "discontinued_on")
    # The form asks why a correction is made; a round trip states it and changes nothing else.
    response = client.post(url, {**data, "change_reason": "Checked, no change"})
    assert response.status_code == 302
    assert stored(course) == before
