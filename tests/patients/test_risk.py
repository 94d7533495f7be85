import pytest

from patients.risk import Cytogenetics, cytogenetic_risk
from patients.rulebook import Finding

ALL_NORMAL = dict.fromkeys(["del_17p", "t_4_14", "t_14_16", "t_14_20", "gain_1q", "del_1p"], False)


@pytest.mark.parametrize(
    ("abnormality", "label"),
    [
        ("del_17p", "del(17p)"),
        ("t_4_14", "t(4;14)"),
        ("t_14_16", "t(14;16)"),
        ("t_14_20", "t(14;20)"),
        ("gain_1q", "gain/amplification 1q"),
        ("del_1p", "del(1p)"),
    ],
)
def test_each_high_risk_abnormality_makes_the_patient_high_risk_and_names_itself(
    abnormality, label
):
    finding = cytogenetic_risk(Cytogenetics(**{**ALL_NORMAL, abnormality: True}))
    assert finding.outcome == "high"
    assert finding.message == f"High risk: {label} found."
    assert finding.values["abnormalities_found"] == [label]


def test_two_abnormalities_are_called_double_hit():
    finding = cytogenetic_risk(Cytogenetics(**{**ALL_NORMAL, "del_17p": True, "gain_1q": True}))
    assert "double hit" in finding.message


def test_all_tested_and_normal_is_standard_risk():
    assert cytogenetic_risk(Cytogenetics(**ALL_NORMAL)).outcome == "standard"


def test_untested_is_unknown_not_standard():
    finding = cytogenetic_risk(Cytogenetics(**{**ALL_NORMAL, "t_14_20": None}))
    assert finding.outcome == "unknown"
    assert "t(14;20)" in finding.message


def test_riss_stage_three_is_high_risk_even_without_fish():
    assert cytogenetic_risk(Cytogenetics(riss_stage="III")).outcome == "high"


@pytest.mark.parametrize(
    ("stage", "outcome"), [("I", "standard"), ("II", "standard"), ("III", "high"), ("", "standard")]
)
def test_only_riss_stage_three_is_high_risk_when_fish_is_normal(stage, outcome):
    # R-ISS (Palumbo 2015): stage III is the high-risk stage; I and II are not.
    assert cytogenetic_risk(Cytogenetics(**ALL_NORMAL, riss_stage=stage)).outcome == outcome


def test_an_unrecorded_riss_stage_is_shown_as_none_not_as_an_empty_stage():
    finding = cytogenetic_risk(Cytogenetics(**ALL_NORMAL, riss_stage=""))
    assert finding.values["riss_stage"] is None
    assert cytogenetic_risk(Cytogenetics(riss_stage="II")).values["riss_stage"] == "II"


# Whole findings, so every word a physician reads and the rule it cites are pinned.
RULE = "risk.cytogenetics.imwg2016"
SOURCE = "IMWG high-risk cytogenetics (Sonneveld 2016) and R-ISS (Palumbo 2015)"


def test_double_hit_finding_in_full():
    finding = cytogenetic_risk(Cytogenetics(**{**ALL_NORMAL, "del_17p": True, "gain_1q": True}))
    assert finding == Finding(
        RULE,
        "high",
        "High risk: del(17p), gain/amplification 1q found (2 high-risk abnormalities: "
        "'double hit').",
        {
            "abnormalities_found": ["del(17p)", "gain/amplification 1q"],
            "not_tested": [],
            "riss_stage": None,
        },
        source=SOURCE,
    )


def test_riss_three_finding_in_full():
    finding = cytogenetic_risk(Cytogenetics(riss_stage="III"))
    assert finding == Finding(
        RULE,
        "high",
        "High risk: R-ISS stage III.",
        {
            "abnormalities_found": [],
            "not_tested": [
                "del(17p)",
                "t(4;14)",
                "t(14;16)",
                "t(14;20)",
                "gain/amplification 1q",
                "del(1p)",
            ],
            "riss_stage": "III",
        },
        source=SOURCE,
    )


def test_unknown_finding_in_full():
    finding = cytogenetic_risk(Cytogenetics(**{**ALL_NORMAL, "t_14_20": None, "del_1p": None}))
    assert finding == Finding(
        RULE,
        "unknown",
        "Risk unknown: not tested for t(14;20), del(1p).",
        {"abnormalities_found": [], "not_tested": ["t(14;20)", "del(1p)"], "riss_stage": None},
        source=SOURCE,
    )


def test_standard_finding_in_full():
    finding = cytogenetic_risk(Cytogenetics(**ALL_NORMAL, riss_stage="I"))
    assert finding == Finding(
        RULE,
        "standard",
        "Standard risk: no high-risk abnormality found.",
        {"abnormalities_found": [], "not_tested": [], "riss_stage": "I"},
        source=SOURCE,
    )
