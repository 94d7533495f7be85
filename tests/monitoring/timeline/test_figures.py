"""The timeline's figure builders, tested without a database."""

from datetime import date
from decimal import Decimal as D

from monitoring.timeline.figures import (
    CountSeries,
    DiseaseSeries,
    DoseStep,
    Marker,
    Point,
    RegimenTrack,
    Span,
    ThresholdLine,
    counts_figure,
    disease_figure,
    regimen_figure,
)

RANGE = (date(2025, 1, 1), date(2025, 12, 31))


def anc_series(*points):
    return CountSeries("ANC", "ANC", "10^9/L", tuple(points))


def trace(figure, code):
    return next(t for t in figure["data"] if t["meta"]["code"] == code)


def test_counts_figure_has_a_trace_per_count_on_a_shared_date_axis():
    series = [
        anc_series(Point(date(2025, 1, 5), D("1.8"), "10^9/L", 0)),
        CountSeries(
            "PLT", "Platelets", "10^9/L", (Point(date(2025, 1, 5), D("140"), "10^9/L", 0),)
        ),
        CountSeries("HGB", "Hemoglobin", "g/dL", (Point(date(2025, 1, 5), D("11.2"), "g/dL", 1),)),
        CountSeries("WBC", "WBC", "10^9/L", (Point(date(2025, 1, 5), D("3.9"), "10^9/L", 0),)),
    ]
    figure = counts_figure(series, [], x_range=RANGE)
    assert [t["meta"]["code"] for t in figure["data"]] == ["ANC", "PLT", "HGB", "WBC"]
    assert [figure["layout"][a].get("matches") for a in ("xaxis2", "xaxis3", "xaxis4")] == [
        "x",
        "x",
        "x",
    ]
    assert figure["layout"]["xaxis"]["range"] == ["2025-01-01", "2025-12-31"]


def test_counts_hover_shows_value_unit_grade_and_collection_date():
    figure = counts_figure([anc_series(Point(date(2025, 3, 2), D("0.4"), "10^9/L", 4, "5.0"))], [])
    anc = trace(figure, "ANC")
    assert anc["y"] == [0.4]
    assert anc["customdata"] == [["10^9/L", "grade 4 (CTCAE v5.0)", "2025-03-02"]]
    assert "%{customdata[1]}" in anc["hovertemplate"] and "%{customdata[0]}" in anc["hovertemplate"]


def test_entered_in_error_results_are_never_drawn():
    figure = counts_figure(
        [
            anc_series(
                Point(date(2025, 1, 5), D("1.8"), "10^9/L", 0),
                Point(date(2025, 2, 5), D("0.02"), "10^9/L", 4, entered_in_error=True),
            )
        ],
        [],
    )
    assert trace(figure, "ANC")["y"] == [1.8]


def test_hold_threshold_is_a_dashed_line_at_its_value_with_its_source():
    hold = ThresholdLine("ANC", D("0.5"), "hold < 0.5", "label: lenalidomide PI")
    grade3 = ThresholdLine("ANC", D("1.0"), "CTCAE grade 3-4", "CTCAE v5.0", kind="grade")
    figure = counts_figure(
        [anc_series(Point(date(2025, 1, 5), D("1.8"), "10^9/L", 0))], [hold, grade3]
    )
    line = next(s for s in figure["layout"]["shapes"] if s["type"] == "line")
    zone = next(s for s in figure["layout"]["shapes"] if s["type"] == "rect")
    assert (line["y0"], line["y1"], line["yref"]) == (0.5, 0.5, "y")
    assert (zone["y0"], zone["y1"]) == (0, 1.0)
    assert "label: lenalidomide PI" in figure["layout"]["annotations"][0]["text"]


def test_thresholds_are_drawn_on_the_row_of_their_own_count():
    series = [
        anc_series(Point(date(2025, 1, 5), D("1.8"), "10^9/L", 0)),
        CountSeries(
            "PLT", "Platelets", "10^9/L", (Point(date(2025, 1, 5), D("140"), "10^9/L", 0),)
        ),
    ]
    figure = counts_figure(series, [ThresholdLine("PLT", D("30"), "hold < 30", "label")])
    (line,) = figure["layout"]["shapes"]
    assert (line["yref"], line["y0"]) == ("y2", 30.0)


def test_regimen_track_draws_dose_as_a_step_line_and_shades_holds():
    track = RegimenTrack(
        steps=(
            DoseStep(date(2025, 1, 1), D("10"), "10 mg d1-21"),
            DoseStep(date(2025, 4, 1), D("5"), "5 mg d1-21"),
        ),
        holds=(Span(date(2025, 3, 10), date(2025, 4, 1), "ANC 0.4"),),
        cycle_starts=(date(2025, 1, 1), date(2025, 1, 29)),
        events=(Marker(date(2025, 3, 10), "hold", "Hold", "ANC 0.4 grade 4"),),
    )
    figure = regimen_figure(track, today=date(2025, 6, 1))
    dose = trace(figure, "dose")
    assert dose["line"]["shape"] == "hv"
    assert dose["y"] == [10.0, 5.0, 5.0]  # no hold between the steps
    assert dose["x"][-1] == "2025-06-01"
    hold = next(s for s in figure["layout"]["shapes"] if s["type"] == "rect")
    assert (hold["x0"], hold["x1"]) == ("2025-03-10", "2025-04-01")
    assert sum(1 for s in figure["layout"]["shapes"] if s.get("name") == "cycle start") == 2
    assert trace(figure, "events")["text"] == ["Hold: ANC 0.4 grade 4"]


def test_an_open_hold_is_shaded_until_today():
    track = RegimenTrack(
        steps=(DoseStep(date(2025, 1, 1), D("10"), "10 mg"),),
        holds=(Span(date(2025, 5, 1), None, "PLT 20"),),
    )
    hold = next(
        s
        for s in regimen_figure(track, today=date(2025, 5, 20))["layout"]["shapes"]
        if s["type"] == "rect"
    )
    assert hold["x1"] == "2025-05-20"


def test_discontinuation_ends_the_dose_line_and_draws_a_marker_line():
    track = RegimenTrack(
        steps=(DoseStep(date(2025, 1, 1), D("10"), "10 mg"),), discontinued_on=date(2025, 8, 1)
    )
    figure = regimen_figure(track, today=date(2025, 9, 1))
    assert trace(figure, "dose")["x"] == ["2025-01-01"]
    assert any(
        s.get("name") == "discontinued" and s["x0"] == "2025-08-01"
        for s in figure["layout"]["shapes"]
    )


def test_disease_chart_marks_the_nadir_and_draws_the_progression_line_from_it():
    nadir = Point(date(2025, 6, 1), D("0.8"), "g/dL")
    disease = DiseaseSeries(
        mprotein=(
            Point(date(2025, 1, 1), D("2.4"), "g/dL"),
            nadir,
            Point(date(2025, 9, 1), D("1.1"), "g/dL"),
        ),
        involved_flc=(Point(date(2025, 1, 1), D("120"), "mg/L"),),
        flc_ratio=(Point(date(2025, 1, 1), D("4.2"), "ratio"),),
        involved_label="Free kappa",
        nadir=nadir,
        progression_threshold_g_dl=D("1.3"),
        progression_source="IMWG 2016: +25% and >= 0.5 g/dL",
    )
    figure = disease_figure(disease, x_range=RANGE)
    assert trace(figure, "nadir")["x"] == ["2025-06-01"]
    line = next(s for s in figure["layout"]["shapes"] if s["name"] == "progression threshold")
    assert (line["x0"], line["x1"], line["y0"]) == ("2025-06-01", "2025-12-31", 1.3)
    assert figure["layout"]["yaxis2"]["type"] == "log"
    assert "IMWG 2016" in figure["layout"]["annotations"][0]["text"]


def test_disease_chart_without_a_nadir_draws_no_progression_line():
    figure = disease_figure(DiseaseSeries(mprotein=(Point(date(2025, 1, 1), D("2.4"), "g/dL"),)))
    assert figure["layout"]["shapes"] == []
    assert "nadir" not in [t["meta"]["code"] for t in figure["data"]]


def test_figures_are_plain_json():
    import json

    track = RegimenTrack(steps=(DoseStep(date(2025, 1, 1), D("10"), "10 mg"),))
    for figure in (
        counts_figure([anc_series(Point(date(2025, 1, 5), D("1.8"), "10^9/L", 0))], []),
        regimen_figure(track, today=date(2025, 2, 1)),
        disease_figure(DiseaseSeries()),
    ):
        # Plain JSON: what the page embeds reads back equal (no Decimal, date or tuple).
        assert json.loads(json.dumps(figure)) == figure
        assert set(figure) >= {"data", "layout"}


def test_the_dose_before_a_hold_is_drawn_up_to_the_hold():
    track = RegimenTrack(
        steps=(
            DoseStep(date(2025, 1, 1), D("10"), "10 mg"),
            DoseStep(date(2025, 3, 1), None, "held"),
            DoseStep(date(2025, 3, 20), D("5"), "5 mg"),
        ),
        holds=(Span(date(2025, 3, 1), date(2025, 3, 20), "ANC 0.4"),),
    )
    dose = trace(regimen_figure(track, today=date(2025, 5, 1)), "dose")
    assert list(zip(dose["x"], dose["y"], strict=True)) == [
        ("2025-01-01", 10.0),
        ("2025-03-01", 10.0),
        ("2025-03-01", None),
        ("2025-03-20", 5.0),
        ("2025-05-01", 5.0),
    ]


def test_an_open_hold_starting_today_is_shaded_to_the_edge_of_the_view():
    track = RegimenTrack(
        steps=(DoseStep(date(2025, 1, 1), D("10"), "10 mg"),),
        holds=(Span(date(2025, 5, 20), None, "ANC 0.4"),),
    )
    figure = regimen_figure(
        track, x_range=(date(2025, 1, 1), date(2025, 5, 27)), today=date(2025, 5, 20)
    )
    hold = next(s for s in figure["layout"]["shapes"] if s["type"] == "rect")
    assert (hold["x0"], hold["x1"]) == ("2025-05-20", "2025-05-27")
