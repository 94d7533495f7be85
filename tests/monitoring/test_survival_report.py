"""``survival_report`` on a CSV: the same estimator the Cohort page uses, R's numbers."""

import json

import pytest
from django.core.management import CommandError, call_command
from lifelines.datasets import load_lung


@pytest.fixture
def lung_csv(tmp_path):
    path = tmp_path / "lung.csv"
    frame = load_lung()
    frame["status"] = frame["status"] + 1  # R's coding: 1 = censored, 2 = dead
    frame.to_csv(path, index=False)
    return path


def test_survival_report_json_matches_r_for_lung_by_sex(lung_csv, capsys):
    call_command(
        "survival_report",
        csv=str(lung_csv),
        time="time",
        event="status",
        group="sex",
        format="json",
    )
    result = json.loads(capsys.readouterr().out)
    assert result["groups"]["1"] == {"n": 138, "events": 112, "median": 270.0, "ci": [212.0, 310.0]}
    assert result["groups"]["2"]["median"] == 426.0
    assert result["groups"]["2"]["ci"] == [348.0, 550.0]
    assert round(result["logrank"]["chi2"], 1) == 10.3
    assert result["logrank"]["df"] == 1
    assert 0.001 < result["logrank"]["p"] < 0.002


def test_survival_report_text_without_group(lung_csv, capsys):
    call_command("survival_report", csv=str(lung_csv), time="time", event="status")
    out = capsys.readouterr().out
    assert "all" in out and "310" in out and "285-363" in out
    assert "Log-rank" not in out


def test_survival_report_names_a_missing_column(lung_csv):
    with pytest.raises(CommandError, match="no column 'days'"):
        call_command("survival_report", csv=str(lung_csv), time="days", event="status")


def test_survival_report_refuses_unknown_event_codes(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("t,e\n1,3\n2,0\n")
    with pytest.raises(CommandError, match="event codes"):
        call_command("survival_report", csv=str(path), time="t", event="e")


def test_survival_report_text_shows_log_and_log_log_intervals(lung_csv, capsys):
    call_command("survival_report", csv=str(lung_csv), time="time", event="status", group="sex")
    out = capsys.readouterr().out
    assert "212-310" in out and "210-306" in out  # R: conf.type "log" and "log-log"
    assert "Log-rank: chi-square 10.33 on 1 df" in out
