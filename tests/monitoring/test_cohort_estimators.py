"""The cohort estimators against numbers computed with R's survival package (the field's
reference) on the datasets bundled with lifelines, and small hand-computed cases."""

import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.datasets import load_leukemia, load_lung

from monitoring.cohort.estimators import (
    DoseSegment,
    cumulative_incidence,
    kaplan_meier,
    logrank,
    on_time_scale,
    relative_dose_intensity,
)


@pytest.fixture(scope="module")
def lung():
    return load_lung()  # lifelines' copy: status 1 = dead, 0 = censored (R: 2 / 1)


@pytest.fixture(scope="module")
def leukemia():
    return load_leukemia()  # Rx 0 = 6-MP, 1 = placebo


def _median(km):
    return km.median.estimate, km.median.lower, km.median.upper


def test_lung_median_and_ci_match_r_default_log(lung):
    # R: survfit(Surv(time, status) ~ 1, lung) -> median 310 (285, 363)
    assert _median(kaplan_meier(lung.time, lung.status == 1)) == (310, 285, 363)


def test_lung_by_sex_matches_r_log_and_loglog(lung):
    male, female = lung[lung.sex == 1], lung[lung.sex == 2]
    km_m = kaplan_meier(male.time, male.status == 1)
    km_f = kaplan_meier(female.time, female.status == 1)
    assert _median(km_m) == (270, 212, 310)
    assert _median(km_f) == (426, 348, 550)
    # conf.type = "log-log" (lifelines' default): males 210-306, females 345-524
    assert (km_m.median_loglog.lower, km_m.median_loglog.upper) == (210, 306)
    assert (km_f.median_loglog.lower, km_f.median_loglog.upper) == (345, 524)


def test_lung_survival_at_one_year_matches_r(lung):
    # R: summary(fit, times = 365)$surv = 0.4092
    assert kaplan_meier(lung.time, lung.status == 1).at(365).survival == pytest.approx(
        0.4092, abs=5e-5
    )


def test_lung_logrank_by_sex_matches_r(lung):
    # R: survdiff(Surv(time, status) ~ sex, lung) -> Chisq = 10.3 on 1 df, p = 0.001
    result = logrank(lung.time, lung.status == 1, lung.sex)
    assert round(result.chi2, 1) == 10.3
    assert result.df == 1
    assert result.p == pytest.approx(0.00131, abs=1e-5)


def test_leukemia_medians_and_logrank_match_r(leukemia):
    drug, placebo = leukemia[leukemia.Rx == 0], leukemia[leukemia.Rx == 1]
    assert kaplan_meier(drug.t, drug.status == 1).median.estimate == 23
    assert kaplan_meier(placebo.t, placebo.status == 1).median.estimate == 8
    assert round(logrank(leukemia.t, leukemia.status == 1, leukemia.Rx).chi2, 2) == 16.79


def test_median_takes_the_midpoint_when_survival_is_exactly_one_half_over_an_interval():
    # R gives 2.5 for four events at 1, 2, 3, 4; lifelines' own median says 2.0.
    assert kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]).median.estimate == 2.5
    assert KaplanMeierFitter().fit([1, 2, 3, 4], [1, 1, 1, 1]).median_survival_time_ == 2.0


def test_median_is_first_time_at_or_below_one_half_otherwise():
    assert kaplan_meier([1, 2, 3], [1, 1, 1]).median.estimate == 2  # S: 2/3, 1/3, 0


def test_median_is_none_when_the_curve_stays_above_one_half():
    assert kaplan_meier([1, 5, 6, 7], [1, 0, 0, 0]).median.estimate is None


def test_tied_event_times_drop_together_without_jitter():
    km = kaplan_meier([1, 1, 2], [1, 1, 1])
    assert km.times == [0.0, 1.0, 2.0]
    assert km.survival[1] == pytest.approx(1 / 3)


def test_delayed_entry_patient_is_at_risk_only_after_entry():
    # C enters at 2.5: at t = 2 only A and B are at risk, so S(2) = 1/2, not 2/3.
    km = kaplan_meier([2, 3, 5], [1, 1, 1], entry=[0, 0, 2.5])
    assert km.survival == pytest.approx([1, 1 / 2, 1 / 4, 0])
    assert km.at_risk(2) == 2 and km.at_risk(3) == 2
    assert kaplan_meier([2, 3, 5], [1, 1, 1]).survival[1] == pytest.approx(2 / 3)


def test_entry_at_an_event_time_follows_r_start_before_t():
    # R's Surv(start, stop): at risk when start < t <= stop. C entering at 2 is not at risk
    # for A's death at 2 (lifelines alone would count C there).
    km = kaplan_meier([2, 3, 5], [1, 1, 1], entry=[0, 0, 2])
    assert km.survival[1] == pytest.approx(1 / 2)


def test_logrank_with_entry_matches_lifelines_without_entry(lung):
    from lifelines.statistics import multivariate_logrank_test

    groups = lung["ph.ecog"].fillna(1).clip(upper=2)
    ours = logrank(lung.time, lung.status == 1, groups)
    theirs = multivariate_logrank_test(lung.time, groups, lung.status)
    assert ours.df == 2
    assert ours.chi2 == pytest.approx(theirs.test_statistic, rel=1e-9)


def test_landmark_drops_patients_out_before_it_and_starts_the_rest_at_it():
    # Origin day 0 (transplant), landmark 100 days.
    assert on_time_scale(origin=0, entered=0, end=80, event=True, landmark=100) is None
    follow = on_time_scale(origin=0, entered=0, end=400, event=True, landmark=100)
    assert (follow.entry, follow.duration, follow.event) == (100, 400, True)


def test_time_scale_uses_delayed_entry_when_care_began_after_the_origin():
    # Diagnosed day 0, first seen here day 200, event on day 500.
    follow = on_time_scale(origin=0, entered=200, end=500, event=True)
    assert (follow.entry, follow.duration) == (200, 500)


def test_aalen_johansen_small_hand_computed_case():
    # t=1: n=6, a -> CIF_a 1/6, S 5/6. t=2: n=5, a and b tied -> CIF_a 1/3, CIF_b 1/6,
    # S 1/2. t=3 censored. t=4: n=2, a -> CIF_a 1/3 + 1/4 = 7/12, S 1/4.
    # t=5: n=1, b -> CIF_b 1/6 + 1/4 = 5/12. The incidences add up to 1 - S = 1.
    ci = cumulative_incidence([1, 2, 2, 3, 4, 5], ["a", "b", "a", "", "a", "b"])
    assert ci.incidence["a"] == pytest.approx([0, 1 / 6, 1 / 3, 7 / 12, 7 / 12])
    assert ci.incidence["b"] == pytest.approx([0, 0, 1 / 6, 1 / 6, 5 / 12])
    assert ci.at("a", 4.5) == pytest.approx(7 / 12)
    assert ci.counts == {"a": 3, "b": 2}


def test_aalen_johansen_is_not_one_minus_kaplan_meier():
    durations, causes = [1, 2, 3, 4], ["stop", "progression", "stop", "progression"]
    ci = cumulative_incidence(durations, causes)
    naive = 1 - kaplan_meier(durations, [c == "stop" for c in causes]).survival[-1]
    assert ci.at("stop", 4) == pytest.approx(0.5)
    assert naive == pytest.approx(1 - 0.75 * (1 / 2))  # censoring the competitor overstates


def test_aalen_johansen_matches_lifelines_when_there_are_no_ties():
    durations = [3, 5, 6, 8, 9, 12, 14, 15, 17, 20]
    causes = [1, 2, 0, 1, 1, 2, 0, 1, 2, 1]
    ours = cumulative_incidence(durations, [str(c) if c else "" for c in causes])
    theirs = AalenJohansenFitter(calculate_variance=False).fit(
        durations, causes, event_of_interest=1
    )
    for t, value in theirs.cumulative_density_.iloc[:, 0].items():
        assert ours.at("1", t) == pytest.approx(value)


def test_relative_dose_intensity_counts_holds_and_reductions():
    planned = 10 * 21 / 28
    segments = [DoseSegment(planned, 100, 14), DoseSegment(5 * 21 / 28, 100, 0)]
    # delivered: 7.5 x 86 + 3.75 x 100 = 1020; planned 7.5 x 200 = 1500
    assert relative_dose_intensity(planned_mg_per_day=planned, segments=segments) == pytest.approx(
        1020 / 1500
    )
