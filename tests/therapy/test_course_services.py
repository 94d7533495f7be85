"""Course services: start, dose change, hold, resume, discontinue, correct — and every
refusal with its exact words, leaving nothing half-saved."""

from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from patients.errors import DomainError
from patients.models import Patient
from tests.therapy.conftest import START, start_course
from therapy import dosing, errors, services
from therapy.dosing import DoseLevel
from therapy.models import DoseChange, Hold, MaintenanceCourse, Regimen

pytestmark = pytest.mark.django_db
D = Decimal


def test_starting_a_course_freezes_the_checklist_and_records_the_starting_level(course, physician):
    assert course.status == "active"
    assert course.current_level == dosing.LEVEL_10_21
    assert course.started_by == physician
    items = {i["item_id"]: i for i in course.eligibility_snapshot["items"]}
    assert items["rems_enrollment"]["status"] == "pass"
    assert items["anc"]["status"] == "unknown"  # no labs yet: unknown, never pass
    assert items["anc"]["thresholds"][0]["version"] == 1
    assert course.history.first().history_user == physician


def test_a_second_active_course_is_refused(course, patient, physician, regimen_10_28):
    with pytest.raises(DomainError) as raised:
        start_course(patient, physician, regimen_10_28, start=START + timedelta(days=3))
    assert raised.value.message == errors.COURSE_ALREADY_ACTIVE.format(start=START)
    assert MaintenanceCourse.objects.filter(patient=patient).count() == 1


def test_the_database_allows_one_active_course_per_patient(course, patient, regimen_10_28):
    with pytest.raises(IntegrityError), transaction.atomic():
        MaintenanceCourse.objects.create(
            patient=patient, regimen=regimen_10_28, start_date=START, vte_prophylaxis="doac"
        )


def test_a_failed_item_needs_a_written_justification(patient, physician, regimen_10_21, labs):
    labs.add(patient, "ANC", "0.8", START)  # below the label minimum of 1.0: fail
    with pytest.raises(DomainError) as raised:
        start_course(patient, physician, regimen_10_21, justification="")
    assert raised.value.message.startswith(errors.JUSTIFICATION_REQUIRED.split("(")[0])
    assert "Absolute neutrophil count (fail)" in raised.value.message
    assert not MaintenanceCourse.objects.exists()
    course = start_course(patient, physician, regimen_10_21, justification="Discussed; recovering")
    assert course.start_justification == "Discussed; recovering"
    statuses = {i["item_id"]: i["status"] for i in course.eligibility_snapshot["items"]}
    assert statuses["anc"] == "fail" and statuses["rems_enrollment"] == "fail"


def test_results_that_could_not_be_checked_also_need_a_justification(
    patient, physician, enrolled, regimen_10_21
):
    # No ANC, platelets or creatinine on file: "unknown" is never a silent pass.
    with pytest.raises(DomainError) as raised:
        start_course(patient, physician, regimen_10_21, justification="")
    assert "Absolute neutrophil count (unknown)" in raised.value.message
    assert "Platelets (unknown)" in raised.value.message
    assert not MaintenanceCourse.objects.exists()


def test_a_starting_dose_off_the_ladder_is_refused(patient, physician, enrolled, regimen_10_21):
    with pytest.raises(DomainError) as raised:
        start_course(patient, physician, regimen_10_21, dose_level=DoseLevel(D("7.5"), 21))
    assert raised.value.message == errors.DOSE_NOT_ON_LADDER.format(
        dose="7.5 mg days 1-21 of 28", levels=services._levels_text()
    )


def test_a_renal_start_at_2_5_mg_is_selectable(patient, physician, enrolled, regimen_10_28):
    course = start_course(patient, physician, regimen_10_28, dose_level=dosing.LEVEL_2_5_28)
    assert course.current_level == dosing.LEVEL_2_5_28


def test_no_prophylaxis_needs_a_reason(patient, physician, enrolled, regimen_10_21):
    with pytest.raises(DomainError) as raised:
        services.course_start(
            patient=patient,
            user=physician,
            regimen=regimen_10_21,
            start_date=START,
            vte_prophylaxis="none",
        )
    assert raised.value.message == errors.NO_PROPHYLAXIS_REASON_REQUIRED


def test_aspirin_outside_81_to_325_mg_is_refused(patient, physician, enrolled, regimen_10_21):
    with pytest.raises(DomainError) as raised:
        services.course_start(
            patient=patient,
            user=physician,
            regimen=regimen_10_21,
            start_date=START,
            vte_prophylaxis="aspirin",
            aspirin_dose_mg=500,
        )
    assert raised.value.message == errors.ASPIRIN_DOSE_RANGE.format(value=500)


def test_starting_moves_an_awaiting_patient_to_active(patient, physician, enrolled, regimen_10_21):
    Patient.objects.filter(pk=patient.pk).update(status="pre_maintenance")
    start_course(patient, physician, regimen_10_21)
    assert Patient.objects.get(pk=patient.pk).status == "active"


def test_an_alternative_regimen_has_no_lenalidomide_level(patient, physician, enrolled):
    ixazomib = Regimen.objects.get(code="ixazomib")
    course = start_course(patient, physician, ixazomib)
    assert course.current_level is None


# --- Dose changes -------------------------------------------------------------------------


def test_a_dose_change_records_from_and_to_and_moves_the_current_level(course, physician):
    change = services.dose_change(
        course=course,
        user=physician,
        level=dosing.LEVEL_5_21,
        effective_from=START + timedelta(days=60),
        reason="hematologic_toxicity",
    )
    assert (change.from_level, change.to_level) == (dosing.LEVEL_10_21, dosing.LEVEL_5_21)
    course.refresh_from_db()
    assert course.current_level == dosing.LEVEL_5_21


def test_a_dose_not_on_the_ladder_is_refused_and_nothing_changes(course, physician):
    with pytest.raises(DomainError) as raised:
        services.dose_change(
            course=course,
            user=physician,
            level=DoseLevel(D("20"), 28),
            effective_from=START + timedelta(days=30),
            reason="other",
        )
    assert raised.value.message == errors.DOSE_NOT_ON_LADDER.format(
        dose="20 mg days 1-28 of 28", levels=services._levels_text()
    )
    assert not DoseChange.objects.exists()
    course.refresh_from_db()
    assert course.current_level == dosing.LEVEL_10_21


def test_a_dose_change_on_or_before_the_start_is_refused(course, physician):
    with pytest.raises(DomainError) as raised:
        services.dose_change(
            course=course,
            user=physician,
            level=dosing.LEVEL_5_21,
            effective_from=START - timedelta(days=1),
            reason="other",
        )
    assert raised.value.message == errors.DOSE_CHANGE_BEFORE_START.format(
        value=START - timedelta(days=1), start=START
    )


def test_dose_changes_are_recorded_in_order(course, physician):
    services.dose_change(
        course=course,
        user=physician,
        level=dosing.LEVEL_5_21,
        effective_from=START + timedelta(days=60),
        reason="other",
    )
    with pytest.raises(DomainError) as raised:
        services.dose_change(
            course=course,
            user=physician,
            level=dosing.LEVEL_10_21,
            effective_from=START + timedelta(days=30),
            reason="other",
        )
    assert raised.value.message == errors.DOSE_CHANGE_BEFORE_LAST.format(
        value=START + timedelta(days=30), last=START + timedelta(days=60)
    )


# --- Holds ------------------------------------------------------------------------------------


def test_a_hold_pauses_the_cycle_and_resuming_lower_changes_the_dose(course, physician):
    hold = services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=10), reason="neutropenia"
    )
    services.hold_end(
        hold=hold,
        user=physician,
        end_date=START + timedelta(days=17),
        resume_level=dosing.LEVEL_5_21,
    )
    hold.refresh_from_db()
    assert hold.end_date == START + timedelta(days=17)
    change = DoseChange.objects.get()
    assert change.effective_from == START + timedelta(days=17)
    assert change.to_level == dosing.LEVEL_5_21


def test_overlapping_holds_are_refused(course, physician):
    services.hold_start(
        course=course,
        user=physician,
        start_date=START + timedelta(days=10),
        end_date=START + timedelta(days=20),
        reason="infection",
    )
    with pytest.raises(DomainError) as raised:
        services.hold_start(
            course=course,
            user=physician,
            start_date=START + timedelta(days=15),
            reason="neutropenia",
        )
    assert raised.value.message == errors.HOLD_OVERLAPS.format(
        start=START + timedelta(days=15),
        end="open",
        other_start=START + timedelta(days=10),
        other_end=START + timedelta(days=20),
    )
    assert Hold.objects.count() == 1


def test_a_new_hold_while_one_is_open_is_refused(course, physician):
    services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=10), reason="neutropenia"
    )
    with pytest.raises(DomainError) as raised:
        services.hold_start(
            course=course, user=physician, start_date=START + timedelta(days=40), reason="infection"
        )
    assert raised.value.message.startswith("This hold (")
    assert Hold.objects.count() == 1


def test_a_hold_may_start_on_the_day_the_previous_one_ended(course, physician):
    services.hold_start(
        course=course,
        user=physician,
        start_date=START + timedelta(days=10),
        end_date=START + timedelta(days=20),
        reason="infection",
    )
    services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=20), reason="neutropenia"
    )
    assert Hold.objects.count() == 2


def test_a_hold_before_the_course_start_is_refused(course, physician):
    with pytest.raises(DomainError) as raised:
        services.hold_start(
            course=course, user=physician, start_date=START - timedelta(days=2), reason="other"
        )
    assert raised.value.message == errors.HOLD_BEFORE_START.format(
        value=START - timedelta(days=2), start=START
    )


def test_a_hold_end_on_or_before_its_start_is_refused(course, physician):
    hold = services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=5), reason="other"
    )
    with pytest.raises(DomainError) as raised:
        services.hold_end(hold=hold, user=physician, end_date=START + timedelta(days=5))
    assert raised.value.message == errors.HOLD_END_NOT_AFTER_START.format(
        end=START + timedelta(days=5), start=START + timedelta(days=5)
    )


# --- Discontinuation and corrections --------------------------------------------------------


def test_discontinuing_closes_the_hold_withdraws_suggestions_and_sets_off_therapy(
    course, physician, patient
):
    services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=10), reason="neutropenia"
    )
    services.course_discontinue(
        course=course, user=physician, discontinued_on=START + timedelta(days=30), reason="toxicity"
    )
    course.refresh_from_db()
    assert (course.status, course.discontinuation_reason) == ("discontinued", "toxicity")
    assert Hold.objects.get().end_date == START + timedelta(days=30)
    assert Patient.objects.get(pk=patient.pk).status == "off_therapy"


def test_a_discontinued_course_cannot_be_held_or_dosed(course, physician):
    ended = START + timedelta(days=30)
    services.course_discontinue(
        course=course, user=physician, discontinued_on=ended, reason="progression"
    )
    with pytest.raises(DomainError) as raised:
        services.hold_start(
            course=course, user=physician, start_date=START + timedelta(days=20), reason="other"
        )
    assert raised.value.message == errors.COURSE_DISCONTINUED.format(ended=ended)
    with pytest.raises(DomainError) as raised:
        services.dose_change(
            course=course,
            user=physician,
            level=dosing.LEVEL_5_21,
            effective_from=ended + timedelta(days=5),
            reason="other",
        )
    assert raised.value.message == errors.DOSE_CHANGE_AFTER_END.format(
        value=ended + timedelta(days=5), ended=ended
    )
    with pytest.raises(DomainError) as raised:
        services.hold_start(
            course=course, user=physician, start_date=ended + timedelta(days=1), reason="other"
        )
    assert raised.value.message == errors.HOLD_AFTER_END.format(
        value=ended + timedelta(days=1), ended=ended
    )


def test_discontinuation_before_the_start_is_refused(course, physician):
    with pytest.raises(DomainError) as raised:
        services.course_discontinue(
            course=course, user=physician, discontinued_on=START - timedelta(days=1), reason="other"
        )
    assert raised.value.message == errors.DISCONTINUE_BEFORE_START.format(
        value=START - timedelta(days=1), start=START
    )
    course.refresh_from_db()
    assert course.status == "active"


def test_a_discontinued_course_is_corrected_only_with_a_reason_kept_in_history(course, physician):
    services.course_discontinue(
        course=course, user=physician, discontinued_on=START + timedelta(days=30), reason="toxicity"
    )
    with pytest.raises(DomainError) as raised:
        services.course_correct(
            course=course,
            user=physician,
            data={"discontinuation_reason": "progression"},
            reason=" ",
        )
    assert raised.value.message == errors.CORRECTION_REASON_REQUIRED
    services.course_correct(
        course=course,
        user=physician,
        data={"discontinuation_reason": "progression"},
        reason="Progression confirmed by marrow",
    )
    course.refresh_from_db()
    assert course.discontinuation_reason == "progression"
    latest = course.history.first()
    assert latest.history_change_reason == "Correction: Progression confirmed by marrow"
    assert latest.history_user == physician


def test_an_active_course_is_not_changed_through_corrections(course, physician):
    with pytest.raises(DomainError) as raised:
        services.course_correct(course=course, user=physician, data={}, reason="x")
    assert raised.value.message == errors.COURSE_NOT_DISCONTINUED


def test_after_discontinuation_a_new_course_may_start(course, physician, patient, regimen_10_28):
    services.course_discontinue(
        course=course,
        user=physician,
        discontinued_on=START + timedelta(days=30),
        reason="patient_choice",
    )
    again = start_course(patient, physician, regimen_10_28, start=date(2025, 1, 6))
    assert again.is_active


def test_lab_age_is_counted_on_the_clinic_calendar_not_utc(patient, labs):
    from datetime import datetime

    from django.utils import timezone

    from therapy.selectors import eligibility_for

    labs.add(patient, "ANC", "2.0", date(2025, 3, 1))
    # 21:30 in New York on 31 March is already 1 April in UTC: 30 days, not 31, after the lab.
    evening = timezone.make_aware(datetime(2025, 3, 31, 21, 30)).astimezone(UTC)
    checklist = eligibility_for(patient, as_of=date(2025, 3, 31), prescription_at=evening)
    assert {i.item_id: i.status for i in checklist.items}["anc"] != "unknown"
