import pytest

from patients.risk import Cytogenetics, cytogenetic_risk

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
