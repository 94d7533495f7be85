"""Plotly figure dictionaries for the physician's timeline. Pure: no ORM, no clock.

Three layers (house style): a selector returns plain series (the dataclasses below), these
functions build the figure dicts, and the view embeds them with ``json_script``. The
browser draws them with the locally served Plotly.js (static/js/timeline.js), which also
keeps the x-axis of every chart on the page in step.

Entered-in-error results never reach a chart: the builders drop them even if a caller
forgot to filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Colours chosen for contrast on white and to stay distinguishable in grey print.
COLOURS = {
    "ANC": "#1f4e9c",
    "PLT": "#8a3b12",
    "HGB": "#a4123f",
    "WBC": "#2f6b2f",
    "dose": "#0b3d6e",
    "hold": "rgba(214, 39, 40, 0.18)",
    "grade34": "rgba(214, 39, 40, 0.08)",
    "threshold": "#b00020",
    "mprotein": "#4b2991",
    "flc": "#0f7173",
    "ratio": "#7a5c00",
    "nadir": "#000000",
}
COUNT_ORDER = ("ANC", "PLT", "HGB", "WBC")
AXIS_FONT = {"size": 12}


@dataclass(frozen=True)
class Point:
    on: date | datetime
    value: Decimal
    unit: str
    grade: int | None = None
    grade_version: str = ""
    result_id: int | None = None
    entered_in_error: bool = False


@dataclass(frozen=True)
class CountSeries:
    code: str  # ANC, PLT, HGB, WBC
    label: str
    unit: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class ThresholdLine:
    """A horizontal line a rule applies: a hold threshold or a CTCAE grade boundary."""

    code: str
    value: Decimal
    label: str
    source: str
    kind: str = "hold"  # "hold" | "grade"


@dataclass(frozen=True)
class Span:
    start: date
    end: date | None  # None: still going
    label: str


@dataclass(frozen=True)
class DoseStep:
    start: date
    dose_mg: Decimal | None  # None while held or after discontinuation
    label: str


@dataclass(frozen=True)
class Marker:
    on: date
    kind: str  # transplant, start, dose_change, hold, resume, response, mrd, discontinuation
    label: str
    detail: str = ""


@dataclass(frozen=True)
class RegimenTrack:
    steps: tuple[DoseStep, ...] = ()
    holds: tuple[Span, ...] = ()
    cycle_starts: tuple[date, ...] = ()
    discontinued_on: date | None = None
    events: tuple[Marker, ...] = ()


@dataclass(frozen=True)
class DiseaseSeries:
    mprotein: tuple[Point, ...] = ()  # serum M-protein, g/dL
    involved_flc: tuple[Point, ...] = ()  # mg/L
    flc_ratio: tuple[Point, ...] = ()
    involved_label: str = "Involved FLC"
    nadir: Point | None = None
    progression_threshold_g_dl: Decimal | None = None
    progression_source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def _valid(points: tuple[Point, ...]) -> list[Point]:
    return sorted((p for p in points if not p.entered_in_error), key=lambda p: _iso(p.on))


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _grade_text(point: Point) -> str:
    if point.grade is None:
        return "not graded"
    if point.grade == 0:
        return "normal"
    version = f" (CTCAE v{point.grade_version})" if point.grade_version else ""
    return f"grade {point.grade}{version}"


def _axis_name(prefix: str, index: int) -> str:
    return prefix if index == 1 else f"{prefix}{index}"


def counts_figure(
    series: list[CountSeries],
    thresholds: list[ThresholdLine],
    *,
    x_range: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """ANC, platelets, hemoglobin and WBC, one row each on a shared date axis, with the
    hold thresholds and CTCAE grade 3-4 zones drawn on the row they apply to."""
    by_code = {s.code: s for s in series}
    rows = [code for code in COUNT_ORDER if code in by_code]
    data: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    gap = 0.04
    height = (1 - gap * (max(len(rows), 1) - 1)) / max(len(rows), 1)
    for index, code in enumerate(rows, start=1):
        s = by_code[code]
        points = _valid(s.points)
        xaxis, yaxis = _axis_name("x", index), _axis_name("y", index)
        top = 1 - (index - 1) * (height + gap)
        layout[_axis_name("yaxis", index)] = {
            "title": {"text": f"{s.label} ({s.unit})", "font": AXIS_FONT},
            "domain": [max(top - height, 0), top],
            "rangemode": "tozero",
            "zeroline": False,
        }
        layout[_axis_name("xaxis", index)] = {
            "type": "date",
            "anchor": yaxis,
            "matches": None if index == 1 else "x",
            "showticklabels": index == len(rows),
        }
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": s.label,
                "meta": {"code": code},
                "x": [_iso(p.on) for p in points],
                "y": [_num(p.value) for p in points],
                "customdata": [[p.unit, _grade_text(p), _iso(p.on)[:10]] for p in points],
                "hovertemplate": (
                    f"<b>{s.label}</b> %{{y}} %{{customdata[0]}}<br>%{{customdata[1]}}"
                    "<br>collected %{customdata[2]}<extra></extra>"
                ),
                "line": {"color": COLOURS.get(code, "#333333"), "width": 2},
                "marker": {"size": [9 if (p.grade or 0) >= 3 else 6 for p in points]},
                "xaxis": xaxis,
                "yaxis": yaxis,
            }
        )
        for line in (t for t in thresholds if t.code == code):
            y = float(line.value)
            if line.kind == "grade":
                # Shade everything below the grade 3 boundary: that zone is a safety event.
                shapes.append(
                    {
                        "type": "rect",
                        "xref": f"{xaxis} domain",
                        "yref": yaxis,
                        "x0": 0,
                        "x1": 1,
                        "y0": 0,
                        "y1": y,
                        "fillcolor": COLOURS["grade34"],
                        "line": {"width": 0},
                        "layer": "below",
                        "name": f"{code} {line.label}",
                    }
                )
            else:
                shapes.append(
                    {
                        "type": "line",
                        "xref": f"{xaxis} domain",
                        "yref": yaxis,
                        "x0": 0,
                        "x1": 1,
                        "y0": y,
                        "y1": y,
                        "line": {"color": COLOURS["threshold"], "width": 1.5, "dash": "dash"},
                        "name": f"{code} {line.label}",
                    }
                )
                annotations.append(
                    {
                        "xref": f"{xaxis} domain",
                        "yref": yaxis,
                        "x": 1,
                        "y": y,
                        "xanchor": "right",
                        "yanchor": "bottom",
                        "showarrow": False,
                        "text": f"{line.label} ({line.source})",
                        "font": {"size": 10, "color": COLOURS["threshold"]},
                    }
                )
    layout.update(
        _common_layout(x_range),
        shapes=shapes,
        annotations=annotations,
        height=170 * max(len(rows), 1) + 80,
    )
    return {"data": data, "layout": layout}


def regimen_figure(
    track: RegimenTrack, *, x_range: tuple[date, date] | None = None, today: date | None = None
) -> dict[str, Any]:
    """Dose level as a step line, holds shaded, cycle boundaries, discontinuation and events."""
    steps = sorted(track.steps, key=lambda s: s.start)
    end = today or (x_range[1] if x_range else None)
    xs: list[str] = []
    ys: list[float | None] = []
    texts: list[str] = []
    for step in steps:
        if step.dose_mg is None and ys and ys[-1] is not None:
            # Plotly draws a step only between two values: close the dosing stretch at the
            # hold's start before the gap, or the dose before every hold would vanish.
            xs.append(_iso(step.start))
            ys.append(ys[-1])
            texts.append(texts[-1])
        xs.append(_iso(step.start))
        ys.append(_num(step.dose_mg))
        texts.append(step.label)
    if steps and end is not None and (track.discontinued_on is None):
        xs.append(_iso(end))
        ys.append(ys[-1])
        texts.append(texts[-1])
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Dose (mg)",
            "meta": {"code": "dose"},
            "x": xs,
            "y": ys,
            "text": texts,
            "line": {"shape": "hv", "color": COLOURS["dose"], "width": 3},
            "hovertemplate": "%{text}<br>from %{x|%Y-%m-%d}<extra>dose</extra>",
            "connectgaps": False,
        }
    ]
    if track.events:
        events = sorted(track.events, key=lambda e: e.on)
        top = max([y for y in ys if y is not None] or [10.0]) * 1.25
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Events",
                "meta": {"code": "events"},
                "x": [_iso(e.on) for e in events],
                "y": [top] * len(events),
                "text": [f"{e.label}{': ' + e.detail if e.detail else ''}" for e in events],
                "customdata": [e.kind for e in events],
                "marker": {
                    "symbol": [_EVENT_SYMBOLS.get(e.kind, "circle") for e in events],
                    "size": 11,
                    "color": "#222222",
                },
                "hovertemplate": "%{x|%Y-%m-%d}<br>%{text}<extra></extra>",
            }
        )
    shapes: list[dict[str, Any]] = []
    for hold in track.holds:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(hold.start),
                # An open hold runs on past today: shade it to the edge of the view.
                "x1": _iso(hold.end or (x_range[1] if x_range else end) or hold.start),
                "y0": 0,
                "y1": 1,
                "fillcolor": COLOURS["hold"],
                "line": {"width": 0},
                "layer": "below",
                "name": f"hold: {hold.label}",
            }
        )
    for start in track.cycle_starts:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(start),
                "x1": _iso(start),
                "y0": 0,
                "y1": 0.12,
                "line": {"color": "#6c757d", "width": 1},
                "name": "cycle start",
            }
        )
    if track.discontinued_on:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": _iso(track.discontinued_on),
                "x1": _iso(track.discontinued_on),
                "y0": 0,
                "y1": 1,
                "line": {"color": "#000000", "width": 2, "dash": "dot"},
                "name": "discontinued",
            }
        )
    layout = _common_layout(x_range)
    layout.update(
        height=220,
        shapes=shapes,
        yaxis={"title": {"text": "Dose (mg)", "font": AXIS_FONT}, "rangemode": "tozero"},
    )
    layout["xaxis"] = {**layout["xaxis"], "type": "date"}
    return {"data": data, "layout": layout}


_EVENT_SYMBOLS = {
    "transplant": "star",
    "start": "triangle-right",
    "dose_change": "diamond",
    "hold": "x",
    "resume": "triangle-up",
    "response": "square",
    "mrd": "hexagon",
    "discontinuation": "square-x",
}


def disease_figure(
    disease: DiseaseSeries, *, x_range: tuple[date, date] | None = None
) -> dict[str, Any]:
    """Serum M-protein (g/dL) on a linear axis; involved FLC and the kappa/lambda ratio on a
    log axis below; the nadir marked and the IMWG progression threshold drawn from it."""
    mprotein = _valid(disease.mprotein)
    flc = _valid(disease.involved_flc)
    ratio = _valid(disease.flc_ratio)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Serum M-protein (g/dL)",
            "meta": {"code": "SPEP_M"},
            "x": [_iso(p.on) for p in mprotein],
            "y": [_num(p.value) for p in mprotein],
            "line": {"color": COLOURS["mprotein"], "width": 2},
            "hovertemplate": "M-protein %{y} g/dL<br>%{x|%Y-%m-%d}<extra></extra>",
            "xaxis": "x",
            "yaxis": "y",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": f"{disease.involved_label} (mg/L)",
            "meta": {"code": "FLC_INVOLVED"},
            "x": [_iso(p.on) for p in flc],
            "y": [_num(p.value) for p in flc],
            "line": {"color": COLOURS["flc"], "width": 2},
            "hovertemplate": f"{disease.involved_label} %{{y}} mg/L<br>%{{x|%Y-%m-%d}}<extra></extra>",
            "xaxis": "x2",
            "yaxis": "y2",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Kappa/lambda ratio",
            "meta": {"code": "FLC_RATIO"},
            "x": [_iso(p.on) for p in ratio],
            "y": [_num(p.value) for p in ratio],
            "line": {"color": COLOURS["ratio"], "width": 1.5, "dash": "dot"},
            "hovertemplate": "ratio %{y}<br>%{x|%Y-%m-%d}<extra></extra>",
            "xaxis": "x2",
            "yaxis": "y2",
        },
    ]
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    nadir = disease.nadir if disease.nadir and not disease.nadir.entered_in_error else None
    if nadir is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Nadir",
                "meta": {"code": "nadir"},
                "x": [_iso(nadir.on)],
                "y": [_num(nadir.value)],
                "marker": {"symbol": "star", "size": 14, "color": COLOURS["nadir"]},
                "hovertemplate": "nadir %{y} g/dL<br>%{x|%Y-%m-%d}<extra></extra>",
                "xaxis": "x",
                "yaxis": "y",
            }
        )
        if disease.progression_threshold_g_dl is not None:
            y = float(disease.progression_threshold_g_dl)
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "y",
                    "x0": _iso(nadir.on),
                    "x1": _iso(x_range[1] if x_range else _as_date(nadir.on)),
                    "y0": y,
                    "y1": y,
                    "line": {"color": COLOURS["threshold"], "width": 1.5, "dash": "dash"},
                    "name": "progression threshold",
                }
            )
            annotations.append(
                {
                    "xref": "x domain",
                    "yref": "y",
                    "x": 1,
                    "y": y,
                    "xanchor": "right",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "text": f"progression at {y:g} g/dL ({disease.progression_source or 'IMWG 2016'})",
                    "font": {"size": 10, "color": COLOURS["threshold"]},
                }
            )
    layout = _common_layout(x_range)
    layout.update(
        height=380,
        shapes=shapes,
        annotations=annotations,
        yaxis={
            "title": {"text": "M-protein (g/dL)", "font": AXIS_FONT},
            "domain": [0.55, 1],
            "rangemode": "tozero",
        },
        yaxis2={
            "title": {"text": "FLC (mg/L), ratio", "font": AXIS_FONT},
            "domain": [0, 0.45],
            "type": "log",
        },
        xaxis2={"type": "date", "anchor": "y2", "matches": "x"},
    )
    layout["xaxis"] = {**layout["xaxis"], "type": "date", "anchor": "y", "showticklabels": False}
    return {"data": data, "layout": layout}


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _common_layout(x_range: tuple[date, date] | None) -> dict[str, Any]:
    xaxis: dict[str, Any] = {"type": "date"}
    if x_range is not None:
        xaxis["range"] = [_iso(x_range[0]), _iso(x_range[1])]
    return {
        "margin": {"l": 70, "r": 20, "t": 30, "b": 40},
        "showlegend": True,
        "legend": {"orientation": "h", "y": 1.08},
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": xaxis,
    }
