"""The selector contract the monitoring app codes against, and its pinned query counts."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from patients.rulebook import Finding
from tests.factories import DiagnosisFactory, PatientFactory, TransplantFactory
from tests.therapy.conftest import START, start_course
from therapy import dosing, selectors, services
from therapy.models import Regimen, RemsAuthorization, RemsEnrollment

pytestmark = pytest.mark.django_db


def test_course_snapshot_reports_cycle_day_and_dosing_day(course, patient):
    snap = selectors.course_snapshots([patient.pk], as_of=START + timedelta(days=21))[patient.pk]
    assert (snap.cycle, snap.day, snap.is_dosing_day, snap.on_hold) == (1, 22, False, False)
    assert snap.current_level == dosing.LEVEL_10_21
    assert snap.includes_lenalidomide and snap.regimen_name.startswith("Lenalidomide 10 mg")
    assert snap.course_id == course.pk and snap.start_date == START


def test_course_snapshot_on_a_cytopenia_hold_has_no_cycle_day(course, patient, physician):
    services.hold_start(
        course=course,
        user=physician,
        start_date=START + timedelta(days=5),
        reason="thrombocytopenia",
    )
    snap = selectors.course_snapshots([patient.pk], as_of=START + timedelta(days=8))[patient.pk]
    assert snap.on_hold and snap.held_for_cytopenia and snap.day is None
    assert not snap.is_dosing_day


def test_holds_move_the_next_cycle_and_dose_changes_apply_from_their_date(
    course, patient, physician
):
    hold = services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=10), reason="neutropenia"
    )
    services.hold_end(
        hold=hold,
        user=physician,
        end_date=START + timedelta(days=17),
        resume_level=dosing.LEVEL_5_21,
    )
    before = selectors.course_snapshots([patient.pk], as_of=START + timedelta(days=16))[patient.pk]
    after = selectors.course_snapshots([patient.pk], as_of=START + timedelta(days=35))[patient.pk]
    assert before.current_level == dosing.LEVEL_10_21
    assert after.current_level == dosing.LEVEL_5_21
    # Calendar day 36, minus 7 days on hold: 28 days counted, so cycle 2 starts today.
    assert (after.cycle, after.day) == (2, 1)


def test_snapshots_leave_out_discontinued_courses_and_courses_not_yet_started(
    course, patient, physician
):
    assert selectors.course_snapshots([patient.pk], as_of=START - timedelta(days=1)) == {}
    services.course_discontinue(
        course=course, user=physician, discontinued_on=START + timedelta(days=3), reason="toxicity"
    )
    assert selectors.course_snapshots([patient.pk], as_of=START + timedelta(days=5)) == {}
    assert selectors.active_course_for(patient) is None


def test_an_alternative_regimen_doses_on_its_own_days(patient, physician, enrolled):
    start_course(patient, physician, Regimen.objects.get(code="ixazomib"))
    days = {
        n: selectors.course_snapshots([patient.pk], as_of=START + timedelta(days=n - 1))[patient.pk]
        for n in (1, 2, 8, 15, 16)
    }
    assert [days[n].is_dosing_day for n in (1, 2, 8, 15, 16)] == [True, False, True, True, False]
    assert days[1].current_level is None and not days[1].includes_lenalidomide


def _cohort(clinic, size):
    ids = []
    physician_user = None
    regimen = Regimen.objects.get(code="len-10-d1-28")
    from django.contrib.auth import get_user_model

    physician_user = get_user_model().objects.get(username="physician.a")
    for _ in range(size):
        p = PatientFactory(clinic=clinic)
        DiagnosisFactory(patient=p)
        TransplantFactory(patient=p)
        RemsEnrollment.objects.create(
            patient=p,
            patient_risk_category="male_adult",
            enrolled_on=START,
            agreement_signed_on=START,
        )
        c = start_course(p, physician_user, regimen, justification="cohort")
        services.hold_start(
            course=c,
            user=physician_user,
            start_date=START + timedelta(days=3),
            end_date=START + timedelta(days=6),
            reason="infection",
        )
        RemsAuthorization.objects.create(
            patient=p,
            authorization_number="X1",
            obtained_on=START,
            days_supply=28,
            expires_on=START + timedelta(days=29),
            patient_risk_category="male_adult",
        )
        ids.append(p.pk)
    return ids


@pytest.mark.parametrize("size", [5, 50])
def test_course_snapshots_take_three_queries_whatever_the_batch(
    size, clinic_a, physician, django_assert_num_queries
):
    ids = _cohort(clinic_a, size)
    with django_assert_num_queries(3):
        snaps = selectors.course_snapshots(ids, as_of=START + timedelta(days=40))
    assert len(snaps) == size


@pytest.mark.parametrize("size", [5, 50])
def test_rems_states_take_two_queries_for_one_clinic_whatever_the_batch(
    size, clinic_a, physician, django_assert_num_queries
):
    ids = _cohort(clinic_a, size)
    with django_assert_num_queries(2):  # patients with annotations; rule settings of the clinic
        states = selectors.rems_states(ids, as_of=START + timedelta(days=10))
    assert len(states) == size
    assert all(s.status.outcome in ("compliant", "action_needed") for s in states.values())


def test_therapy_events_are_one_ordered_list(course, patient, physician):
    hold = services.hold_start(
        course=course,
        user=physician,
        start_date=START + timedelta(days=10),
        reason="neutropenia",
        note="ANC 0.4",
    )
    services.hold_end(
        hold=hold,
        user=physician,
        end_date=START + timedelta(days=17),
        resume_level=dosing.LEVEL_5_21,
    )
    services.course_discontinue(
        course=course,
        user=physician,
        discontinued_on=START + timedelta(days=90),
        reason="progression",
    )
    events = selectors.therapy_events(patient)
    assert [e.kind for e in events] == [
        "start",
        "hold_start",
        "hold_end",
        "dose_change",
        "discontinuation",
    ]
    assert events[0].dose_mg == 10 and events[3].dose_mg == 5
    assert "10 mg days 1-21 of 28 -> 5 mg days 1-21 of 28" in events[3].label
    assert events[1].detail == "ANC 0.4"
    assert events[4].label == "Discontinued: Progression"


def test_pending_suggestions_are_those_still_undecided(course, patient):
    finding = Finding("dosing.hematologic_dose_guidance", "hold", "Interrupt lenalidomide")
    services.dose_suggestion_raise(
        patient=patient,
        course=course,
        kind="hold",
        finding=finding,
        evidence=[],
        as_of=date(2024, 10, 1),
    )
    assert [s.kind for s in selectors.pending_suggestions([patient.pk])] == ["hold"]
    services.dose_suggestion_withdraw(patient=patient, kind="hold", reason="counts recovered")
    assert not selectors.pending_suggestions([patient.pk]).exists()


def test_therapy_dates_coming_gives_the_first_fact_dated_later_and_what_it_is(
    course, patient, physician
):
    services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=10), reason="neutropenia"
    )
    hold = course.holds.get()
    services.hold_end(hold=hold, user=physician, end_date=START + timedelta(days=20))
    coming = selectors.therapy_dates_coming
    assert coming([patient.pk], after=START + timedelta(days=9)) == {
        patient.pk: (START + timedelta(days=10), "hold starts")
    }
    # On the start day itself it counts already: the next is the hold's end.
    assert coming([patient.pk], after=START + timedelta(days=10))[patient.pk][1] == "hold ends"
    assert coming([patient.pk], after=START + timedelta(days=20)) == {}


def test_therapy_dates_coming_is_one_query(course, patient, django_assert_num_queries):
    with django_assert_num_queries(1):
        selectors.therapy_dates_coming([patient.pk], after=START)


def test_courses_with_history_loads_what_select_related_and_the_prefetches_load_in_one_query(
    course, patient, physician, django_assert_num_queries
):
    from django.db.models import Prefetch
    from django.utils import timezone

    from therapy.models import DoseChange, Hold, MaintenanceCourse

    services.dose_change(
        course=course,
        user=physician,
        level=dosing.LEVEL_5_21,
        effective_from=START + timedelta(days=60),
        reason="hematologic_toxicity",
    )
    services.hold_start(
        course=course,
        user=physician,
        start_date=START + timedelta(days=10),
        end_date=START + timedelta(days=20),
        reason="neutropenia",
    )
    wrong = services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=30), reason="other"
    )
    Hold.objects.filter(pk=wrong.pk).update(entered_in_error_at=timezone.now())
    expected = list(
        MaintenanceCourse.objects.valid()
        .filter(patient=patient)
        .select_related("regimen")
        .prefetch_related(
            Prefetch("holds", queryset=Hold.objects.valid().order_by("start_date", "pk")),
            Prefetch(
                "dose_changes",
                queryset=DoseChange.objects.valid().order_by("effective_from", "pk"),
            ),
        )
    )

    def fields(row):
        return {k: v for k, v in vars(row).items() if k != "_state"}

    with django_assert_num_queries(1):
        (read,) = selectors.courses_with_history(patient)
        holds, changes = list(read.holds.all()), list(read.dose_changes.all())
        assert all(row.course is read for row in (*holds, *changes))
        assert fields(read.regimen) == fields(expected[0].regimen)
    assert {k: v for k, v in fields(read).items() if k != "_prefetched_objects_cache"} == {
        k: v for k, v in fields(expected[0]).items() if k != "_prefetched_objects_cache"
    }
    assert [fields(h) for h in holds] == [fields(h) for h in expected[0].holds.all()]
    assert [fields(c) for c in changes] == [fields(c) for c in expected[0].dose_changes.all()]
    assert len(holds) == len(changes) == 1
    assert changes[0].to_dose_mg == changes[0].to_level.dose_mg == dosing.LEVEL_5_21.dose_mg
    assert str(changes[0].from_dose_mg) == str(expected[0].dose_changes.all()[0].from_dose_mg)


def test_course_snapshots_read_as_tuples_are_the_snapshots_of_the_course_models(
    course, patient, physician
):
    hold = services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=10), reason="neutropenia"
    )
    services.hold_end(
        hold=hold,
        user=physician,
        end_date=START + timedelta(days=17),
        resume_level=dosing.LEVEL_5_21,
    )
    services.hold_start(
        course=course, user=physician, start_date=START + timedelta(days=40), reason="infection"
    )
    for days in (0, 12, 17, 30, 41, 60):
        as_of = START + timedelta(days=days)
        [model] = [c for c in selectors.courses_with_history(patient) if c.pk == course.pk]
        expected = selectors.snapshot_of(model, as_of=as_of)
        [got] = selectors.course_snapshots([patient.pk], as_of=as_of).values()
        # The calendar is an object of its own: the same days, from the same facts.
        assert replace(got, calendar=None) == replace(expected, calendar=None)
        days = [START + timedelta(days=n) for n in range(90)]
        assert [got.calendar.day(d) for d in days] == [expected.calendar.day(d) for d in days]
    assert expected.on_hold and not expected.held_for_cytopenia
    assert len(expected.cytopenia_holds) == 1


def test_rems_states_read_as_tuples_are_the_states_of_the_patient_models(
    clinic_a, physician, patient, enrolled
):
    from therapy.selectors import rems

    woman = PatientFactory(
        clinic=clinic_a, sex_at_birth="female", date_of_birth=date(2010, 6, 1), menses_regular=None
    )
    ids = [*_cohort(clinic_a, 4), patient.pk, woman.pk]
    as_of = START + timedelta(days=10)
    from_models = rems._states_of(list(rems._rems_rows(ids, as_of=as_of)), as_of=as_of)
    assert selectors.rems_states(ids, as_of=as_of) == from_models
    assert from_models[woman.pk].risk_category is None
    assert from_models[woman.pk].changes  # the suggested category turns adult later
    assert from_models[patient.pk].risk_category is not None
