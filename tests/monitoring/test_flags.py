"""Flags raised, escalated and resolved by the rules evaluation (real therapy courses)."""

from datetime import date
from decimal import Decimal

import pytest

from monitoring import services
from monitoring.models import Flag, MonitoringStatus, Notification
from tests.factories import PatientFactory, WeightFactory
from tests.monitoring.conftest import cbc, evaluate, open_flag, open_kinds, record

pytestmark = pytest.mark.django_db

K = Flag.Kind


def test_grade_3_neutropenia_opens_a_flag_with_its_rule_version_and_evidence(patient, nurse):
    (anc,) = record(patient, nurse, date(2025, 3, 1), ANC="0.8")
    evaluate(patient, date(2025, 3, 1))
    flag = open_flag(patient, K.NEUTROPENIA)
    assert (flag.ctcae_grade, flag.ctcae_version, flag.severity) == (3, "5.0", Flag.Severity.URGENT)
    assert (
        flag.message
        == "Neutrophils (ANC) 0.8 10^9/L (collected 2025-03-01): grade 3 neutropenia (CTCAE v5.0)."
    )
    assert flag.rule_id == "ctcae.grade"
    assert "ctcae.v5.anc.grade3_below = 1 10^9/L" in flag.basis and "v1" in flag.basis
    stored = next(t for t in flag.thresholds if t["key"] == "ctcae.v5.anc.grade3_below")
    assert {k: stored[k] for k in ("value", "unit", "version", "status")} == {
        "value": "1",
        "unit": "10^9/L",
        "version": 1,
        "status": "guideline",
    }
    # Stored as every finding is (rulebook.threshold_json): with its source.
    assert stored["source"] and "CTCAE" in stored["source"]
    assert flag.evidence == [
        {
            "result_id": anc.pk,
            "code": "ANC",
            "value": "0.8",
            "unit": "10^9/L",
            "collected_at": anc.collected_at.isoformat(),
        }
    ]


def test_grade_1_counts_do_not_flag_by_default(patient, nurse):
    record(patient, nurse, date(2025, 3, 1), ANC="1.8", PLT="140", HGB="11.0", WBC="3.5")
    evaluate(patient, date(2025, 3, 1))
    assert open_kinds(patient) == set()


def test_a_worse_result_escalates_the_open_flag_instead_of_adding_one(patient, nurse):
    record(patient, nurse, date(2025, 3, 1), PLT="60")
    evaluate(patient, date(2025, 3, 1))
    flag = open_flag(patient, K.THROMBOCYTOPENIA)
    services.flag_acknowledge(flag=flag, user=nurse, note="Told Dr P")
    record(patient, nurse, date(2025, 3, 8), PLT="20")
    evaluate(patient, date(2025, 3, 8))
    assert Flag.objects.filter(patient=patient, kind=K.THROMBOCYTOPENIA).count() == 1
    flag.refresh_from_db()
    assert (flag.ctcae_grade, flag.peak_ctcae_grade, flag.severity) == (
        4,
        4,
        Flag.Severity.CRITICAL,
    )
    assert flag.status == Flag.Status.OPEN  # a worse result needs fresh eyes
    assert flag.escalations[-1]["from_grade"] == 2 and flag.escalations[-1]["to_grade"] == 4


def test_recovery_resolves_the_flag_with_the_resolving_result(patient, nurse):
    record(patient, nurse, date(2025, 3, 1), HGB="7.5")
    evaluate(patient, date(2025, 3, 1))
    (recovered,) = record(patient, nurse, date(2025, 3, 15), HGB="10.4")
    evaluate(patient, date(2025, 3, 15))
    flag = Flag.objects.get(patient=patient, kind=K.ANEMIA)
    assert flag.status == Flag.Status.RESOLVED and flag.resolved_at is not None
    assert flag.resolution == "Recovered: Hemoglobin 10.4 g/dL on 2025-03-15."
    assert flag.resolving_evidence[0]["result_id"] == recovered.pk


def test_a_result_marked_entered_in_error_no_longer_keeps_a_flag_open(patient, nurse):
    (wbc,) = record(patient, nurse, date(2025, 3, 1), WBC="0.9")
    evaluate(patient, date(2025, 3, 1))
    assert open_flag(patient, K.LEUKOPENIA).ctcae_grade == 4
    services.lab_result_mark_entered_in_error(result=wbc, user=nurse, reason="Wrong patient")
    evaluate(patient, date(2025, 3, 1))
    assert open_flag(patient, K.LEUKOPENIA) is None
    assert Flag.objects.get(kind=K.LEUKOPENIA).resolution == (
        "Evidence withdrawn: White blood cells 0.9 10^9/L collected 2025-03-01 was marked "
        "entered-in-error (Wrong patient)"
    )


def test_evaluating_twice_changes_nothing(patient, nurse):
    record(patient, nurse, date(2025, 3, 1), ANC="0.4", PLT="40")
    evaluate(patient, date(2025, 3, 1))
    before = list(Flag.objects.values_list("pk", "kind", "status", "ctcae_grade", "updated_at"))
    outcome = evaluate(patient, date(2025, 3, 1))
    assert (outcome.created, outcome.changed, outcome.resolved) == (0, 0, 0)
    assert (
        list(Flag.objects.values_list("pk", "kind", "status", "ctcae_grade", "updated_at"))
        == before
    )


def test_patient_leaving_maintenance_has_open_flags_resolved(patient, nurse):
    record(patient, nurse, date(2025, 3, 1), ANC="0.4")
    evaluate(patient, date(2025, 3, 1))
    patient.status = "off_therapy"
    patient.save()
    evaluate(patient, date(2025, 3, 2))
    flag = Flag.objects.get(kind=K.NEUTROPENIA)
    assert (
        flag.status == "resolved"
        and flag.resolution == "Patient is no longer on maintenance (Off therapy)."
    )


# --- CBC schedule with a real course (start 2025-01-06; cycle 3 starts 2025-03-03) ----------


def test_cbc_in_cycle_2_is_due_14_days_later_even_when_that_falls_in_cycle_3(
    patient, nurse, course
):
    cbc(patient, nurse, date(2025, 2, 24))  # cycle 2 day 22
    evaluate(patient, date(2025, 3, 13))  # due 03-10, grace 3 days
    assert open_flag(patient, K.CBC_OVERDUE) is None
    status = MonitoringStatus.objects.get(patient=patient)
    assert (status.cbc_phase, status.cbc_due_on) == ("early", date(2025, 3, 10))
    evaluate(patient, date(2025, 3, 14))
    flag = open_flag(patient, K.CBC_OVERDUE)
    assert flag.due_on == date(2025, 3, 10) and flag.severity == Flag.Severity.ATTENTION
    assert "every 14 days in cycles 1-2" in flag.message


def test_cbc_in_cycle_3_is_due_28_days_later_and_its_arrival_resolves_the_overdue_flag(
    patient, nurse, course
):
    cbc(patient, nurse, date(2025, 2, 24))
    evaluate(patient, date(2025, 3, 14))
    assert open_flag(patient, K.CBC_OVERDUE) is not None
    (anc, *_) = cbc(patient, nurse, date(2025, 3, 14))  # cycle 3 day 12
    evaluate(patient, date(2025, 3, 14))
    resolved = Flag.objects.get(kind=K.CBC_OVERDUE)
    assert (
        resolved.status == "resolved"
        and resolved.resolution == "Complete CBC collected 2025-03-14."
    )
    status = MonitoringStatus.objects.get(patient=patient)
    assert (status.cbc_phase, status.cbc_due_on) == ("standard", date(2025, 4, 11))
    evaluate(patient, date(2025, 4, 14))
    assert open_flag(patient, K.CBC_OVERDUE) is None
    evaluate(patient, date(2025, 4, 15))
    assert open_flag(patient, K.CBC_OVERDUE) is not None


def test_hold_for_cytopenia_switches_to_weekly_cbcs(patient, nurse, physician, course):
    from therapy import services as therapy_services

    cbc(patient, nurse, date(2025, 3, 20), anc="0.4")
    therapy_services.hold_start(
        course=course, user=physician, start_date=date(2025, 3, 21), reason="neutropenia"
    )
    evaluate(patient, date(2025, 3, 30))  # due 03-27, overdue after 03-30
    assert MonitoringStatus.objects.get(patient=patient).cbc_phase == "held_cytopenia"
    assert open_flag(patient, K.CBC_OVERDUE) is None
    evaluate(patient, date(2025, 3, 31))
    flag = open_flag(patient, K.CBC_OVERDUE)
    assert (
        flag.severity == Flag.Severity.URGENT
        and "weekly while lenalidomide is held" in flag.message
    )


# --- Hold guidance and therapy suggestions ---------------------------------------------------


def test_low_counts_on_lenalidomide_recommend_a_hold_and_raise_a_therapy_suggestion(
    patient, nurse, course
):
    from therapy.models import DoseSuggestion

    cbc(patient, nurse, date(2025, 2, 10), anc="0.4", plt="150")
    evaluate(patient, date(2025, 2, 10))
    flag = open_flag(patient, K.HOLD_RECOMMENDED)
    suggestion = DoseSuggestion.objects.get(patient=patient, kind="hold", status="pending")
    assert flag.dose_suggestion_id == suggestion.pk
    assert flag.rule_id == "dosing.hematologic_dose_guidance"
    assert "Interrupt lenalidomide" in flag.message and flag.severity == Flag.Severity.URGENT
    evaluate(patient, date(2025, 2, 10))
    assert DoseSuggestion.objects.filter(patient=patient, kind="hold").count() == 1


def test_counts_recovering_before_a_decision_withdraw_the_hold_suggestion(patient, nurse, course):
    from therapy.models import DoseSuggestion

    cbc(patient, nurse, date(2025, 2, 10), anc="0.4")
    evaluate(patient, date(2025, 2, 10))
    cbc(patient, nurse, date(2025, 2, 14), anc="1.6")
    evaluate(patient, date(2025, 2, 14))
    assert Flag.objects.get(kind=K.HOLD_RECOMMENDED).status == "resolved"
    assert DoseSuggestion.objects.get(patient=patient, kind="hold").status == "withdrawn"


def test_recovered_counts_during_a_cytopenia_hold_suggest_resuming_lower(
    patient, nurse, physician, course
):
    from therapy import services as therapy_services
    from therapy.models import DoseSuggestion

    cbc(patient, nurse, date(2025, 2, 10), anc="0.4")
    therapy_services.hold_start(
        course=course, user=physician, start_date=date(2025, 2, 11), reason="neutropenia"
    )
    evaluate(patient, date(2025, 2, 11))
    assert open_flag(patient, K.HOLD_RECOMMENDED) is None  # already held
    cbc(patient, nurse, date(2025, 2, 18), anc="1.2")
    evaluate(patient, date(2025, 2, 18))
    evaluate(patient, date(2025, 2, 18))
    suggestion = DoseSuggestion.objects.get(patient=patient, kind="resume_lower", status="pending")
    assert "resume at 5 mg" in suggestion.message


def test_a_resume_is_not_suggested_from_a_platelet_count_older_than_the_hold(
    patient, nurse, physician, course
):
    from therapy import services as therapy_services
    from therapy.models import DoseSuggestion

    record(patient, nurse, date(2025, 2, 10), ANC="1.4", PLT="22")  # grade 4 thrombocytopenia
    therapy_services.hold_start(
        course=course, user=physician, start_date=date(2025, 2, 11), reason="thrombocytopenia"
    )
    record(patient, nurse, date(2025, 2, 18), ANC="1.6")  # ANC only: platelets not redrawn
    evaluate(patient, date(2025, 2, 18))
    assert not DoseSuggestion.objects.filter(patient=patient, kind="resume_lower").exists()
    record(patient, nurse, date(2025, 2, 19), ANC="1.6", PLT="80")  # one draw shows recovery
    evaluate(patient, date(2025, 2, 19))
    assert DoseSuggestion.objects.filter(
        patient=patient, kind="resume_lower", status="pending"
    ).exists()


# --- Renal, progression, REMS ------------------------------------------------------------------


def test_crcl_crossing_a_band_asks_for_a_renal_dose_review_naming_weight_and_creatinine(
    patient, nurse, course
):
    from therapy.models import DoseSuggestion

    WeightFactory(patient=patient, measured_on=date(2025, 1, 2), weight_kg=Decimal("80.0"))
    record(patient, nurse, date(2025, 2, 1), CREAT="1.0")
    evaluate(patient, date(2025, 2, 1))
    assert open_flag(patient, K.RENAL_DOSE_REVIEW) is None
    record(patient, nurse, date(2025, 3, 1), CREAT="177", units={"CREAT": "umol/L"})
    evaluate(patient, date(2025, 3, 1))
    flag = open_flag(patient, K.RENAL_DOSE_REVIEW)
    assert "normal to moderate" in flag.message
    assert (
        "weight 80 kg of 2025-01-02" in flag.message
        and "creatinine 2 mg/dL on 2025-03-01" in flag.message
    )
    assert flag.values["current"]["weight_kg"] == "80" and flag.values["previous_band"] == "normal"
    assert DoseSuggestion.objects.filter(patient=patient, kind="renal_dose_review").exists()


def test_m_protein_rising_from_its_nadir_flags_possible_progression_and_emails_the_team(
    patient, nurse, physician
):
    physician.email = "paul@example.org"
    physician.save()
    record(patient, nurse, date(2025, 1, 1), SPEP_M="1.2")
    record(patient, nurse, date(2025, 4, 1), SPEP_M="0.4")
    record(patient, nurse, date(2025, 7, 1), SPEP_M="0.8")
    evaluate(patient, date(2025, 7, 1))
    assert open_flag(patient, K.POSSIBLE_PROGRESSION) is None  # +0.4 g/dL: below 0.5
    record(patient, nurse, date(2025, 10, 1), SPEP_M="0.9")
    evaluate(patient, date(2025, 10, 1))
    flag = open_flag(patient, K.POSSIBLE_PROGRESSION)
    assert flag.rule_id == "imwg.progression" and "nadir 0.4" in flag.message
    note = Notification.objects.get(flag=flag)
    assert note.recipient == "paul@example.org" and "Possible progression" in note.subject


def test_response_labs_fall_due_three_months_after_the_last(patient, nurse, course):
    record(patient, nurse, date(2025, 1, 6), SPEP_M="0.3")
    evaluate(patient, date(2025, 4, 5))
    assert open_flag(patient, K.RESPONSE_LABS_DUE) is None
    evaluate(patient, date(2025, 4, 6))
    assert open_flag(patient, K.RESPONSE_LABS_DUE).due_on == date(2025, 4, 6)


@pytest.fixture
def woman(clinic_a, physician, regimen):
    from tests.monitoring.conftest import start_course
    from therapy.models import RemsEnrollment

    woman = PatientFactory(
        clinic=clinic_a,
        sex_at_birth="female",
        date_of_birth=date(1985, 2, 2),
        reproductive_potential="can_become_pregnant",
        menses_in_past_24_months=True,
        menses_regular=True,
    )
    RemsEnrollment.objects.create(
        patient=woman,
        patient_risk_category="fcbp_adult",
        enrolled_on=date(2024, 12, 1),
        agreement_signed_on=date(2024, 12, 1),
        rems_patient_id="RP-2",
        prescriber_name="Paul Physician",
        prescriber_enrollment_id="PE-77",
        prescriber_certification_expires_on=date(2030, 1, 1),
    )
    start_course(woman, physician, regimen)
    return woman


def test_pregnancy_test_due_is_flagged_and_a_negative_test_clears_it(woman, nurse):
    evaluate(woman, date(2025, 1, 8))
    flag = open_flag(woman, K.PREGNANCY_TEST_DUE)
    assert flag.severity == Flag.Severity.URGENT and "Pregnancy test overdue" in flag.message
    assert open_flag(woman, K.REMS_ACTION_NEEDED) is not None  # no authorization yet
    record(woman, nurse, date(2025, 1, 8), HCG_SERUM_QUAL="negative")
    evaluate(woman, date(2025, 1, 8))
    assert open_flag(woman, K.PREGNANCY_TEST_DUE) is None


def test_a_positive_pregnancy_test_raises_a_critical_flag_and_emails_the_care_team(
    woman, nurse, physician
):
    from monitoring.models import Notification

    physician.email = "physician.a@clinic.example"
    physician.save()
    record(woman, nurse, date(2025, 1, 6), HCG_SERUM_QUAL="negative")
    record(woman, nurse, date(2025, 1, 13), HCG_SERUM_QUAL="positive")
    evaluate(woman, date(2025, 1, 13))
    flag = open_flag(woman, K.PREGNANCY_TEST_POSITIVE)
    assert flag.severity == Flag.Severity.CRITICAL
    assert "lenalidomide must be stopped now" in flag.message
    assert "boxed warning" in flag.basis
    assert Notification.objects.filter(flag=flag).exists()
    evaluate(woman, date(2025, 1, 13))  # idempotent: one open flag, one notification
    assert Flag.objects.filter(patient=woman, kind=K.PREGNANCY_TEST_POSITIVE).count() == 1
    assert Notification.objects.filter(flag=flag).count() == 1


def test_a_later_negative_test_resolves_the_positive_pregnancy_flag(woman, nurse):
    record(woman, nurse, date(2025, 1, 13), HCG_SERUM_QUAL="positive")
    evaluate(woman, date(2025, 1, 13))
    record(woman, nurse, date(2025, 1, 15), HCG_SERUM_QUAL="negative")
    evaluate(woman, date(2025, 1, 15))
    assert open_flag(woman, K.PREGNANCY_TEST_POSITIVE) is None
    resolved = Flag.objects.get(patient=woman, kind=K.PREGNANCY_TEST_POSITIVE)
    assert resolved.resolution == "A later pregnancy test is negative."
