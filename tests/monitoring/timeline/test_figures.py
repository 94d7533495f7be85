"""The timeline's figure builders, tested without a database."""

from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest

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
    assert anc["customdata"] == [["0.4 10^9/L", "grade 4 (CTCAE v5.0)", "2025-03-02"]]
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


# --- Holds on the count panels ---------------------------------------------------------


def four_counts(on=date(2025, 1, 5)):
    return [
        CountSeries(code, code, "10^9/L", (Point(on, D("2"), "10^9/L", 0),))
        for code in ("ANC", "PLT", "HGB", "WBC")
    ]


def test_holds_are_shaded_on_every_count_row_over_its_whole_height():
    holds = (
        Span(date(2025, 3, 10), date(2025, 4, 1), "ANC 0.4"),
        Span(date(2025, 11, 20), None, "PLT 20"),
    )
    figure = counts_figure(four_counts(), [], x_range=RANGE, holds=holds)
    shaded = [s for s in figure["layout"]["shapes"] if s["name"].startswith("hold:")]
    assert sorted((s["xref"], s["yref"], s["x0"], s["x1"]) for s in shaded) == [
        ("x", "y domain", "2025-03-10", "2025-04-01"),
        ("x", "y domain", "2025-11-20", "2025-12-31"),  # still open: to the edge of the view
        ("x2", "y2 domain", "2025-03-10", "2025-04-01"),
        ("x2", "y2 domain", "2025-11-20", "2025-12-31"),
        ("x3", "y3 domain", "2025-03-10", "2025-04-01"),
        ("x3", "y3 domain", "2025-11-20", "2025-12-31"),
        ("x4", "y4 domain", "2025-03-10", "2025-04-01"),
        ("x4", "y4 domain", "2025-11-20", "2025-12-31"),
    ]
    assert {(s["y0"], s["y1"], s["layer"]) for s in shaded} == {(0, 1, "below")}
    assert trace(figure, "hold-legend")["name"] == "Hold (shaded)"


def test_without_holds_the_count_panels_have_no_hold_shading_or_legend():
    figure = counts_figure(four_counts(), [], x_range=RANGE)
    assert not [s for s in figure["layout"]["shapes"] if s["name"].startswith("hold:")]
    assert "hold-legend" not in [t["meta"]["code"] for t in figure["data"]]


# --- Gaps: longer than twice the expected interval is not bridged -----------------------


@pytest.mark.parametrize(
    ("days_apart", "broken"),
    [
        (55, False),  # just below twice the 28-day CBC interval
        (56, False),  # exactly twice: one missed draw, still joined
        (57, True),  # just above: left blank
    ],
)
def test_a_gap_longer_than_twice_the_cbc_interval_is_not_drawn_as_a_line(days_apart, broken):
    first = date(2025, 1, 6)
    series = anc_series(
        Point(first, D("1.8"), "10^9/L", 0),
        Point(first + timedelta(days=days_apart), D("1.6"), "10^9/L", 0),
    )
    anc = trace(counts_figure([series], [], expected_interval_days=28), "ANC")
    second = (first + timedelta(days=days_apart)).isoformat()
    if broken:
        assert (anc["x"], anc["y"]) == (["2025-01-06", None, second], [1.8, None, 1.6])
    else:
        assert (anc["x"], anc["y"]) == (["2025-01-06", second], [1.8, 1.6])
    assert anc["connectgaps"] is False


def test_gap_breaks_use_the_calendar_date_not_the_hour_of_collection():
    # 56 days apart on the calendar, but the second draw is later in the day.
    series = anc_series(
        Point(datetime(2025, 1, 6, 8, 0), D("1.8"), "10^9/L", 0),
        Point(datetime(2025, 3, 3, 16, 45), D("1.6"), "10^9/L", 0),
    )
    anc = trace(counts_figure([series], [], expected_interval_days=28), "ANC")
    assert anc["x"] == ["2025-01-06 08:00", "2025-03-03 16:45"]  # clinic clock, no offset


def test_disease_markers_break_after_twice_the_response_lab_interval():
    disease = DiseaseSeries(
        mprotein=(
            Point(date(2025, 1, 1), D("2.4"), "g/dL"),
            Point(date(2025, 6, 30), D("1.9"), "g/dL"),  # 180 days: twice 90, joined
            Point(date(2025, 12, 28), D("1.2"), "g/dL"),  # 181 days: blank
        )
    )
    mprotein = trace(disease_figure(disease, expected_interval_days=90), "SPEP_M")
    assert mprotein["y"] == [2.4, 1.9, None, 1.2]


# --- Log axis ticks ----------------------------------------------------------------------


def flc_figure(*values):
    disease = DiseaseSeries(
        involved_flc=tuple(
            Point(date(2025, 1, 1) + timedelta(days=30 * i), D(v), "mg/L")
            for i, v in enumerate(values)
        )
    )
    return disease_figure(disease, x_range=RANGE)["layout"]["yaxis2"]


def test_free_light_chains_of_29_to_38_read_as_tens_on_the_log_axis():
    axis = flc_figure("29", "33.5", "38")
    assert axis["type"] == "log"
    assert axis["tickmode"] == "array"
    assert axis["tickvals"] == [20, 30, 40]
    assert axis["ticktext"] == ["20", "30", "40"]
    # The range (in decades) holds every value between the outer ticks.
    assert 10 ** axis["range"][0] < 20 and 10 ** axis["range"][1] > 40


def test_a_few_decades_get_one_two_five_ticks():
    axis = flc_figure("1.2", "38")
    assert axis["tickvals"] == [1, 2, 5, 10, 20, 50]
    assert axis["ticktext"] == ["1", "2", "5", "10", "20", "50"]


def test_many_decades_get_one_tick_per_decade_without_exponents():
    axis = flc_figure("0.3", "4200")
    assert axis["ticktext"] == ["0.1", "1", "10", "100", "1000", "10000"]


def test_a_single_flc_value_still_gets_three_readable_ticks():
    axis = flc_figure("5")
    assert axis["ticktext"] == ["4", "5", "7"]


def test_no_positive_flc_value_leaves_plotly_its_own_log_ticks():
    axis = flc_figure()
    assert "tickvals" not in axis


# --- One date range for every chart -------------------------------------------------------


def test_every_chart_and_every_x_axis_opens_on_the_same_date_range():
    track = RegimenTrack(
        steps=(DoseStep(date(2024, 6, 1), D("10"), "10 mg"),),  # before the page's range
        holds=(Span(date(2025, 3, 10), None, "ANC 0.4"),),
    )
    disease = DiseaseSeries(
        mprotein=(Point(date(2025, 2, 1), D("1.1"), "g/dL"),),
        involved_flc=(Point(date(2025, 2, 1), D("30"), "mg/L"),),
    )
    figures = [
        counts_figure(four_counts(), [], x_range=RANGE),
        regimen_figure(track, x_range=RANGE, today=date(2025, 12, 24)),
        disease_figure(disease, x_range=RANGE),
    ]
    ranges = {
        (index, key): tuple(figure["layout"][key]["range"])
        for index, figure in enumerate(figures)
        for key in figure["layout"]
        if key.startswith("xaxis")
    }
    assert len(ranges) == 4 + 1 + 2
    assert set(ranges.values()) == {("2025-01-01", "2025-12-31")}


# --- The regimen legend names every marker -------------------------------------------------


def test_the_regimen_legend_names_every_kind_of_marker_with_its_own_symbol():
    on = date(2025, 3, 1)
    kinds = [
        "transplant",
        "start",
        "dose_change",
        "hold",
        "resume",
        "response",
        "mrd",
        "discontinuation",
    ]
    track = RegimenTrack(
        steps=(DoseStep(date(2025, 1, 1), D("10"), "10 mg"),),
        holds=(Span(date(2025, 3, 10), date(2025, 4, 1), "ANC 0.4"),),
        cycle_starts=(date(2025, 1, 1),),
        events=tuple(Marker(on, kind, kind) for kind in kinds),
    )
    figure = regimen_figure(track, today=date(2025, 6, 1))
    named = {t["name"]: t["marker"]["symbol"] for t in figure["data"] if t["mode"] == "markers"}
    assert named == {
        "Transplant": "star",
        "Course start": "triangle-right",
        "Dose change": "diamond",
        "Hold started": "x",
        "Resumed": "triangle-up",
        "Response confirmed": "square",
        "MRD test": "hexagon",
        "Discontinued": "square-x",
        "Hold (shaded)": "square",
        "Cycle start": "line-ns-open",
    }
    assert figure["layout"]["showlegend"] is True
    assert all(t.get("showlegend", True) for t in figure["data"])


def test_event_markers_sit_inside_the_dose_axis():
    track = RegimenTrack(
        steps=(DoseStep(date(2025, 1, 1), D("10"), "10 mg"),),
        events=(Marker(date(2025, 2, 1), "dose_change", "Reduced to 5 mg"),),
    )
    figure = regimen_figure(track, today=date(2025, 6, 1))
    marker_y = trace(figure, "events")["y"][0]
    low, high = figure["layout"]["yaxis"]["range"]
    assert low == 0 and 10 < marker_y < high


# --- Numbers a clinician reads --------------------------------------------------------------


def test_hover_values_use_the_clinical_formatter_with_the_tests_precision():
    series = anc_series(Point(date(2025, 1, 5), D("0.5000000000"), "10^9/L", 3, "5.0", places=2))
    assert trace(counts_figure([series], []), "ANC")["customdata"][0][0] == "0.5 10^9/L"
    nadir = Point(date(2025, 6, 1), D("0.0500000000"), "g/dL", places=2)
    disease = DiseaseSeries(
        mprotein=(nadir,),
        flc_ratio=(Point(date(2025, 6, 1), D("1.2000"), "ratio", places=2),),
        nadir=nadir,
        progression_threshold_g_dl=D("0.5500000000"),
    )
    figure = disease_figure(disease, x_range=RANGE)
    assert trace(figure, "nadir")["customdata"] == [["0.05 g/dL", "2025-06-01"]]
    assert trace(figure, "FLC_RATIO")["customdata"] == [["1.2", "2025-06-01"]]
    assert figure["layout"]["annotations"][0]["text"].startswith("progression at 0.55 g/dL")


def test_no_figure_text_uses_a_tag_plotly_would_style_inline():
    # Plotly draws <b>, <i>, <em>, <sup>, <sub> and <span> with a style attribute, which the
    # Content Security Policy (style-src 'self') blocks; <br> is safe.
    import json
    import re

    track = RegimenTrack(
        steps=(DoseStep(date(2025, 1, 1), D("10"), "10 mg"),),
        holds=(Span(date(2025, 3, 10), None, "ANC 0.4"),),
        events=(Marker(date(2025, 3, 10), "hold", "Hold", "ANC 0.4"),),
    )
    nadir = Point(date(2025, 6, 1), D("0.8"), "g/dL")
    text = json.dumps(
        [
            counts_figure(
                four_counts(),
                [ThresholdLine("ANC", D("0.5"), "hold < 0.5", "label")],
                holds=track.holds,
            ),
            regimen_figure(track, today=date(2025, 6, 1)),
            disease_figure(
                DiseaseSeries(mprotein=(nadir,), nadir=nadir, progression_threshold_g_dl=D("1.3"))
            ),
        ]
    )
    assert re.findall(r"<(b|i|em|sup|sub|span|a)\b", text) == []
