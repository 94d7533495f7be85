"""Cohort estimators on small cases computed by hand (mutation testing, issue 13).

Conventions from the clinical reference sec. 10 and R's survival package: Kaplan-Meier steps
only at events; log CI = S x exp(+-1.96 sqrt(Greenwood)), Greenwood = sum d / (n (n - d));
the median is the first time S(t) <= 0.5; at risk at t: entry < t <= duration.
"""

import math

import pytest

from monitoring.cohort.estimators import (
    DoseSegment,
    cumulative_incidence,
    kaplan_meier,
    logrank,
    on_time_scale,
    quantile,
    rate_per_patient_year,
    relative_dose_intensity,
    share,
)

Z = 1.959963984540054  # qnorm(0.975)


def _log_ci(s: float, greenwood: float) -> tuple[float, float]:
    se = math.sqrt(greenwood)
    return s * math.exp(-Z * se), min(1.0, s * math.exp(Z * se))


@pytest.fixture
def km():
    # 5 patients: events at 1, 2, 3; censored at 2 and 4
    return kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])


def test_small_curve_by_hand(km):
    assert km.n == 5
    assert km.events == 3
    assert km.times == [0.0, 1.0, 2.0, 3.0]
    # S: 4/5, then x 3/4 (4 at risk at 2, one event), then x 1/2 (2 at risk at 3)
    assert km.survival == pytest.approx([1.0, 0.8, 0.6, 0.3])
    greenwood = [1 / (5 * 4), 1 / (5 * 4) + 1 / (4 * 3), 1 / (5 * 4) + 1 / (4 * 3) + 1 / (2 * 1)]
    expected = [_log_ci(s, g) for s, g in zip([0.8, 0.6, 0.3], greenwood, strict=True)]
    assert km.lower[0] == km.upper[0] == 1.0
    assert km.lower[1:] == pytest.approx([lo for lo, _ in expected])
    assert km.upper[1:] == pytest.approx([hi for _, hi in expected])
    assert km.upper[3] == 1.0  # capped at 1
    assert km.censor_times == [2.0, 4.0]
    assert km.censor_survival == pytest.approx([0.6, 0.3])
    assert km.median.estimate == 3.0
    assert km.median.lower == 2.0  # lower curve 0.6 x exp(-1.96 x 0.365) = 0.29 at 2
    assert km.median.upper is None
    assert km.median_loglog.estimate == 3.0


def test_log_log_interval_is_kept_beside_the_log_one(km):
    assert len(km.lower_loglog) == len(km.times) == len(km.upper_loglog)
    assert km.lower_loglog[0] == km.upper_loglog[0] == 1.0
    for lo, s, hi in zip(km.lower_loglog[1:], km.survival[1:], km.upper_loglog[1:], strict=True):
        assert 0 < lo < s < hi < 1


def test_survival_at_a_time(km):
    at = km.at(2.5)
    assert (at.time, at.survival, at.at_risk) == (2.5, pytest.approx(0.6), 2)
    assert at.lower == pytest.approx(km.lower[2])
    assert at.upper == pytest.approx(km.upper[2])
    assert km.at(2).survival == pytest.approx(0.6)  # a step belongs to its own time
    assert km.at(0.5).survival == 1.0
    on_last = km.at(4)
    assert on_last.survival == pytest.approx(0.3)
    beyond = km.at(4.5)
    assert (beyond.time, beyond.survival, beyond.lower, beyond.upper, beyond.at_risk) == (
        4.5,
        None,
        None,
        None,
        0,
    )


def test_number_at_risk_r_convention():
    km = kaplan_meier([3, 4, 5, 6], [1, 1, 1, 1], entry=[0, 0, 1, 2])
    assert km.at_risk(0) == 2  # entered at the origin
    assert km.at_risk(1) == 2  # the entrant at 1 is at risk only after 1
    assert km.at_risk(1.5) == 3
    assert km.at_risk(2) == 3
    assert km.at_risk(3) == 4  # duration 3 still at risk at 3
    assert km.at_risk(3.5) == 3


def test_empty_curve():
    km = kaplan_meier([], [])
    assert (km.n, km.events, km.times, km.median.estimate) == (0, 0, [], None)
    assert km.at(1).survival is None
    assert km.at(1).at_risk == 0


def test_all_events_reach_zero_with_no_interval():
    km = kaplan_meier([1, 2], [1, 1])
    assert km.survival == pytest.approx([1.0, 0.5, 0.0])
    assert km.lower[2] is None and km.upper[2] is None
    assert km.lower_loglog[2] is None and km.upper_loglog[2] is None


def test_events_given_as_numbers_and_times_as_text_like_numbers():
    km = kaplan_meier([1, 2, 3], [1, 0, 1])
    assert km.censor_times == [2.0]
    assert km.events == 2


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match=r"^Times, events and entry times must have the same"):
        kaplan_meier([1, 2], [1])
    with pytest.raises(ValueError, match=r"^Times must be finite and not negative\.$"):
        kaplan_meier([1, -1], [1, 1])
    with pytest.raises(ValueError, match=r"^Times must be finite and not negative\.$"):
        kaplan_meier([1, math.inf], [1, 1])
    assert kaplan_meier([0, 1], [0, 1], entry=None).n == 1  # time 0 ends before it starts
    assert kaplan_meier([0.5, 1], [1, 1]).times == [0.0, 0.5, 1.0]


def test_follow_up_ending_at_entry_contributes_nothing():
    km = kaplan_meier([2, 5, 6], [1, 1, 1], entry=[2, 0, 0])
    assert km.n == 2


@pytest.mark.parametrize(
    ("curve", "p", "expected"),
    [
        ([1.0, 0.75, 0.5, 0.5, 0.25], 0.5, 4.0),  # 0.5 from 2 until the drop at 6: midpoint 4
        ([1.0, 0.75, 0.5], 0.5, 2.0),  # 0.5 at the last step: no interval, its own time
        ([1.0, 0.75, 0.4], 0.5, 2.0),
        ([1.0, 0.75, 0.6], 0.5, None),
        ([1.0, None, 0.4], 0.5, 2.0),  # a missing limit is skipped
        ([1.0, 0.8, 0.6], 0.8, 1.5),  # equal to p from 1 until 2
    ],
)
def test_r_quantile_rule(curve, p, expected):
    times = [0.0, 1.0, 2.0, 4.0, 6.0][: len(curve)]
    assert quantile(times, curve, p) == expected


def test_logrank_two_groups_by_hand():
    # group a: events at 1, 3; group b: events at 2, 4. Event times 1..4, risk sets 4,3,2,1.
    # O - E for a: (1 - 2/4) + (0 - 1/3) + (1 - 1/2) + (0 - 0) = 2/3
    # V: 2*2/16 + 1*2/9 + 1*1/4 + 0 = 0.25 + 2/9 + 0.25
    result = logrank([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"])
    variance = 0.25 + 2 / 9 + 0.25
    assert result.df == 1
    assert result.chi2 == pytest.approx((2 / 3) ** 2 / variance)
    assert result.p == pytest.approx(math.erfc(math.sqrt(result.chi2 / 2)))


def test_logrank_one_group_is_none_and_entry_drops_empty_follow_up():
    assert logrank([1, 2], [1, 1], ["a", "a"]) is None
    assert logrank([1, 2, 3], [1, 1, 1], ["a", "b", "b"], entry=[1, 0, 0]) is None


def test_cumulative_incidence_with_entry_and_censoring():
    ci = cumulative_incidence([1, 2, 3, 4], ["a", None, "b", ""], entry=[0, 0, 0, 0])
    # at 1: S- 1, 4 at risk -> a 1/4; at 3: S- 3/4, 2 at risk -> b 3/8
    assert ci.times == [0.0, 1.0, 3.0]
    assert ci.incidence["a"] == pytest.approx([0, 0.25, 0.25])
    assert ci.incidence["b"] == pytest.approx([0, 0, 0.375])
    assert ci.counts == {"a": 1, "b": 1}
    assert ci.n == 4
    assert ci.at("a", 0.5) == 0.0
    assert ci.at("b", 3) == pytest.approx(0.375)
    assert ci.at("a", -1) == 0.0
    empty = cumulative_incidence([1], [None])
    assert (empty.times, empty.incidence) == ([0.0], {})


def test_time_scale_edges():
    assert on_time_scale(origin=10, entered=5, end=20, event=False).entry == 0.0
    assert on_time_scale(origin=10, entered=10, end=10, event=True) is None
    follow = on_time_scale(origin=10, entered=12, end=13, event=True)
    assert (follow.entry, follow.duration, follow.event) == (2, 3, True)
    assert on_time_scale(origin=0, entered=0, end=100, event=True, landmark=100) is None


def test_dose_intensity_by_hand():
    segments = [DoseSegment(10.0, 28, 7), DoseSegment(5.0, 28, 0)]
    # delivered 10 x 21 + 5 x 28 = 350 over planned 10 x 56 = 560
    assert relative_dose_intensity(planned_mg_per_day=10.0, segments=segments) == pytest.approx(
        350 / 560
    )
    assert relative_dose_intensity(planned_mg_per_day=0.0, segments=segments) is None
    assert relative_dose_intensity(planned_mg_per_day=10.0, segments=[]) is None
    assert (
        relative_dose_intensity(planned_mg_per_day=10.0, segments=[DoseSegment(10.0, 0, 0)]) is None
    )


def test_rates_and_shares():
    assert rate_per_patient_year(3, 365.25) == pytest.approx(3.0)
    assert rate_per_patient_year(3, 0) is None
    assert share(1, 4) == 0.25
    assert share(1, 0) is None


# --- Second round: survivors of the first mutation run -------------------------------------


def test_at_risk_just_after_the_origin():
    km = kaplan_meier([3, 3], [1, 1], entry=[0, 0.2])
    assert km.at_risk(0) == 1
    assert km.at_risk(0.5) == 2


def test_no_survival_past_follow_up_shorter_than_one_time_unit():
    km = kaplan_meier([0.25, 0.5], [1, 0])
    assert km.at(0.4).survival == pytest.approx(0.5)
    assert km.at(0.8).survival is None


def test_an_empty_curve_is_empty_in_every_field():
    km = kaplan_meier([], [])
    for name in (
        "times",
        "survival",
        "lower",
        "upper",
        "lower_loglog",
        "upper_loglog",
        "censor_times",
        "censor_survival",
    ):
        assert getattr(km, name) == [], name
    assert (km.median.estimate, km.median.lower, km.median.upper) == (None, None, None)
    none = (None, None, None)
    assert (km.median_loglog.estimate, km.median_loglog.lower, km.median_loglog.upper) == none
    assert list(km._durations) == [] and list(km._entry) == []


def test_entry_below_one_time_unit_follows_r_start_before_t():
    # The entrant at 0.5 is not at risk for the event at 0.5: 2 at risk, S = 1/2.
    km = kaplan_meier([0.5, 2, 3], [1, 1, 1], entry=[0, 0.5, 0])
    assert km.survival[1] == pytest.approx(0.5)


def test_cumulative_incidence_honours_entry():
    # The patient entering at 2 is not at risk for the event at 1: CIF 1/2, not 1/3.
    ci = cumulative_incidence([1, 3, 4], ["a", None, None], entry=[0, 2, 0])
    assert ci.at("a", 1) == pytest.approx(0.5)


def test_cumulative_incidence_drops_follow_up_ending_at_entry():
    ci = cumulative_incidence([2, 3], ["a", "a"], entry=[2, 0])
    assert (ci.n, ci.counts) == (1, {"a": 1})
    assert ci.at("a", 3) == pytest.approx(1.0)


def test_dose_intensity_with_small_plans_and_one_day():
    one_day = [DoseSegment(0.5, 1, 0)]
    assert relative_dose_intensity(planned_mg_per_day=0.5, segments=one_day) == pytest.approx(1)
