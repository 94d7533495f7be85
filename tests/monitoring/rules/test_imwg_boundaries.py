"""IMWG rules at their boundaries and what they show (mutation testing, issue 13).

Thresholds typed from the clinical reference sec. 7 (Kumar 2016): measurable serum M >= 1 g/dL,
urine >= 200 mg/24h, involved FLC >= 10 mg/dL (100 mg/L) with an abnormal ratio (normal
0.26-1.65); PD >= 25% rise from nadir and >= 0.5 g/dL serum (>= 1 g/dL from a nadir >= 5),
urine >= 200 mg/24h, dFLC rise > 10 mg/dL; VGPR >= 90% fall with urine < 100 mg/24h; PR >= 50%
fall with urine >= 90% fall or < 200 mg/24h; MR 25-49%, urine 50-89%; CR < 5% marrow plasma
cells; MRD at 10^-5, sustained 12 months apart. Messages and values are what the physician
reads under a suggestion, so they are pinned whole.
"""

from datetime import date
from decimal import Decimal

import pytest

from monitoring.rules import imwg
from monitoring.rules.imwg import (
    MarkerPoint,
    confirmed,
    measurable_disease,
    mrd_discussion_prompt,
    mrd_sustained,
    progression,
    suggest_response,
)
from patients.rulebook import Threshold, thresholds_by_key

D = Decimal
B = date(2025, 1, 6)
N = date(2025, 4, 7)
L = date(2025, 7, 7)
NOTE = "A suggestion from labs; the physician confirms the response."


def _clinic(**values: str) -> dict[str, Threshold]:
    """Every IMWG setting, some changed by the clinic (as the engine passes them)."""
    table = dict(thresholds_by_key(imwg.DEFAULTS))
    for name, value in values.items():
        key = "imwg." + name.replace("__", ".")
        table[key] = Threshold(key=key, value=D(value), unit="", status="local", source="clinic")
    return table


def sp(on, g_dl=None, urine=None, kappa=None, lam=None, involved=None) -> MarkerPoint:
    return MarkerPoint(
        on=on,
        spep_g_dl=None if g_dl is None else D(g_dl),
        upep_mg_24h=None if urine is None else D(urine),
        kappa_mg_l=None if kappa is None else D(kappa),
        lambda_mg_l=None if lam is None else D(lam),
        involved=involved,
    )


# --- Progression -----------------------------------------------------------------------------


def test_serum_progression_finding_is_shown_whole():
    points = [sp(B, "3.0"), sp(N, "1.0"), sp(L, "1.5")]  # nadir 1.0 + 0.5 g/dL = 1.5
    finding = progression(points)
    assert finding.rule_id == "imwg.progression"
    assert finding.outcome == "progression"
    assert finding.message == (
        "Suggests progression: serum M-protein 1.5 g/dL reaches 1.5 g/dL (nadir 1 on "
        "2025-04-07). Confirm on a repeat assessment."
    )
    assert finding.values["nadir_g_dl"] == D("1.0")
    assert finding.values["nadir_on"] == N
    assert finding.values["threshold_g_dl"] == D("1.5")
    assert finding.values["latest_g_dl"] == D("1.5")
    assert finding.values["latest_on"] == L
    assert finding.values["criterion"] == "serum M-protein"
    assert finding.values["checks"] == [
        {
            "marker": "serum M-protein",
            "unit": "g/dL",
            "nadir": D("1.0"),
            "nadir_on": N,
            "threshold": D("1.5"),
            "latest": D("1.5"),
            "met": True,
        }
    ]
    assert [t.key for t in finding.thresholds] == [
        "imwg.pd.rise_from_nadir",
        "imwg.pd.serum_min_rise",
        "imwg.pd.serum_high_nadir",
        "imwg.pd.serum_min_rise_high_nadir",
        "imwg.pd.urine_min_rise",
        "imwg.pd.flc_difference_min_rise",
    ]
    assert finding.source.startswith("IMWG consensus criteria")


def test_values_are_shown_at_two_places():
    finding = progression([sp(B, "2.0"), sp(N, "1.333"), sp(L, "1.805")])
    assert finding.message == "serum M-protein 1.81 g/dL below the progression level 1.83 g/dL"


def test_no_progression_lists_every_check():
    points = [sp(B, "3.0", urine="500"), sp(N, "1.0", urine="300"), sp(L, "1.49", urine="499")]
    finding = progression(points)
    assert finding.outcome == "no_progression"
    assert finding.message == (
        "serum M-protein 1.49 g/dL below the progression level 1.5 g/dL; "
        "urine M-protein 499 mg/24h below the progression level 500 mg/24h"
    )
    assert finding.values["criterion"] is None
    assert finding.values["checks"][1] == {
        "marker": "urine M-protein",
        "unit": "mg/24h",
        "nadir": D("300"),
        "nadir_on": N,
        "threshold": D("500"),
        "latest": D("499"),
        "met": False,
    }


def test_not_assessable_with_one_assessment():
    finding = progression([sp(B, "3.0")])
    assert finding.outcome == "not_assessable"
    assert finding.message == (
        "Progression cannot be assessed: no marker measured at two assessments."
    )
    assert finding.values["latest_on"] == B
    assert finding.values["nadir_g_dl"] is None
    assert progression([]).values["latest_on"] is None


def test_a_marker_missing_at_the_latest_is_not_checked():
    finding = progression([sp(B, "3.0", urine="500"), sp(L, urine="900")])
    assert [c["marker"] for c in finding.values["checks"]] == ["urine M-protein"]
    finding = progression([sp(B, "3.0", urine="500"), sp(L, g_dl="4.0")])
    assert [c["marker"] for c in finding.values["checks"]] == ["serum M-protein"]


def test_a_clinic_serum_rise_reaches_the_check():
    table = _clinic(pd__serum_min_rise="0.3")
    assert progression([sp(B, "1.0"), sp(L, "1.3")], thresholds=table).outcome == "progression"
    assert progression([sp(B, "1.0"), sp(L, "1.3")]).outcome == "no_progression"


@pytest.mark.parametrize(("latest", "outcome"), [("99", "no_progression"), ("101", "progression")])
def test_urine_rise_of_200_mg_from_a_low_nadir(latest, outcome):
    # baseline 250 (measurable), nadir 0 (no 25% part): PD at >= 200 mg/24h
    points = [sp(B, urine="250"), sp(N, urine="0"), sp(L, urine=latest)]
    assert progression(points, thresholds=_clinic(pd__urine_min_rise="100")).outcome == outcome


def _flc_points(nadir_kappa: str, latest_kappa: str, first: str = "400") -> list[MarkerPoint]:
    # FLC-only disease: kappa 400 / lambda 10 at baseline, no M-spike
    return [
        sp(B, kappa=first, lam="10", involved="kappa"),
        sp(N, kappa=nadir_kappa, lam="10", involved="kappa"),
        sp(L, kappa=latest_kappa, lam="10", involved="kappa"),
    ]


@pytest.mark.parametrize(
    ("latest_kappa", "outcome"),
    [("110", "no_progression"), ("110.1", "progression")],  # dFLC nadir 0: rise must be > 100
)
def test_flc_rise_must_exceed_10_mg_dl(latest_kappa, outcome):
    assert progression(_flc_points("10", latest_kappa)).outcome == outcome


@pytest.mark.parametrize(
    ("latest_kappa", "outcome"),
    # dFLC nadir 590 (kappa 600): 25% = 147.5 > 100, so PD needs dFLC >= 737.5
    [("747.4", "no_progression"), ("747.5", "progression"), ("747.6", "progression")],
)
def test_flc_rise_of_25_percent_from_a_high_nadir(latest_kappa, outcome):
    finding = progression(_flc_points("600", latest_kappa, first="700"))
    assert finding.outcome == outcome
    flc = finding.values["checks"][0]
    assert flc["marker"] == "FLC difference"
    assert flc["unit"] == "mg/L"
    assert flc["nadir"] == D("590")
    assert flc["threshold"] == D("737.5")
    assert flc["latest"] == D(latest_kappa) - 10


def test_flc_nadir_below_zero_has_no_percentage_part():
    # dFLC nadir -5 (kappa 5 / lambda 10): PD needs a rise > 100 mg/L, to above 95
    points = _flc_points("5", "105")
    assert progression(points).outcome == "no_progression"
    assert progression(_flc_points("5", "105.1")).outcome == "progression"
    assert progression(points).values["checks"][0]["threshold"] == D("95")


def test_flc_rise_read_on_the_involved_chain_of_the_baseline():
    # baseline ratio 0.025 points to lambda; later points carry no involved chain
    points = [
        sp(B, kappa="10", lam="400"),
        sp(N, kappa="10", lam="20"),
        sp(L, kappa="10", lam="130.1"),
    ]
    finding = progression(points)
    assert finding.outcome == "progression"
    assert finding.values["checks"][0]["latest"] == D("120.1")


# --- Measurable disease ----------------------------------------------------------------------


def test_measurable_disease_finding_is_shown_whole():
    finding = measurable_disease(sp(B, "1.0", urine="200", kappa="100", lam="10"))
    assert finding.rule_id == "imwg.measurable_disease"
    assert finding.outcome == "measurable"
    assert finding.message == ("Measurable by serum M-protein, urine M-protein, free light chains.")
    assert finding.values == {
        "on": B,
        "spep_g_dl": D("1.0"),
        "upep_mg_24h": D("200"),
        "involved": "kappa",
        "involved_flc_mg_l": D("100"),
        "involved_flc_mg_dl": D("10"),
        "flc_ratio": D("10"),
        "measurable_by": ["serum M-protein", "urine M-protein", "free light chains"],
    }
    assert [t.key for t in finding.thresholds] == [
        "imwg.measurable.serum_m_protein",
        "imwg.measurable.urine_m_protein",
        "imwg.measurable.involved_flc",
        "imwg.flc_ratio.normal_low",
        "imwg.flc_ratio.normal_high",
    ]
    assert finding.source.startswith("IMWG consensus criteria")


@pytest.mark.parametrize(
    ("point", "outcome", "message", "by"),
    [
        (sp(B, "0.99"), "not_measurable", "No marker reaches the IMWG measurable level.", []),
        (sp(B, urine="199"), "not_measurable", "No marker reaches the IMWG measurable level.", []),
        (sp(B, urine="200"), "measurable", "Measurable by urine M-protein.", ["urine M-protein"]),
        (
            sp(B, kappa="10", lam="100"),  # lambda involved at 100 mg/L, ratio 0.1
            "measurable",
            "Measurable by free light chains.",
            ["free light chains"],
        ),
        (sp(B, kappa="10", lam="99.9"), "not_measurable", None, []),
        (sp(B, kappa="5"), "not_measurable", None, []),  # a kappa alone is a result
        (sp(B), "not_assessable", "No serum, urine or light chain result.", []),
    ],
)
def test_measurable_disease_at_the_limits(point, outcome, message, by):
    finding = measurable_disease(point)
    assert finding.outcome == outcome
    if message:
        assert finding.message == message
    assert finding.values["measurable_by"] == by


@pytest.mark.parametrize(
    ("kappa", "lam", "measurable"),
    [
        ("26", "100", False),  # ratio 0.26: normal, so light chains are not measurable
        ("25.9", "100", True),  # ratio 0.259: lambda involved at 100 mg/L
        ("165", "100", False),  # ratio 1.65: normal
        ("165.1", "100", True),  # ratio 1.651: kappa involved at 165.1 mg/L
    ],
)
def test_measurable_free_light_chains_need_an_abnormal_ratio(kappa, lam, measurable):
    finding = measurable_disease(sp(B, kappa=kappa, lam=lam))
    assert (finding.outcome == "measurable") is measurable


def test_a_clinic_measurable_limit_reaches_the_rule():
    table = _clinic(measurable__serum_m_protein="0.5")
    assert measurable_disease(sp(B, "0.5"), table).outcome == "measurable"
    assert measurable_disease(sp(B, "0.5")).outcome == "not_measurable"


# --- Response --------------------------------------------------------------------------------


def _respond(baseline, latest, ifx=None, marrow=None, clonal=None, history=(), thresholds=None):
    return suggest_response(
        baseline=baseline,
        latest=latest,
        immunofixation_negative=ifx,
        marrow_plasma_cell_pct=None if marrow is None else D(marrow),
        marrow_clonal_cells_absent=clonal,
        history=history,
        thresholds=thresholds,
    )


def test_partial_response_finding_is_shown_whole():
    finding = _respond(sp(B, "2.0", urine="300"), sp(L, "1.0", urine="199"))
    assert finding.rule_id == "imwg.response"
    assert finding.outcome == "PR"
    assert finding.message == (f"Suggested response: PR (serum M-protein fall 50.0% ≥ 50%). {NOTE}")
    assert finding.values == {
        "baseline_on": B,
        "latest_on": L,
        "measurable_by": ["serum M-protein", "urine M-protein"],
        "serum_change_pct": D("-50.0"),
        "urine_change_pct": D("-33.7"),
        "flc_difference_change_pct": None,
        "immunofixation_negative": None,
        "marrow_plasma_cell_pct": None,
        "criterion": "serum M-protein fall 50.0% ≥ 50%",
    }
    assert len(finding.thresholds) == 15
    assert finding.thresholds[0].key == "imwg.measurable.serum_m_protein"
    assert finding.thresholds[-1].key == "imwg.cr.marrow_plasma_cells_below"
    assert finding.source.startswith("IMWG consensus criteria")


@pytest.mark.parametrize(("urine", "category"), [("99", "VGPR"), ("100", "PR"), ("101", "PR")])
def test_vgpr_needs_urine_below_100(urine, category):
    finding = _respond(sp(B, "2.0", urine="150"), sp(L, "0.2", urine=urine))
    assert finding.outcome == category


def test_flc_percent_change_is_shown():
    finding = _respond(
        sp(B, kappa="410", lam="10", involved="kappa"),
        sp(L, kappa="210", lam="10", involved="kappa"),
    )
    assert finding.values["flc_difference_change_pct"] == D("-50.0")
    assert finding.outcome == "PR"
    assert finding.values["criterion"] == "FLC difference fall 50.0% ≥ 50%"


def test_urine_only_response_is_explained():
    finding = _respond(sp(B, urine="1000"), sp(L, urine="150"))
    assert finding.outcome == "PR"
    assert finding.values["criterion"] == (
        "urine M-protein 150 mg/24h (fall 85.0%): ≥ 90% or < 200"
    )
    finding = _respond(sp(B, urine="1000"), sp(L, urine="99"))
    assert finding.values["criterion"] == "urine M-protein 99 mg/24h (fall 90.1%) < 100 mg/24h"


def test_urine_not_measurable_at_baseline_is_not_used_for_response():
    # baseline serum 0.5 (not measurable) and urine 150 (not measurable) but kappa measurable
    finding = _respond(
        sp(B, "0.5", urine="150", kappa="400", lam="10"),
        sp(L, "0.5", urine="10", kappa="400", lam="10"),
    )
    assert finding.outcome == "SD"
    assert finding.values["criterion"].startswith("FLC difference fall 0.0%")


def test_serum_shown_fall_in_the_criterion():
    finding = _respond(sp(B, "2.0"), sp(L, "1.7"))
    assert finding.outcome == "SD"
    assert finding.values["criterion"] == (
        "serum M-protein fall 15.0%: below the MR level or urine criterion not met"
    )


def test_sd_when_no_marker_is_comparable():
    # A clinic limit of 0 makes a zero baseline "measurable"; no fall can be computed from 0.
    table = _clinic(measurable__serum_m_protein="0")
    finding = _respond(sp(B, "0"), sp(L, "0.1"), thresholds=table)
    assert finding.outcome == "SD"
    assert finding.values["criterion"] == "no marker comparable between baseline and latest"


def test_missing_latest_results_are_named():
    finding = _respond(sp(B, "2.0", urine="300"), sp(L))
    assert finding.outcome == "needs_confirmation"
    assert finding.message == (
        "Enter serum M-protein, 24-hour urine M-protein for 2025-07-07 to suggest a response."
    )
    finding = _respond(sp(B, kappa="400", lam="10", involved="kappa"), sp(L, kappa="20"))
    assert finding.message == ("Enter free kappa and lambda for 2025-07-07 to suggest a response.")


def test_missing_lambda_found_on_the_baseline_chain():
    # involved chain from the baseline ratio (lambda); the latest has both chains
    finding = _respond(sp(B, kappa="10", lam="400"), sp(L, kappa="10", lam="200"))
    assert finding.outcome == "PR"


def test_not_measurable_message():
    finding = _respond(sp(B, "0.5"), sp(L, "0.1"))
    assert finding.outcome == "not_measurable"
    assert finding.message == (
        "No measurable serum M-protein, urine M-protein or light chains at baseline: "
        "response cannot be suggested from labs."
    )
    assert finding.values["criterion"] == "no measurable marker at baseline"


def test_progression_within_response_keeps_its_thresholds():
    finding = _respond(sp(B, "3.0"), sp(L, "3.75"), history=[sp(N, "1.0")])
    assert finding.outcome == "PD"
    assert finding.values["criterion"] == "serum M-protein rise from nadir"
    assert finding.message.startswith("Suggests progression: serum M-protein 3.75 g/dL")
    assert finding.thresholds[0].key == "imwg.pd.rise_from_nadir"


def test_undetectable_m_protein_without_immunofixation_and_marrow():
    finding = _respond(sp(B, "2.0"), sp(L, "0"))
    assert finding.outcome == "needs_confirmation"
    assert finding.values["criterion"] == "CR needs immunofixation and marrow"
    assert finding.message == (
        "M-protein is undetectable. CR or sCR cannot be suggested from serum alone: enter "
        "serum and urine immunofixation and bone marrow plasma cell percentage for the "
        "physician to confirm."
    )


def test_cr_and_scr_messages():
    cr = _respond(sp(B, "2.0"), sp(L, "0"), ifx=True, marrow="4.9")
    assert cr.outcome == "CR"
    assert cr.message == (
        "Suggested response: CR. sCR also needs marrow clonality (IHC or flow) and a normal "
        f"FLC ratio. {NOTE}"
    )
    assert cr.values["criterion"] == "negative immunofixation and marrow plasma cells < 5%"
    cr_clonal = _respond(sp(B, "2.0"), sp(L, "0"), ifx=True, marrow="1", clonal=False)
    assert cr_clonal.message == f"Suggested response: CR. {NOTE}"
    scr = _respond(
        sp(B, "2.0"), sp(L, "0", kappa="10", lam="10"), ifx=True, marrow="1", clonal=True
    )
    assert scr.outcome == "sCR"
    assert scr.values["criterion"] == "CR with normal FLC ratio and no clonal marrow plasma cells"
    assert scr.message == f"Suggested response: sCR. {NOTE}"
    not_cr = _respond(sp(B, "2.0"), sp(L, "0"), ifx=True, marrow="5")
    assert not_cr.outcome == "VGPR"


def test_a_clinic_marrow_limit_reaches_the_cr_rule():
    table = _clinic(cr__marrow_plasma_cells_below="10")
    finding = _respond(sp(B, "2.0"), sp(L, "0"), ifx=True, marrow="6", thresholds=table)
    assert finding.outcome == "CR"


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["PD", "SD", "PR"], None),
        (["PR", "SD", "SD"], "SD"),
        (["SD", "PR", "VGPR"], "PR"),
        (["VGPR", "PR"], "PR"),
    ],
)
def test_confirmation_reads_the_last_two(categories, expected):
    assert confirmed(categories) == expected


# --- MRD -------------------------------------------------------------------------------------


def test_mrd_sustained_finding_is_shown_whole():
    results = [(date(2024, 1, 15), "negative", 5), (date(2025, 1, 15), "negative", 6)]
    finding = mrd_sustained(results, date(2025, 2, 1))
    assert finding.rule_id == "imwg.mrd_sustained"
    assert finding.outcome == "sustained_negative"
    assert finding.message == "MRD negative since 2024-01-15, sustained 12 months."
    assert finding.values == {
        "first_negative_on": date(2024, 1, 15),
        "last_negative_on": date(2025, 1, 15),
        "months_sustained": 12,
        "last_positive_on": None,
        "ignored_low_sensitivity_on": [],
        "as_of": date(2025, 2, 1),
    }
    assert [t.key for t in finding.thresholds] == [
        "imwg.mrd.min_sensitivity_exponent",
        "imwg.mrd.sustained_months",
    ]
    assert finding.source.startswith("IMWG consensus criteria")


def test_mrd_not_yet_sustained_and_insensitive():
    results = [(date(2024, 1, 15), "negative", 5), (date(2025, 1, 14), "negative", 5)]
    finding = mrd_sustained(results, date(2025, 2, 1))
    assert finding.outcome == "negative_not_sustained"
    assert finding.message == (
        "MRD negative since 2024-01-15; sustained needs negative results 12 months apart."
    )
    assert finding.values["months_sustained"] == 11
    low = mrd_sustained([(date(2024, 1, 15), "negative", 4)], date(2025, 2, 1))
    assert low.outcome == "insufficient_sensitivity"
    assert low.message == "MRD negative only at a sensitivity below 10^-5."
    assert low.values["ignored_low_sensitivity_on"] == [date(2024, 1, 15)]


def test_mrd_positive_last_and_results_after_as_of():
    results = [
        (date(2023, 1, 10), "negative", 5),
        (date(2023, 6, 10), "positive", 5),
        (date(2024, 1, 15), "negative", 5),
        (date(2025, 3, 1), "negative", 5),
    ]
    finding = mrd_sustained(results, date(2025, 2, 1))
    assert finding.outcome == "negative_not_sustained"
    assert finding.values["last_positive_on"] == date(2023, 6, 10)
    assert finding.values["first_negative_on"] == date(2024, 1, 15)
    assert finding.values["last_negative_on"] == date(2024, 1, 15)
    positive = mrd_sustained(results[:2], date(2025, 2, 1))
    assert positive.outcome == "positive"
    assert positive.message == "MRD positive on 2023-06-10."
    none = mrd_sustained([], date(2025, 2, 1))
    assert (none.outcome, none.message) == ("no_results", "No MRD result recorded.")


def test_mrd_result_must_be_negative_or_positive():
    with pytest.raises(ValueError, match="MRD result must be 'negative' or 'positive', got 'x'."):
        mrd_sustained([(date(2024, 1, 1), "x", 5)], date(2025, 1, 1))


def test_a_clinic_mrd_setting_reaches_the_rule():
    table = _clinic(mrd__sustained_months="6", mrd__min_sensitivity_exponent="4")
    results = [(date(2024, 1, 15), "negative", 4), (date(2024, 7, 15), "negative", 4)]
    assert mrd_sustained(results, date(2024, 8, 1), table).outcome == "sustained_negative"


def test_discussion_prompt_shown_whole():
    results = [(date(2023, 1, 15), "negative", 5), (date(2025, 1, 15), "negative", 5)]
    prompt = mrd_discussion_prompt(
        mrd_results=results, cr_confirmed_since=date(2023, 2, 1), as_of=date(2025, 2, 1)
    )
    assert prompt.rule_id == "imwg.discussion_prompt"
    assert prompt.outcome == "discuss"
    assert prompt.message == (
        "Discussion prompt, not an order: MRD negative for 24 months and in CR for 24 months. "
        "The physician and patient may discuss whether to continue maintenance."
    )
    assert prompt.values == {
        "mrd_months_sustained": 24,
        "mrd_first_negative_on": date(2023, 1, 15),
        "cr_confirmed_since": date(2023, 2, 1),
        "cr_months": 24,
        "as_of": date(2025, 2, 1),
    }
    assert [t.key for t in prompt.thresholds] == [
        "seed.discussion.mrd_negative_months",
        "seed.discussion.cr_months",
    ]
    assert prompt.source.startswith("Seed: about a third of MRD-positive patients")


@pytest.mark.parametrize(
    ("cr_since", "expected"),
    [(date(2023, 2, 2), None), (date(2023, 2, 1), "in CR for 24 months")],
)
def test_discussion_prompt_at_24_months_of_cr(cr_since, expected):
    prompt = mrd_discussion_prompt(
        mrd_results=[], cr_confirmed_since=cr_since, as_of=date(2025, 2, 1)
    )
    if expected is None:
        assert prompt is None
    else:
        assert expected in prompt.message
        assert prompt.values["mrd_first_negative_on"] is None


def test_discussion_prompt_needs_24_months_of_mrd_negativity():
    results = [(date(2023, 1, 15), "negative", 5), (date(2025, 1, 14), "negative", 5)]
    assert (
        mrd_discussion_prompt(mrd_results=results, cr_confirmed_since=None, as_of=date(2025, 2, 1))
        is None
    )


def test_a_clinic_discussion_setting_reaches_the_prompt():
    table = dict(thresholds_by_key(imwg.DEFAULTS))
    key = "seed.discussion.cr_months"
    table[key] = Threshold(key=key, value=D(12), unit="months", status="local", source="clinic")
    prompt = mrd_discussion_prompt(
        mrd_results=[],
        cr_confirmed_since=date(2024, 2, 1),
        as_of=date(2025, 2, 1),
        thresholds=table,
    )
    assert prompt is not None
    assert prompt.message.startswith("Discussion prompt, not an order: in CR for 12 months.")


# --- Second round: survivors of the first mutation run -------------------------------------


def test_a_baseline_of_exactly_1_g_dl_is_measurable_and_its_fall_counts():
    finding = _respond(sp(B, "1.0"), sp(L, "0.5"))
    assert finding.outcome == "PR"
    assert finding.values["serum_change_pct"] == D("-50.0")


@pytest.mark.parametrize(("kappa", "lam"), [("165", "100"), ("26", "100")])
def test_a_ratio_on_the_normal_limit_points_to_no_chain(kappa, lam):
    assert measurable_disease(sp(B, kappa=kappa, lam=lam)).values["involved"] is None


@pytest.mark.parametrize(
    ("latest", "outcome"), [("1249", "no_progression"), ("1250", "progression")]
)
def test_urine_rise_of_25_percent_from_a_high_nadir(latest, outcome):
    # nadir 1000 mg/24h: 25% = 250 > 200, so PD at >= 1250
    points = [sp(B, urine="2000"), sp(N, urine="1000"), sp(L, urine=latest)]
    assert progression(points).outcome == outcome


def test_flc_progression_without_a_latest_pair_is_not_assessable():
    points = [sp(B, kappa="400", lam="10", involved="kappa"), sp(L, kappa="900")]
    finding = progression(points)
    assert finding.outcome == "not_assessable"


def test_a_clinic_without_an_flc_minimum_rise_still_has_no_percentage_part_below_zero():
    table = _clinic(pd__flc_difference_min_rise="0")
    # dFLC nadir -5: no 25% part, so any rise above 0 is PD
    assert progression(_flc_points("5", "5.5"), thresholds=table).outcome == "progression"


def test_flc_change_read_on_the_chain_the_baseline_ratio_points_to():
    finding = _respond(sp(B, kappa="10", lam="400"), sp(L, kappa="10", lam="200"))
    assert finding.values["flc_difference_change_pct"] == D("-51.3")  # 390 -> 190


def test_missing_latest_criterion_is_shown():
    finding = _respond(sp(B, "2.0"), sp(L))
    assert finding.values["criterion"] == "missing latest result"


def test_a_clinic_progression_setting_reaches_the_response():
    table = _clinic(pd__serum_min_rise="0.3")
    finding = _respond(sp(B, "1.0"), sp(L, "1.3"), thresholds=table)
    assert finding.outcome == "PD"


def test_light_chains_not_measurable_are_not_read_for_response():
    # A clinic limit of 0 makes a zero serum "measurable"; the light chains (involved 50 mg/L)
    # are not measurable, so their 75% fall must not suggest a response.
    table = _clinic(measurable__serum_m_protein="0")
    finding = _respond(
        sp(B, "0", kappa="50", lam="10", involved="kappa"),
        sp(L, "0.1", kappa="20", lam="10", involved="kappa"),
        thresholds=table,
    )
    assert finding.outcome == "SD"


def test_an_mrd_result_on_the_day_counts():
    results = [(date(2024, 1, 15), "negative", 5), (date(2025, 1, 15), "negative", 5)]
    assert mrd_sustained(results, date(2025, 1, 15)).outcome == "sustained_negative"


def test_no_negative_means_zero_months():
    finding = mrd_sustained([(date(2024, 1, 15), "positive", 5)], date(2025, 1, 15))
    assert finding.values["months_sustained"] == 0


def test_mrd_positive_names_the_latest_result():
    results = [
        (date(2024, 1, 15), "positive", 5),
        (date(2024, 6, 15), "positive", 5),
        (date(2024, 9, 15), "positive", 5),
    ]
    assert mrd_sustained(results, date(2025, 1, 15)).message == "MRD positive on 2024-09-15."


def test_a_positive_and_a_negative_on_the_same_day_read_as_positive():
    same_day = date(2024, 6, 15)
    for results in (
        [(same_day, "positive", 5), (same_day, "negative", 6)],
        [(same_day, "negative", 6), (same_day, "positive", 5)],
    ):
        finding = mrd_sustained(results, date(2025, 1, 15))
        assert finding.outcome == "positive"
        assert finding.message == "MRD positive on 2024-06-15."


def test_a_clinic_mrd_setting_reaches_the_discussion_prompt():
    table = _clinic(mrd__sustained_months="6")
    key = "seed.discussion.mrd_negative_months"
    table[key] = Threshold(key=key, value=D(6), unit="months", status="local", source="clinic")
    results = [(date(2024, 1, 15), "negative", 5), (date(2024, 7, 15), "negative", 5)]
    prompt = mrd_discussion_prompt(
        mrd_results=results, cr_confirmed_since=None, as_of=date(2024, 8, 1), thresholds=table
    )
    assert prompt is not None
    assert "MRD negative for 6 months" in prompt.message
