"""Lenalidomide REMS rules: who can become pregnant, pregnancy tests, authorizations.

Pure functions (shared clinical reference, sec. 5). The REMS exists to prevent
embryo-fetal exposure, so where an input is missing these rules lean to the protective
side and say so. Numbers a clinic may change are ``Threshold`` rows in ``DEFAULTS``.

Datetimes must be timezone-aware (the 24-hour pregnancy-test window is measured in real
elapsed time); naive datetimes raise ``ValueError``. Dates are the clinic's local dates.

Surveys (common, configurable): a female who can become pregnant completes a survey
before each prescription, so one is due whenever a new authorization is needed
(none, expiring or expired) and no survey was done since the last authorization. Other
categories: every ``rems.survey.other_interval_days`` days (30 by default; program
versions differ, monthly or every 6 months).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from patients.rulebook import Finding, SourceStatus, Threshold, in_force
from therapy.dosing import to_decimal

PI_PREGNANCY = (
    "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females of reproductive potential"
)
REMS_PROGRAM = "Lenalidomide REMS program (shared by Revlimid and generics)"

LABEL, COMMON = SourceStatus.LABEL, SourceStatus.COMMON

DEFAULTS: tuple[Threshold, ...] = tuple(
    Threshold(key, Decimal(value), unit, status, source)
    for key, value, unit, status, source in (
        ("rems.adult_age_years", "18", "years", COMMON, REMS_PROGRAM),
        ("rems.fcbp.menses_lookback_months", "24", "months", LABEL, PI_PREGNANCY),
        # Before the first prescription: one test 10-14 days before, one within 24 hours.
        ("rems.pretest.first_min_days_before", "10", "days", LABEL, PI_PREGNANCY),
        ("rems.pretest.first_max_days_before", "14", "days", LABEL, PI_PREGNANCY),
        ("rems.pretest.second_within_hours", "24", "hours", LABEL, PI_PREGNANCY),
        # "Sensitivity of at least 50 mIU/mL": the test detects hCG at 50 mIU/mL or lower.
        ("rems.pregnancy_test.max_detection_limit", "50", "mIU/mL", LABEL, PI_PREGNANCY),
        # During therapy: weekly for the first 4 weeks, then every 4 (regular menses) or
        # 2 weeks (irregular menses).
        ("rems.pregnancy_test.weekly_phase_days", "28", "days", LABEL, PI_PREGNANCY),
        ("rems.pregnancy_test.weekly_interval_days", "7", "days", LABEL, PI_PREGNANCY),
        ("rems.pregnancy_test.regular_interval_days", "28", "days", LABEL, PI_PREGNANCY),
        ("rems.pregnancy_test.irregular_interval_days", "14", "days", LABEL, PI_PREGNANCY),
        ("rems.pregnancy_test.due_soon_days", "3", "days", COMMON, REMS_PROGRAM),
        # Authorization numbers: 7 days for a female who can become pregnant, else 30.
        ("rems.authorization.fcbp_valid_days", "7", "days", COMMON, REMS_PROGRAM),
        ("rems.authorization.other_valid_days", "30", "days", COMMON, REMS_PROGRAM),
        ("rems.authorization.expiring_within_days", "3", "days", COMMON, REMS_PROGRAM),
        ("rems.prescription.max_days_supply", "28", "days", LABEL, REMS_PROGRAM),
        # Surveys for categories other than fcbp (program versions differ).
        ("rems.survey.other_interval_days", "30", "days", COMMON, REMS_PROGRAM),
        ("rems.prescriber_certification.expiring_within_days", "30", "days", COMMON, REMS_PROGRAM),
    )
)


def settings(thresholds: Mapping[str, Threshold] | None) -> dict[str, Threshold]:
    """The defaults with the caller's rule settings laid over them."""
    return in_force(DEFAULTS, thresholds)


def _days(t: Mapping[str, Threshold], key: str) -> timedelta:
    return timedelta(days=int(t[key].value))


SEXES = ("female", "male")


def _check_sex(sex_at_birth: str) -> None:
    if sex_at_birth not in SEXES:
        raise ValueError("sex_at_birth must be 'female' or 'male'")


# --- Who can become pregnant -------------------------------------------------------------


def can_become_pregnant(
    *,
    sex_at_birth: str,
    menses_in_past_24_months: bool | None,
    hysterectomy: bool,
    bilateral_oophorectomy: bool,
    amenorrhea_after_cancer_therapy: bool = False,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """Outcome "yes", "no" or "unknown" (label definition, reference sec. 5).

    A female can become pregnant if she has had menses in the past 24 consecutive months
    and has had neither a hysterectomy nor a bilateral oophorectomy. The label counts only
    *natural* menopause, so amenorrhea caused by cancer therapy does not rule it out.
    """
    _check_sex(sex_at_birth)
    lookback = settings(thresholds)["rems.fcbp.menses_lookback_months"]
    months = int(lookback.value)
    if sex_at_birth == "male":
        outcome, message = "no", "Male: cannot become pregnant"
    elif hysterectomy or bilateral_oophorectomy:
        outcome, message = "no", "Hysterectomy or bilateral oophorectomy"
    elif amenorrhea_after_cancer_therapy:
        outcome, message = "yes", "Amenorrhea after cancer therapy does not rule out pregnancy"
    elif menses_in_past_24_months is None:
        outcome = "unknown"
        message = (
            f"Menses in the past {months} months not recorded: treat as able to become pregnant"
        )
    elif menses_in_past_24_months:
        outcome, message = "yes", f"Menses in the past {months} months"
    else:
        outcome, message = "no", f"No menses for {months} consecutive months"
    return Finding(
        rule_id="rems.can_become_pregnant",
        outcome=outcome,
        message=message,
        values={
            "sex_at_birth": sex_at_birth,
            "menses_in_past_24_months": menses_in_past_24_months,
            "hysterectomy": hysterectomy,
            "bilateral_oophorectomy": bilateral_oophorectomy,
            "amenorrhea_after_cancer_therapy": amenorrhea_after_cancer_therapy,
        },
        thresholds=(lookback,),
        source=PI_PREGNANCY,
    )


# --- Risk categories ---------------------------------------------------------------------


class RiskCategory:
    FCBP_ADULT = "fcbp_adult"
    FCBP_CHILD = "fcbp_child"
    FNCBP_ADULT = "fncbp_adult"
    FNCBP_CHILD = "fncbp_child"
    MALE_ADULT = "male_adult"
    MALE_CHILD = "male_child"

    LABELS = {
        FCBP_ADULT: "Adult female who can become pregnant",
        FCBP_CHILD: "Female child who can become pregnant",
        FNCBP_ADULT: "Adult female who cannot become pregnant",
        FNCBP_CHILD: "Female child who cannot become pregnant",
        MALE_ADULT: "Adult male",
        MALE_CHILD: "Male child",
    }
    CHOICES = list(LABELS.items())
    CAN_BECOME_PREGNANT = (FCBP_ADULT, FCBP_CHILD)


def is_fcbp(risk_category: str) -> bool:
    if risk_category not in RiskCategory.LABELS:
        raise ValueError(f"unknown REMS risk category {risk_category!r}")
    return risk_category in RiskCategory.CAN_BECOME_PREGNANT


def surgery_rules_out_pregnancy(*, hysterectomy: bool, bilateral_oophorectomy: bool) -> str:
    """The recorded surgery that rules out pregnancy by the label's definition, or "".

    Label (reference sec. 5): a female who has had a hysterectomy or a bilateral
    oophorectomy cannot become pregnant, whatever her menses or age.
    """
    done = [
        name
        for name, recorded in (
            ("hysterectomy", hysterectomy),
            ("bilateral oophorectomy", bilateral_oophorectomy),
        )
        if recorded
    ]
    return " and ".join(done)


def suggest_risk_category(
    *,
    sex_at_birth: str,
    age_years: Decimal | int | str,
    can_become_pregnant: bool | None,
    hysterectomy: bool = False,
    bilateral_oophorectomy: bool = False,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """The REMS risk category to suggest; the prescriber confirms it at enrollment.

    A recorded hysterectomy or bilateral oophorectomy decides "cannot become pregnant"
    when childbearing potential has not been assessed (label definition). A female whose
    potential is neither assessed nor decided by a recorded surgery is suggested the "can
    become pregnant" category: the protective choice until it is documented. An assessment
    of "can become pregnant" that contradicts a recorded surgery keeps the protective
    category and says so, for the physician to resolve.
    """
    _check_sex(sex_at_birth)
    adult_age = settings(thresholds)["rems.adult_age_years"]
    age = to_decimal(age_years, "age_years")
    age_group = "adult" if age >= adult_age.value else "child"
    surgery = surgery_rules_out_pregnancy(
        hysterectomy=hysterectomy, bilateral_oophorectomy=bilateral_oophorectomy
    )
    decided_by_surgery = sex_at_birth == "female" and can_become_pregnant is None and surgery
    if sex_at_birth == "male":
        prefix = "male"
    elif can_become_pregnant is False or decided_by_surgery:
        prefix = "fncbp"
    else:
        prefix = "fcbp"
    category = f"{prefix}_{age_group}"
    message = RiskCategory.LABELS[category]
    source = REMS_PROGRAM
    if decided_by_surgery:
        message += (
            f" (recorded {surgery}: cannot become pregnant by the label's definition; "
            "the physician confirms at enrollment)"
        )
        source = f"{REMS_PROGRAM}; {PI_PREGNANCY}"
    elif sex_at_birth == "female" and can_become_pregnant is None:
        message += " (childbearing potential not documented: protective default)"
    elif sex_at_birth == "female" and can_become_pregnant and surgery:
        message += (
            f" (assessed as able to become pregnant, but a {surgery} is recorded: "
            "the physician reviews the record)"
        )
    return Finding(
        rule_id="rems.suggest_risk_category",
        outcome=category,
        message=message,
        values={
            "sex_at_birth": sex_at_birth,
            "age_years": age,
            "can_become_pregnant": can_become_pregnant,
            "hysterectomy": hysterectomy,
            "bilateral_oophorectomy": bilateral_oophorectomy,
        },
        thresholds=(adult_age,),
        source=source,
    )


# --- Pregnancy tests before the first prescription -------------------------------------


@dataclass(frozen=True)
class PregnancyTest:
    """One hCG test. ``collected_at`` (aware) is needed for the 24-hour window."""

    collected_on: date
    result: str  # "negative" | "positive"
    sensitivity_miu_ml: Decimal | None  # lowest hCG level the test detects
    collected_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.result not in ("negative", "positive"):
            raise ValueError("result must be 'negative' or 'positive'")
        if self.collected_at is not None:
            _require_aware(self.collected_at, "collected_at")
        if self.sensitivity_miu_ml is not None:
            sensitivity = to_decimal(self.sensitivity_miu_ml, "sensitivity_miu_ml")
            object.__setattr__(self, "sensitivity_miu_ml", sensitivity)


def _require_aware(moment: datetime, field_name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field_name} must be timezone-aware")


def pre_start_pregnancy_tests(
    *,
    tests: Sequence[PregnancyTest],
    prescription_at: datetime,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """Two negative tests before the first prescription (label).

    One collected 10-14 calendar days before the prescription date, one within the
    24 hours before the prescription time, each sensitive to 50 mIU/mL or better.
    Outcomes: "met"; "positive" (any positive test in the 14 days up to the prescription:
    do not prescribe); "not_met" with values["missing"] naming the window(s) still open.
    A test with unknown sensitivity, or without a collection time for the 24-hour window,
    does not count; values["unverified"] counts such negative tests.
    """
    _require_aware(prescription_at, "prescription_at")
    t = settings(thresholds)
    keys = (
        "rems.pretest.first_min_days_before",
        "rems.pretest.first_max_days_before",
        "rems.pretest.second_within_hours",
        "rems.pregnancy_test.max_detection_limit",
    )
    used = tuple(t[key] for key in keys)
    min_days, max_days = int(t[keys[0]].value), int(t[keys[1]].value)
    window = timedelta(hours=int(t[keys[2]].value))
    limit = t[keys[3]].value
    prescription_day = prescription_at.date()

    recent = [
        test
        for test in tests
        if 0 <= (prescription_day - test.collected_on).days <= max_days
        and (test.collected_at is None or test.collected_at <= prescription_at)
    ]
    positives = [test for test in recent if test.result == "positive"]
    negatives = [test for test in recent if test.result == "negative"]
    verified = [
        test
        for test in negatives
        if test.sensitivity_miu_ml is not None and test.sensitivity_miu_ml <= limit
    ]
    early = [
        test
        for test in verified
        if min_days <= (prescription_day - test.collected_on).days <= max_days
    ]
    late = [
        test
        for test in verified
        if test.collected_at is not None and prescription_at - test.collected_at <= window
    ]
    missing = []
    if not early:
        missing.append("test_10_14_days_before")
    if not late:
        missing.append("test_within_24_hours_before")
    values = {
        "prescription_at": prescription_at,
        "early_test_on": max((test.collected_on for test in early), default=None),
        "late_test_at": max((test.collected_at for test in late), default=None),
        "missing": missing,
        "unverified": len(negatives) - len(verified),
        "tests_considered": len(recent),
    }
    if positives:
        outcome = "positive"
        message = "Positive pregnancy test before the first prescription: do not prescribe"
    elif missing:
        outcome = "not_met"
        words = {
            "test_10_14_days_before": f"a negative test {min_days}-{max_days} days before",
            "test_within_24_hours_before": (
                f"a negative test within {int(t[keys[2]].value)} hours before"
            ),
        }
        message = (
            "Pregnancy tests still needed: "
            + " and ".join(words[m] for m in missing)
            + " the prescription"
        )
    else:
        outcome = "met"
        message = "Two negative pregnancy tests in the required windows"
    return Finding(
        rule_id="rems.pre_start_pregnancy_tests",
        outcome=outcome,
        message=message,
        values=values,
        thresholds=used,
        source=PI_PREGNANCY,
    )


# --- Pregnancy tests during therapy ----------------------------------------------------


def next_pregnancy_test_due(
    *,
    therapy_start: date,
    last_negative_test: date | None,
    menses_regular: bool,
    thresholds: Mapping[str, Threshold] | None = None,
) -> date:
    """When the next pregnancy test is due, by calendar date from therapy start.

    Weekly while the last test falls in the first 4 weeks of therapy, then every 4 weeks
    with regular menses or every 2 weeks with irregular menses. Dose interruptions do not
    pause this schedule (label: testing continues during interruptions), which is why no
    holds are passed in. Without a test on record, a test is due at therapy start.
    """
    t = settings(thresholds)
    if last_negative_test is None:
        return therapy_start
    weekly_phase_ends = therapy_start + _days(t, "rems.pregnancy_test.weekly_phase_days")
    if last_negative_test < weekly_phase_ends:
        interval = _days(t, "rems.pregnancy_test.weekly_interval_days")
    elif menses_regular:
        interval = _days(t, "rems.pregnancy_test.regular_interval_days")
    else:
        interval = _days(t, "rems.pregnancy_test.irregular_interval_days")
    return last_negative_test + interval


def pregnancy_test_status(
    *,
    therapy_start: date,
    last_negative_test: date | None,
    menses_regular: bool,
    as_of: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """ "ok", "due_soon" (due within N days, due day included) or "overdue" (past due)."""
    t = settings(thresholds)
    due_on = next_pregnancy_test_due(
        therapy_start=therapy_start,
        last_negative_test=last_negative_test,
        menses_regular=menses_regular,
        thresholds=t,
    )
    days_until_due = (due_on - as_of).days
    soon = t["rems.pregnancy_test.due_soon_days"]
    if days_until_due < 0:
        outcome, message = "overdue", f"Pregnancy test overdue since {due_on}"
    elif days_until_due <= soon.value:
        outcome, message = "due_soon", f"Pregnancy test due on {due_on}"
    else:
        outcome, message = "ok", f"Next pregnancy test due on {due_on}"
    interval_keys = (
        "rems.pregnancy_test.weekly_phase_days",
        "rems.pregnancy_test.weekly_interval_days",
        "rems.pregnancy_test.regular_interval_days",
        "rems.pregnancy_test.irregular_interval_days",
    )
    return Finding(
        rule_id="rems.pregnancy_test_status",
        outcome=outcome,
        message=message,
        values={
            "therapy_start": therapy_start,
            "last_negative_test": last_negative_test,
            "menses_regular": menses_regular,
            "due_on": due_on,
            "days_until_due": days_until_due,
            "as_of": as_of,
        },
        thresholds=(*(t[key] for key in interval_keys), soon),
        source=PI_PREGNANCY,
    )


# --- Authorizations and prescriptions ------------------------------------------------


def authorization_expiry(
    *,
    obtained_on: date,
    risk_category: str,
    thresholds: Mapping[str, Threshold] | None = None,
) -> date:
    """The last day an authorization number is valid.

    Valid 7 days for a female who can become pregnant, 30 days otherwise (common),
    counting the day it was obtained as day 1: obtained Monday, valid through Sunday.
    """
    t = settings(thresholds)
    key = (
        "rems.authorization.fcbp_valid_days"
        if is_fcbp(risk_category)
        else "rems.authorization.other_valid_days"
    )
    return obtained_on + _days(t, key) - timedelta(days=1)


def validate_days_supply(
    days_supply: int, thresholds: Mapping[str, Threshold] | None = None
) -> Finding:
    """Outcome "ok" or "too_long": REMS prescriptions are for at most a 28-day supply."""
    if days_supply < 1:
        raise ValueError("days_supply must be at least 1")
    limit = settings(thresholds)["rems.prescription.max_days_supply"]
    too_long = days_supply > limit.value
    return Finding(
        rule_id="rems.validate_days_supply",
        outcome="too_long" if too_long else "ok",
        message=(
            f"{days_supply}-day supply exceeds the {limit.value}-day maximum"
            if too_long
            else f"{days_supply}-day supply is within the {limit.value}-day maximum"
        ),
        values={"days_supply": days_supply},
        thresholds=(limit,),
        source=REMS_PROGRAM,
    )


# --- Overall REMS status -------------------------------------------------------------

ACTIONS = (
    "enrollment_missing",
    "prescriber_certification_expired",
    "prescriber_certification_expiring",
    "no_authorization",
    "authorization_expired",
    "authorization_expiring",
    "survey_due",
    "pregnancy_test_overdue",
    "pregnancy_test_due",
)


@dataclass(frozen=True, kw_only=True)
class RemsSnapshot:
    """What the REMS status needs to know about one patient on one day.

    ``authorization_expires_on`` None with an obtained date: computed from the category.
    ``prescriber_certification_expires_on`` None: no certification on file (reported as
    expired, since no prescription can be written). ``therapy_start`` None: therapy not
    started, so the on-therapy pregnancy test schedule does not apply yet (before the
    first prescription use ``pre_start_pregnancy_tests``).
    """

    risk_category: str
    enrolled_on: date | None
    agreement_signed: bool
    authorization_obtained_on: date | None = None
    authorization_expires_on: date | None = None
    last_survey_on: date | None = None
    prescriber_certification_expires_on: date | None = None
    therapy_start: date | None = None
    last_negative_pregnancy_test: date | None = None
    menses_regular: bool = True


def rems_status(
    snapshot: RemsSnapshot,
    *,
    as_of: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> Finding:
    """Outcome "compliant" or "action_needed"; values["actions"] lists the action codes."""
    t = settings(thresholds)
    fcbp = is_fcbp(snapshot.risk_category)
    actions: list[str] = []
    if snapshot.enrolled_on is None or not snapshot.agreement_signed:
        actions.append("enrollment_missing")
    actions += _certification_actions(snapshot, as_of, t)
    authorization_actions = _authorization_actions(snapshot, as_of, t)
    actions += authorization_actions
    if _survey_due(snapshot, fcbp, bool(authorization_actions), as_of, t):
        actions.append("survey_due")
    if fcbp and snapshot.therapy_start is not None:
        actions += _pregnancy_test_actions(snapshot, snapshot.therapy_start, as_of, t)

    actions.sort(key=ACTIONS.index)
    return Finding(
        rule_id="rems.status",
        outcome="action_needed" if actions else "compliant",
        message="; ".join(action.replace("_", " ") for action in actions) or "REMS up to date",
        values={
            "actions": actions,
            "risk_category": snapshot.risk_category,
            "authorization_expires_on": _authorization_expires_on(snapshot, t),
            "as_of": as_of,
        },
        thresholds=tuple(t[key] for key in _status_keys(fcbp)),
        source=REMS_PROGRAM,
    )


def _status_keys(fcbp: bool) -> tuple[str, ...]:
    keys = (
        "rems.authorization.fcbp_valid_days" if fcbp else "rems.authorization.other_valid_days",
        "rems.authorization.expiring_within_days",
        "rems.prescriber_certification.expiring_within_days",
    )
    if fcbp:
        return (*keys, "rems.pregnancy_test.due_soon_days")
    return (*keys, "rems.survey.other_interval_days")


def _certification_actions(
    snapshot: RemsSnapshot, as_of: date, t: Mapping[str, Threshold]
) -> list[str]:
    expires_on = snapshot.prescriber_certification_expires_on
    if expires_on is None or expires_on < as_of:
        return ["prescriber_certification_expired"]
    if expires_on - as_of <= _days(t, "rems.prescriber_certification.expiring_within_days"):
        return ["prescriber_certification_expiring"]
    return []


def _authorization_expires_on(snapshot: RemsSnapshot, t: Mapping[str, Threshold]) -> date | None:
    if snapshot.authorization_expires_on is not None:
        return snapshot.authorization_expires_on
    if snapshot.authorization_obtained_on is None:
        return None
    return authorization_expiry(
        obtained_on=snapshot.authorization_obtained_on,
        risk_category=snapshot.risk_category,
        thresholds=t,
    )


def _authorization_actions(
    snapshot: RemsSnapshot, as_of: date, t: Mapping[str, Threshold]
) -> list[str]:
    """Expiry dates are the last valid day: expired from the day after."""
    expires_on = _authorization_expires_on(snapshot, t)
    if expires_on is None:
        return ["no_authorization"]
    if expires_on < as_of:
        return ["authorization_expired"]
    if expires_on - as_of <= _days(t, "rems.authorization.expiring_within_days"):
        return ["authorization_expiring"]
    return []


def _survey_due(
    snapshot: RemsSnapshot,
    fcbp: bool,
    new_authorization_needed: bool,
    as_of: date,
    t: Mapping[str, Threshold],
) -> bool:
    last_survey = snapshot.last_survey_on
    if last_survey is None:
        return True
    if fcbp:
        # Before each prescription: due when the next authorization is needed and no
        # survey was done since the last one was obtained.
        obtained = snapshot.authorization_obtained_on
        done_since = obtained is None or last_survey > obtained
        return new_authorization_needed and not done_since
    return as_of - last_survey >= _days(t, "rems.survey.other_interval_days")


def _pregnancy_test_actions(
    snapshot: RemsSnapshot, therapy_start: date, as_of: date, t: Mapping[str, Threshold]
) -> list[str]:
    status = pregnancy_test_status(
        therapy_start=therapy_start,
        last_negative_test=snapshot.last_negative_pregnancy_test,
        menses_regular=snapshot.menses_regular,
        as_of=as_of,
        thresholds=t,
    )
    if status.outcome == "overdue":
        return ["pregnancy_test_overdue"]
    if status.outcome == "due_soon":
        return ["pregnancy_test_due"]
    return []


def status_changes(
    snapshot: RemsSnapshot,
    *,
    as_of: date,
    thresholds: Mapping[str, Threshold] | None = None,
) -> tuple[tuple[date, str], ...]:
    """The dates after ``as_of`` on which ``rems_status`` can change with nothing new
    recorded, earliest first, each with the rule that changes: the sweep's next review.

    Read from the same rules as ``rems_status``: a window opens the day the days left
    reach its length, and an expiry date is the last valid day (expired from the next).
    An FCBP survey follows the authorization, so its dates are the authorization's.
    """
    t = settings(thresholds)
    changes: list[tuple[date, str]] = []
    certification = snapshot.prescriber_certification_expires_on
    if certification is not None:
        within = _days(t, "rems.prescriber_certification.expiring_within_days")
        changes.append((certification - within, "prescriber certification expiring"))
        changes.append((certification + timedelta(days=1), "prescriber certification expired"))
    authorization = _authorization_expires_on(snapshot, t)
    if authorization is not None:
        within = _days(t, "rems.authorization.expiring_within_days")
        changes.append((authorization - within, "authorization expiring"))
        changes.append((authorization + timedelta(days=1), "authorization expired"))
    fcbp = is_fcbp(snapshot.risk_category)
    if not fcbp and snapshot.last_survey_on is not None:
        interval = _days(t, "rems.survey.other_interval_days")
        changes.append((snapshot.last_survey_on + interval, "survey due"))
    if fcbp and snapshot.therapy_start is not None:
        due_on = next_pregnancy_test_due(
            therapy_start=snapshot.therapy_start,
            last_negative_test=snapshot.last_negative_pregnancy_test,
            menses_regular=snapshot.menses_regular,
            thresholds=t,
        )
        soon = _days(t, "rems.pregnancy_test.due_soon_days")
        changes.append((due_on - soon, "pregnancy test due"))
        changes.append((due_on + timedelta(days=1), "pregnancy test overdue"))
    return tuple(sorted(change for change in changes if change[0] > as_of))
