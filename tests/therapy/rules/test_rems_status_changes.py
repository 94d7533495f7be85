"""rems_rules.status_changes: the days the REMS status changes with nothing new recorded
(the monitoring sweep's next review). Pinned on examples from the rule settings (7-day
FCBP authorization, expiring 3 days ahead; pregnancy tests weekly in the first 4 weeks,
due soon 3 days ahead; surveys every 30 days for other categories; certification
expiring 30 days ahead), then checked day by day against ``rems_status`` itself."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from therapy.rems_rules import RemsSnapshot, RiskCategory, rems_status, status_changes

AS_OF = date(2025, 3, 10)


def fcbp(**changes) -> RemsSnapshot:
    values = {
        "risk_category": RiskCategory.FCBP_ADULT,
        "enrolled_on": date(2025, 1, 1),
        "agreement_signed": True,
        "authorization_obtained_on": date(2025, 3, 10),  # valid through 16 March
        "last_survey_on": date(2025, 3, 9),
        "prescriber_certification_expires_on": date(2026, 1, 31),
        "therapy_start": date(2025, 3, 3),
        "last_negative_pregnancy_test": date(2025, 3, 9),  # week 1: next due 16 March
    }
    return RemsSnapshot(**{**values, **changes})


def test_an_fcbp_patient_changes_when_the_test_is_due_soon_and_the_authorization_expiring():
    assert status_changes(fcbp(), as_of=AS_OF) == (
        (date(2025, 3, 13), "authorization expiring"),  # 16 March - 3 days
        (date(2025, 3, 13), "pregnancy test due"),  # due 16 March, due soon from the 13th
        (date(2025, 3, 17), "authorization expired"),
        (date(2025, 3, 17), "pregnancy test overdue"),
        (date(2026, 1, 1), "prescriber certification expiring"),  # 31 January - 30 days
        (date(2026, 2, 1), "prescriber certification expired"),
    )
    actions = [rems_status(fcbp(), as_of=on).values["actions"] for on in _days(12, 13, 16, 17)]
    assert actions == [
        [],
        # A new authorization is needed and no survey since this one: survey due (FCBP).
        ["authorization_expiring", "survey_due", "pregnancy_test_due"],
        ["authorization_expiring", "survey_due", "pregnancy_test_due"],
        ["authorization_expired", "survey_due", "pregnancy_test_overdue"],
    ]


def test_another_category_changes_when_the_survey_is_due():
    snapshot = fcbp(
        risk_category=RiskCategory.MALE_ADULT,
        authorization_obtained_on=date(2025, 3, 1),  # valid 30 days, through 30 March
        last_survey_on=date(2025, 2, 20),  # due 30 days later, 22 March
        therapy_start=None,
        last_negative_pregnancy_test=None,
    )
    assert status_changes(snapshot, as_of=AS_OF)[:3] == (
        (date(2025, 3, 22), "survey due"),
        (date(2025, 3, 27), "authorization expiring"),
        (date(2025, 3, 31), "authorization expired"),
    )
    survey = [
        "survey_due" in rems_status(snapshot, as_of=on).values["actions"]
        for on in _days(21, 22, 23)
    ]
    assert survey == [False, True, True]


def test_dates_already_past_are_left_out():
    assert all(on > date(2025, 3, 20) for on, _ in status_changes(fcbp(), as_of=date(2025, 3, 20)))


def _days(*days_of_march):
    return [date(2025, 3, day) for day in days_of_march]


dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 6, 30))


@settings(max_examples=150, deadline=None)
@given(
    category=st.sampled_from(
        [RiskCategory.FCBP_ADULT, RiskCategory.FNCBP_ADULT, RiskCategory.MALE_ADULT]
    ),
    obtained=st.none() | dates,
    survey=st.none() | dates,
    certification=st.none() | dates,
    start=st.none() | dates,
    test=st.none() | dates,
    regular=st.booleans(),
)
def test_the_status_changes_exactly_on_the_dates_given(
    category, obtained, survey, certification, start, test, regular
):
    snapshot = RemsSnapshot(
        risk_category=category,
        enrolled_on=date(2025, 1, 1),
        agreement_signed=True,
        authorization_obtained_on=obtained,
        last_survey_on=survey,
        prescriber_certification_expires_on=certification,
        therapy_start=start,
        last_negative_pregnancy_test=test,
        menses_regular=regular,
    )
    as_of = date(2025, 3, 1)
    given_days = {on for on, _ in status_changes(snapshot, as_of=as_of)}
    horizon = [as_of + timedelta(days=n) for n in range(200)]
    actions = [rems_status(snapshot, as_of=on).values["actions"] for on in horizon]
    changed = {
        on
        for on, before, now in zip(horizon[1:], actions, actions[1:], strict=False)
        if before != now
    }
    # Never a change on a day not given (too late a review would miss it)...
    assert changed <= given_days
    # ...and the first day given is a real change (not a review for nothing).
    if given_days and min(given_days) <= horizon[-1]:
        assert min(given_days) in changed
