from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.rules.imwg import (
    MarkerPoint,
    confirmed,
    flc_difference,
    measurable_disease,
    mrd_discussion_prompt,
    mrd_sustained,
    nadir,
    progression,
    progression_threshold_g_dl,
    suggest_response,
    whole_months_between,
)

D = Decimal
BASELINE_ON = date(2024, 1, 10)
LATEST_ON = date(2024, 7, 10)


def serum(on: date, g_dl: str, urine: str | None = None) -> MarkerPoint:
    return MarkerPoint(on=on, spep_g_dl=D(g_dl), upep_mg_24h=None if urine is None else D(urine))


def light_chains(on: date, kappa: str, lam: str = "10", spep: str | None = "0") -> MarkerPoint:
    return MarkerPoint(
        on=on,
        spep_g_dl=None if spep is None else D(spep),
        kappa_mg_l=D(kappa),
        lambda_mg_l=D(lam),
        involved="kappa",
    )


def respond(baseline: MarkerPoint, latest: MarkerPoint, **kwargs):
    kwargs.setdefault("immunofixation_negative", None)
    kwargs.setdefault("marrow_plasma_cell_pct", None)
    return suggest_response(baseline=baseline, latest=latest, **kwargs)


# --- Measurable disease --------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "outcome"),
    [
        (serum(BASELINE_ON, "1.0"), "measurable"),
        (serum(BASELINE_ON, "0.99"), "not_measurable"),
        (serum(BASELINE_ON, "0.5", urine="200"), "measurable"),
        (serum(BASELINE_ON, "0.5", urine="199"), "not_measurable"),
        (light_chains(BASELINE_ON, kappa="100"), "measurable"),
        (light_chains(BASELINE_ON, kappa="99.9"), "not_measurable"),
        (light_chains(BASELINE_ON, kappa="100", lam="80"), "not_measurable"),
        (MarkerPoint(on=BASELINE_ON), "not_assessable"),
    ],
    ids=[
        "serum 1.0 g/dL",
        "serum 0.99 g/dL",
        "urine 200 mg/24h",
        "urine 199 mg/24h",
        "kappa 100 mg/L with ratio 10",
        "kappa 99.9 mg/L",
        "kappa 100 mg/L with normal ratio 1.25",
        "no results",
    ],
)
def test_measurable_disease_at_each_imwg_limit(point, outcome):
    assert measurable_disease(point).outcome == outcome


def test_measurable_light_chains_are_shown_in_mg_per_l_and_mg_per_dl():
    baseline = MarkerPoint(on=BASELINE_ON, kappa_mg_l=D("8"), lambda_mg_l=D("150"))
    finding = measurable_disease(baseline)
    assert finding.outcome == "measurable"
    assert finding.values["involved"] == "lambda"  # inferred from the ratio 0.053
    assert finding.values["involved_flc_mg_l"] == D("150")
    assert finding.values["involved_flc_mg_dl"] == D("15")
    assert finding.values["measurable_by"] == ["free light chains"]


def test_flc_difference_is_involved_minus_uninvolved():
    point = MarkerPoint(on=BASELINE_ON, kappa_mg_l=D("120"), lambda_mg_l=D("10"))
    assert flc_difference(point, "kappa") == D("110")
    assert flc_difference(point, "lambda") == D("-110")
    assert flc_difference(point) is None  # no involved chain recorded
    assert flc_difference(MarkerPoint(on=BASELINE_ON, kappa_mg_l=D(1)), "kappa") is None


# --- Progression ---------------------------------------------------------------------


def test_nadir_is_the_lowest_serum_m_protein_and_the_earliest_on_a_tie():
    points = [
        serum(date(2024, 1, 1), "3.0"),
        serum(date(2024, 4, 1), "0.8"),
        MarkerPoint(on=date(2024, 5, 1)),
        serum(date(2024, 7, 1), "0.8"),
        serum(date(2024, 10, 1), "1.1"),
    ]
    assert nadir(points) == points[1]
    assert nadir([MarkerPoint(on=BASELINE_ON)]) is None


@pytest.mark.parametrize(
    ("nadir_g_dl", "threshold"),
    [
        ("0", "0.5"),  # 0.5 g/dL floor
        ("1.0", "1.5"),  # floor beats 25% (0.25)
        ("2.0", "2.5"),  # 25% equals the floor
        ("3.0", "3.75"),  # 25% (0.75) beats the floor
        ("4.99", "6.2375"),  # 25% (1.2475)
        ("5.0", "6.0"),  # from 5 g/dL a 1 g/dL rise suffices
        ("6.0", "7.0"),
    ],
)
def test_progression_threshold_is_nadir_plus_the_larger_of_25_percent_and_the_floor(
    nadir_g_dl, threshold
):
    assert progression_threshold_g_dl(D(nadir_g_dl)) == D(threshold)


@pytest.mark.parametrize(
    ("nadir_g_dl", "latest_g_dl", "outcome"),
    [
        ("1.0", "1.49", "no_progression"),
        ("1.0", "1.5", "progression"),
        ("0.2", "0.69", "no_progression"),
        ("0.2", "0.7", "progression"),
        ("3.0", "3.74", "no_progression"),
        ("3.0", "3.75", "progression"),
        ("6.0", "6.99", "no_progression"),
        ("6.0", "7.0", "progression"),
    ],
)
def test_serum_progression_needs_25_percent_and_the_absolute_rise(nadir_g_dl, latest_g_dl, outcome):
    points = [
        serum(date(2023, 1, 1), "8.0"),
        serum(date(2023, 7, 1), nadir_g_dl),
        serum(date(2024, 1, 1), latest_g_dl),
    ]
    assert progression(points).outcome == outcome


def test_progression_shows_the_nadir_its_date_the_threshold_and_the_latest_value():
    points = [
        serum(date(2024, 7, 1), "1.6"),
        serum(date(2023, 1, 1), "4.0"),
        serum(date(2024, 1, 1), "1.0"),
    ]
    finding = progression(points)
    assert finding.rule_id == "imwg.progression"
    assert finding.outcome == "progression"
    assert finding.values["nadir_g_dl"] == D("1.0")
    assert finding.values["nadir_on"] == date(2024, 1, 1)
    assert finding.values["threshold_g_dl"] == D("1.5")
    assert finding.values["latest_g_dl"] == D("1.6")
    assert finding.values["criterion"] == "serum M-protein"
    assert "Confirm on a repeat assessment" in finding.message


@pytest.mark.parametrize(("latest", "outcome"), [("499", "no_progression"), ("500", "progression")])
def test_urine_progression_needs_a_rise_of_at_least_200_mg(latest, outcome):
    points = [
        MarkerPoint(on=date(2023, 1, 1), upep_mg_24h=D("900")),
        MarkerPoint(on=date(2023, 7, 1), upep_mg_24h=D("300")),
        MarkerPoint(on=date(2024, 1, 1), upep_mg_24h=D(latest)),
    ]
    assert progression(points).outcome == outcome


@pytest.mark.parametrize(
    ("latest_kappa", "outcome"), [("160", "no_progression"), ("160.1", "progression")]
)
def test_flc_progression_needs_a_difference_rise_above_10_mg_per_dl(latest_kappa, outcome):
    points = [
        light_chains(date(2023, 1, 1), kappa="300"),
        light_chains(date(2023, 7, 1), kappa="60"),  # difference 50 mg/L: the nadir
        light_chains(date(2024, 1, 1), kappa=latest_kappa),
    ]
    finding = progression(points)
    assert finding.outcome == outcome
    assert finding.values["checks"][-1]["marker"] == "FLC difference"


def test_flc_is_not_used_for_progression_when_serum_m_protein_was_measurable():
    points = [
        MarkerPoint(date(2023, 1, 1), D("2.0"), None, D("300"), D("10"), "kappa"),
        MarkerPoint(date(2023, 7, 1), D("0.5"), None, D("60"), D("10"), "kappa"),
        MarkerPoint(date(2024, 1, 1), D("0.6"), None, D("500"), D("10"), "kappa"),
    ]
    finding = progression(points)
    assert finding.outcome == "no_progression"
    assert [check["marker"] for check in finding.values["checks"]] == ["serum M-protein"]


def test_a_single_assessment_cannot_show_progression():
    assert progression([serum(BASELINE_ON, "2.0")]).outcome == "not_assessable"


def _reference_pd_threshold(nadir_g_dl: Decimal) -> Decimal:
    """Clinical reference sec. 7, written out independently of the rule: a rise of at least
    25% from the nadir and of at least 0.5 g/dL; from a nadir of 5 g/dL, a 1 g/dL rise."""
    if nadir_g_dl >= 5:
        return nadir_g_dl + 1
    return nadir_g_dl + max(nadir_g_dl * D("0.25"), D("0.5"))


@given(
    nadir_g_dl=st.decimals(min_value=0, max_value=10, places=2),
    latest_step=st.sampled_from([D("-0.01"), D(0), D("0.01")]),
)
def test_progression_starts_exactly_at_the_threshold(nadir_g_dl, latest_step):
    latest = _reference_pd_threshold(nadir_g_dl) + latest_step
    assert progression_threshold_g_dl(nadir_g_dl) == _reference_pd_threshold(nadir_g_dl)
    points = [serum(date(2023, 1, 1), str(nadir_g_dl)), MarkerPoint(date(2024, 1, 1), latest)]
    expected = "progression" if latest_step >= 0 else "no_progression"
    assert progression(points).outcome == expected


# --- Response vignettes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("latest_g_dl", "category", "change_pct"),
    [
        ("0.3", "VGPR", "-90.0"),
        ("0.31", "PR", "-89.7"),
        ("1.5", "PR", "-50.0"),
        ("1.51", "MR", "-49.7"),
        ("2.25", "MR", "-25.0"),
        ("2.26", "SD", "-24.7"),
        ("3.2", "SD", "6.7"),
    ],
)
def test_response_by_serum_m_protein_fall(latest_g_dl, category, change_pct):
    finding = respond(serum(BASELINE_ON, "3.0"), serum(LATEST_ON, latest_g_dl))
    assert finding.outcome == category
    assert finding.values["serum_change_pct"] == D(change_pct)
    assert "serum M-protein fall" in finding.values["criterion"]
    assert "physician confirms" in finding.message


def test_pr_needs_the_urine_to_fall_90_percent_or_below_200_mg():
    baseline = serum(BASELINE_ON, "3.0", urine="500")
    assert respond(baseline, serum(LATEST_ON, "1.2", urine="199")).outcome == "PR"
    # 60% serum fall, urine only 50% down and still >= 200 mg: MR, not PR.
    assert respond(baseline, serum(LATEST_ON, "1.2", urine="250")).outcome == "MR"


@pytest.mark.parametrize(
    ("baseline_urine", "latest_urine", "category"),
    [
        # Serum down 60% (PR level). Urine must fall >= 90% or be < 200 mg/24h (sec. 7).
        ("3000", "299", "PR"),  # 90.03% fall
        ("3000", "300", "PR"),  # exactly 90% fall
        ("3000", "301", "MR"),  # 89.97% fall and >= 200 mg: urine fall 50-89% is MR
        ("500", "199", "PR"),  # below 200 mg/24h
        ("500", "200", "MR"),  # at 200 mg/24h, only a 60% fall
        ("500", "201", "MR"),
    ],
)
def test_pr_urine_condition_at_each_boundary(baseline_urine, latest_urine, category):
    baseline = serum(BASELINE_ON, "3.0", urine=baseline_urine)
    assert respond(baseline, serum(LATEST_ON, "1.2", urine=latest_urine)).outcome == category


@pytest.mark.parametrize(
    ("baseline_urine", "latest_urine", "category"),
    [
        # Serum not measurable: urine alone decides (sec. 7).
        ("3000", "299", "PR"),
        ("3000", "300", "PR"),
        ("3000", "301", "MR"),
        ("1000", "199", "PR"),
        ("1000", "200", "MR"),
        ("1000", "201", "MR"),
    ],
)
def test_pr_by_urine_alone_at_each_boundary(baseline_urine, latest_urine, category):
    baseline = serum(BASELINE_ON, "0.4", urine=baseline_urine)
    assert respond(baseline, serum(LATEST_ON, "0.2", urine=latest_urine)).outcome == category


@pytest.mark.parametrize(
    ("kappa", "category"),
    [
        # Normal kappa/lambda ratio 0.26-1.65, both ends included (sec. 7); lambda 100 mg/L.
        ("25.9", "CR"),
        ("26", "sCR"),
        ("26.1", "sCR"),
        ("164.9", "sCR"),
        ("165", "sCR"),
        ("165.1", "CR"),
    ],
)
def test_scr_needs_the_ratio_inside_0_26_to_1_65(kappa, category):
    baseline = MarkerPoint(BASELINE_ON, D("3.0"), None, D("80"), D("10"), "kappa")
    latest = MarkerPoint(LATEST_ON, D("0"), None, D(kappa), D("100"), "kappa")
    finding = respond(
        baseline,
        latest,
        immunofixation_negative=True,
        marrow_plasma_cell_pct=D("1"),
        marrow_clonal_cells_absent=True,
    )
    assert finding.outcome == category


def test_vgpr_needs_urine_below_100_mg():
    baseline = serum(BASELINE_ON, "3.0", urine="500")
    assert respond(baseline, serum(LATEST_ON, "0.2", urine="99")).outcome == "VGPR"
    assert respond(baseline, serum(LATEST_ON, "0.2", urine="150")).outcome == "PR"


def test_mr_needs_a_50_percent_urine_fall_when_urine_was_measurable():
    baseline = serum(BASELINE_ON, "3.0", urine="500")
    assert respond(baseline, serum(LATEST_ON, "2.0", urine="300")).outcome == "SD"


def test_response_from_urine_alone_when_serum_was_not_measurable():
    baseline = serum(BASELINE_ON, "0.4", urine="1000")
    assert respond(baseline, serum(LATEST_ON, "0.2", urine="90")).outcome == "VGPR"
    assert respond(baseline, serum(LATEST_ON, "0.2", urine="100")).outcome == "PR"
    assert respond(baseline, serum(LATEST_ON, "0.2", urine="500")).outcome == "MR"
    assert respond(baseline, serum(LATEST_ON, "0.2", urine="501")).outcome == "SD"


def test_pd_from_the_nadir_wins_over_a_fall_from_baseline():
    baseline = serum(BASELINE_ON, "3.0")
    history = [serum(date(2024, 4, 10), "1.0")]
    above = respond(baseline, serum(LATEST_ON, "1.5"), history=history)
    below = respond(baseline, serum(LATEST_ON, "1.49"), history=history)
    assert above.outcome == "PD"
    assert above.values["criterion"] == "serum M-protein rise from nadir"
    assert below.outcome == "PR"


def test_pd_from_a_nadir_of_5_g_dl_or_more_needs_a_1_g_dl_rise():
    baseline = serum(BASELINE_ON, "9.0")
    history = [serum(date(2024, 4, 10), "5.0")]
    assert respond(baseline, serum(LATEST_ON, "5.99"), history=history).outcome == "MR"
    assert respond(baseline, serum(LATEST_ON, "6.0"), history=history).outcome == "PD"


def test_pd_by_light_chains_when_m_protein_was_not_measurable():
    baseline = light_chains(BASELINE_ON, kappa="300")
    history = [light_chains(date(2024, 4, 10), kappa="60")]
    finding = respond(baseline, light_chains(LATEST_ON, kappa="170"), history=history)
    assert finding.outcome == "PD"
    assert finding.values["criterion"] == "FLC difference rise from nadir"


@pytest.mark.parametrize(
    ("latest_kappa", "category"), [("39", "VGPR"), ("40", "PR"), ("155", "PR"), ("156", "SD")]
)
def test_response_by_light_chain_difference_when_m_protein_was_not_measurable(
    latest_kappa, category
):
    # Baseline difference 290 mg/L: 90% fall at 29, 50% fall at 145.
    finding = respond(light_chains(BASELINE_ON, kappa="300"), light_chains(LATEST_ON, latest_kappa))
    assert finding.outcome == category
    assert "FLC difference fall" in finding.values["criterion"]


def test_no_measurable_marker_gives_not_measurable():
    baseline = MarkerPoint(
        on=BASELINE_ON,
        spep_g_dl=D("0.5"),
        upep_mg_24h=D("100"),
        kappa_mg_l=D("20"),
        lambda_mg_l=D("10"),
    )
    finding = respond(baseline, baseline)
    assert finding.outcome == "not_measurable"


def test_missing_latest_serum_m_protein_asks_for_it():
    finding = respond(serum(BASELINE_ON, "3.0"), MarkerPoint(on=LATEST_ON))
    assert finding.outcome == "needs_confirmation"
    assert finding.message == "Enter serum M-protein for 2024-07-10 to suggest a response."


def test_undetectable_m_protein_without_immunofixation_and_marrow_needs_confirmation():
    finding = respond(serum(BASELINE_ON, "3.0"), serum(LATEST_ON, "0"))
    assert finding.outcome == "needs_confirmation"
    assert finding.values["criterion"] == "CR needs immunofixation and marrow"
    assert "serum and urine immunofixation" in finding.message
    assert "bone marrow plasma cell percentage" in finding.message


def test_negative_immunofixation_without_marrow_still_needs_confirmation():
    finding = respond(
        serum(BASELINE_ON, "3.0"), serum(LATEST_ON, "0"), immunofixation_negative=True
    )
    assert finding.outcome == "needs_confirmation"
    assert finding.message.endswith(
        "enter bone marrow plasma cell percentage for the physician to confirm."
    )


def test_positive_immunofixation_with_no_m_spike_is_vgpr():
    finding = respond(
        serum(BASELINE_ON, "3.0"), serum(LATEST_ON, "0"), immunofixation_negative=False
    )
    assert finding.outcome == "VGPR"
    assert finding.values["criterion"] == "M-protein seen only on immunofixation"


@pytest.mark.parametrize(("marrow_pct", "category"), [("4.9", "CR"), ("5", "VGPR")])
def test_cr_needs_fewer_than_5_percent_marrow_plasma_cells(marrow_pct, category):
    finding = respond(
        serum(BASELINE_ON, "3.0"),
        serum(LATEST_ON, "0"),
        immunofixation_negative=True,
        marrow_plasma_cell_pct=D(marrow_pct),
    )
    assert finding.outcome == category


def test_scr_needs_a_normal_ratio_and_no_clonal_marrow_plasma_cells():
    baseline = MarkerPoint(BASELINE_ON, D("3.0"), None, D("80"), D("10"), "kappa")
    latest = MarkerPoint(LATEST_ON, D("0"), None, D("12"), D("11"), "kappa")
    common = {"immunofixation_negative": True, "marrow_plasma_cell_pct": D("1")}
    assert respond(baseline, latest, **common, marrow_clonal_cells_absent=True).outcome == "sCR"
    assert respond(baseline, latest, **common).outcome == "CR"


def test_light_chain_disease_with_a_normal_ratio_needs_confirmation_for_cr():
    finding = respond(light_chains(BASELINE_ON, "300"), light_chains(LATEST_ON, "12", "11"))
    assert finding.outcome == "needs_confirmation"


@pytest.mark.parametrize(
    ("categories", "result"),
    [
        ([], None),
        (["PR"], None),
        (["PR", "PR"], "PR"),
        (["PR", "VGPR"], "PR"),
        (["VGPR", "PR"], "PR"),
        (["CR", "sCR"], "CR"),
        (["VGPR", "VGPR", "CR"], "VGPR"),
        (["SD", "SD"], "SD"),
        (["SD", "PD"], None),
        (["PD", "PD"], "PD"),
        (["SD", "MR"], None),
        (["needs_confirmation", "needs_confirmation"], None),
    ],
)
def test_two_consecutive_assessments_confirm_a_category(categories, result):
    assert confirmed(categories) == result


# --- MRD -----------------------------------------------------------------------------


def test_whole_months_count_completed_calendar_months():
    assert whole_months_between(date(2023, 1, 10), date(2024, 1, 10)) == 12
    assert whole_months_between(date(2023, 1, 10), date(2024, 1, 9)) == 11
    assert whole_months_between(date(2023, 1, 31), date(2023, 2, 28)) == 0


@pytest.mark.parametrize(
    ("second_negative_on", "outcome", "months"),
    [
        (date(2024, 1, 9), "negative_not_sustained", 11),
        (date(2024, 1, 10), "sustained_negative", 12),
    ],
)
def test_mrd_negativity_is_sustained_when_negatives_are_a_year_apart(
    second_negative_on, outcome, months
):
    results = [(date(2023, 1, 10), "negative", 5), (second_negative_on, "negative", 6)]
    finding = mrd_sustained(results, as_of=date(2024, 6, 1))
    assert finding.outcome == outcome
    assert finding.values["first_negative_on"] == date(2023, 1, 10)
    assert finding.values["months_sustained"] == months


def test_a_positive_result_restarts_the_run_of_negatives():
    results = [
        (date(2022, 1, 10), "negative", 5),
        (date(2022, 8, 10), "positive", 5),
        (date(2023, 1, 10), "negative", 5),
        (date(2023, 6, 10), "negative", 5),
    ]
    finding = mrd_sustained(results, as_of=date(2023, 7, 1))
    assert finding.outcome == "negative_not_sustained"
    assert finding.values["first_negative_on"] == date(2023, 1, 10)
    assert finding.values["last_positive_on"] == date(2022, 8, 10)


def test_negatives_below_10_to_the_minus_5_do_not_count():
    results = [(date(2023, 1, 10), "negative", 4), (date(2024, 2, 1), "negative", 4)]
    finding = mrd_sustained(results, as_of=date(2024, 6, 1))
    assert finding.outcome == "insufficient_sensitivity"
    assert finding.values["ignored_low_sensitivity_on"] == [date(2023, 1, 10), date(2024, 2, 1)]


def test_results_after_the_as_of_date_are_ignored():
    results = [(date(2023, 1, 10), "negative", 5), (date(2024, 2, 1), "negative", 5)]
    assert mrd_sustained(results, as_of=date(2024, 1, 1)).outcome == "negative_not_sustained"
    assert mrd_sustained([], as_of=date(2024, 1, 1)).outcome == "no_results"


def test_latest_positive_mrd_is_reported_positive():
    results = [(date(2023, 1, 10), "negative", 5), (date(2024, 2, 1), "positive", 5)]
    assert mrd_sustained(results, as_of=date(2024, 6, 1)).outcome == "positive"


def test_an_mrd_result_must_be_negative_or_positive():
    with pytest.raises(ValueError, match="negative"):
        mrd_sustained([(date(2023, 1, 10), "equivocal", 5)], as_of=date(2024, 1, 1))


def test_mrd_negative_for_24_months_prompts_a_discussion_never_an_order():
    results = [(date(2022, 1, 10), "negative", 5), (date(2024, 1, 10), "negative", 6)]
    prompt = mrd_discussion_prompt(
        mrd_results=results, cr_confirmed_since=None, as_of=date(2024, 2, 1)
    )
    assert prompt is not None
    assert prompt.outcome == "discuss"
    assert prompt.message.startswith("Discussion prompt, not an order: MRD negative for 24 months")
    assert "MRD-negative for 24 months may be candidates to discuss stopping" in prompt.source


def test_mrd_negative_for_23_months_gives_no_prompt():
    results = [(date(2022, 2, 10), "negative", 5), (date(2024, 1, 10), "negative", 5)]
    assert (
        mrd_discussion_prompt(mrd_results=results, cr_confirmed_since=None, as_of=date(2024, 2, 1))
        is None
    )


@pytest.mark.parametrize(
    ("as_of", "prompted"), [(date(2024, 3, 9), False), (date(2024, 3, 10), True)]
)
def test_cr_sustained_for_2_years_prompts_a_drug_holiday_discussion(as_of, prompted):
    prompt = mrd_discussion_prompt(
        mrd_results=[], cr_confirmed_since=date(2022, 3, 10), as_of=as_of
    )
    assert (prompt is not None) == prompted
    if prompt is not None:
        assert "in CR for 24 months" in prompt.message
        assert "drug holiday" in prompt.source
