"""One conversion from lab results to IMWG marker points, shared by the progression flag
and the timeline chart, with one involved-chain rule (clinical reference sec. 7)."""

from datetime import date
from decimal import Decimal

import pytest

from monitoring.models import Flag
from monitoring.rules import imwg
from monitoring.timeline import selectors as timeline
from tests.monitoring.conftest import evaluate, open_flag, record

D = Decimal


def test_recorded_chain_is_used_for_every_point_whatever_the_ratio():
    points = imwg.marker_points(
        [(date(2025, 1, 1), "FLC_KAPPA", D("10")), (date(2025, 1, 1), "FLC_LAMBDA", D("300"))],
        recorded_chain="kappa",
    )
    assert [p.involved for p in points] == ["kappa"]


@pytest.mark.parametrize(
    ("kappa", "lam", "chain"),
    [
        # Normal kappa/lambda ratio 0.26-1.65 (reference sec. 7): no chain from the ratio.
        ("1.66", "1", "kappa"),  # just above the upper limit
        ("1.65", "1", None),  # at the upper limit: normal
        ("0.26", "1", None),  # at the lower limit: normal
        ("0.25", "1", "lambda"),  # just below the lower limit
    ],
)
def test_without_a_recorded_chain_the_baseline_ratio_decides(kappa, lam, chain):
    points = imwg.marker_points(
        [(date(2025, 1, 1), "FLC_KAPPA", D(kappa)), (date(2025, 1, 1), "FLC_LAMBDA", D(lam))],
        recorded_chain="",
    )
    assert points[0].involved == chain


def test_the_chain_does_not_switch_when_a_later_ratio_points_the_other_way():
    points = imwg.marker_points(
        [
            (date(2025, 1, 1), "FLC_KAPPA", D("10")),
            (date(2025, 1, 1), "FLC_LAMBDA", D("300")),  # ratio 0.03: lambda
            (date(2025, 4, 1), "FLC_KAPPA", D("300")),
            (date(2025, 4, 1), "FLC_LAMBDA", D("10")),  # ratio 30: would say kappa
        ],
        recorded_chain=None,
    )
    assert [p.involved for p in points] == ["lambda", "lambda"]


def test_same_day_later_reading_wins_and_readings_without_value_are_skipped():
    points = imwg.marker_points(
        [
            (date(2025, 1, 1), "SPEP_M", D("1.0")),
            (date(2025, 1, 1), "SPEP_M", D("1.2")),
            (date(2025, 1, 1), "SPEP_M", None),
            (date(2025, 2, 1), "UPEP_M24", None),
            (date(2025, 2, 1), "WBC", D("6")),
        ],
        recorded_chain="kappa",
    )
    assert [(p.on, p.spep_g_dl) for p in points] == [(date(2025, 1, 1), D("1.2"))]


@pytest.mark.django_db
def test_chart_and_flag_read_the_same_points_and_chain(patient, nurse, monkeypatch):
    """No chain recorded, lambda light-chain disease (ratio far below 0.26), a day with one
    chain only: before, the chart drew kappa as "involved" while the flag read lambda."""
    patient.diagnosis.light_chain = ""
    patient.diagnosis.save()
    record(patient, nurse, date(2025, 1, 1), FLC_KAPPA="10", FLC_LAMBDA="300")
    record(patient, nurse, date(2025, 2, 1), FLC_KAPPA="10")  # a missing lambda
    record(patient, nurse, date(2025, 4, 1), FLC_KAPPA="10", FLC_LAMBDA="150")
    # dFLC 140 -> 290 mg/L: a rise of 150 mg/L, above 10 mg/dL (100 mg/L) and 25%: PD.
    record(patient, nurse, date(2025, 7, 1), FLC_KAPPA="10", FLC_LAMBDA="300")

    seen = []
    real = imwg.marker_points

    def spy(*args, **kwargs):
        points = real(*args, **kwargs)
        seen.append(points)
        return points

    monkeypatch.setattr(imwg, "marker_points", spy)
    evaluate(patient, date(2025, 7, 1))
    chart = timeline.timeline_for(patient, today=date(2025, 7, 1))

    flag_points, chart_points = seen
    assert flag_points == chart_points == chart.marker_points
    assert {p.involved for p in flag_points} == {"lambda"}
    flag = open_flag(patient, Flag.Kind.POSSIBLE_PROGRESSION)
    assert flag is not None and "FLC difference" in flag.message
    assert chart.disease.involved_label == "Free lambda (involved)"
    assert [p.value for p in chart.disease.involved_flc] == [D("300"), D("150"), D("300")]
