"""Plotly figure dictionaries for the physician's timeline. Pure: no ORM, no clock.

Three layers (house style): a selector returns plain series (the dataclasses below), these
functions build the figure dicts, and the view embeds them with ``json_script``. The
browser draws them with the locally served Plotly.js (static/js/timeline.js), which also
keeps the x-axis of every chart on the page in step.

Entered-in-error results never reach a chart: the builders drop them even if a caller
forgot to filter. Times arrive in the clinic's time zone (the selector converts them) and
are drawn as they read on the clinic's wall clock; every number a person reads (hover,
labels, ticks) goes through ``patients.formatting.clinical_number``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from patients.formatting import clinical_number, clinical_quantity

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
    "cycle": "#6c757d",
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
    places: int | None = None  # display precision of the test (lab catalogue)

    @cached_property
    def x(self) -> str:
        """Where the point sits on the date axis (``_iso``), worked out once: sorting, the
        x values and the hover text all read it."""
        return _iso(self.on)

    @property
    def shown(self) -> str:
        """The value as a clinician reads it, with its unit: ``'0.5 10^9/L'``."""
        # A ratio has no unit to show ("1.2", not "1.2 ratio").
        return clinical_quantity(self.value, "" if self.unit == "ratio" else self.unit, self.places)


@dataclass(frozen=True)
class CountSeries:
    code: str  # ANC, PLT, HGB, WBC
    label: str
    unit: str
    points: tuple[Point, ...]

    def __hash__(self) -> int:
        """Worked out once per series (the view's figure cache hashes ten years of points
        on every view otherwise); the fields are frozen, so it cannot go stale."""
        known = self.__dict__
        if "_hash" not in known:
            known["_hash"] = hash((self.code, self.label, self.unit, self.points))
        return known["_hash"]


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
    # Not hashed (a dict cannot be), still compared: the series is a key of the page's
    # figure cache (``views._figure_script``).
    extra: dict[str, Any] = field(default_factory=dict, hash=False)


def _iso(value: date | datetime) -> str:
    """A date as ``YYYY-MM-DD``; a time as ``YYYY-MM-DD HH:MM`` on the clinic's clock (the
    selector has converted it; an offset would make Plotly shift it)."""
    if isinstance(value, datetime):
        # isoformat, not strftime: several times faster, and ten years of monthly counts
        # are thousands of calls per page. The offset is dropped (see above).
        return value.replace(tzinfo=None).isoformat(" ", "minutes")
    return value.isoformat()


def _valid(points: tuple[Point, ...]) -> list[Point]:
    # Sorted on the time as drawn; a date sorts as its midnight (the key _iso gives both).
    return sorted((p for p in points if not p.entered_in_error), key=lambda p: p.x)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _gap_broken(points: list[Point], expected_interval_days: int | None) -> list[Point | None]:
    """The points with ``None`` between two results further apart than twice the expected
    interval: Plotly then leaves the stretch blank (``connectgaps`` off) instead of drawing
    a straight line across months nobody measured. Exactly twice the interval is still
    joined (one missed draw)."""
    if not expected_interval_days or not points:
        return list(points)
    longest = timedelta(days=2 * expected_interval_days)
    out: list[Point | None] = [points[0]]
    for before, after in zip(points, points[1:], strict=False):
        if _as_date(after.on) - _as_date(before.on) > longest:
            out.append(None)
        out.append(after)
    return out


def _xs(points: list[Point | None]) -> list[str | None]:
    return [None if p is None else p.x for p in points]


def _ys(points: list[Point | None]) -> list[float | None]:
    return [None if p is None else _num(p.value) for p in points]


# Log-axis ticks. Plotly's own log ticks label the minor steps with their first digit only,
# so 29-38 mg/L read "3, 4". Explicit ticks instead: one per decade over a wide span,
# 1-2-5 over a few decades, 1-1.5-2-3-4-5-7 over a narrow one (29-38 reads 20, 30, 40).
def _log_mantissas(decades: float) -> tuple[float, ...]:
    if decades > 2.5:
        return (1,)
    if decades > 0.7:
        return (1, 2, 5)
    return (1, 1.5, 2, 3, 4, 5, 7)


def log_ticks(values: list[float]) -> tuple[list[float], list[str], list[float]] | None:
    """Tick values, their labels (the clinical formatter) and the axis range in decades for
    a log axis showing ``values``: at least three ticks, the outer ones enclosing every
    value. ``None`` when nothing positive is drawn."""
    positive = [v for v in values if v is not None and v > 0]
    if not positive:
        return None
    low, high = min(positive), max(positive)
    candidates = sorted(
        float(clinical_number(Decimal(repr(m * 10**exponent)), 6))  # 1.5e-1 = 0.15000000000000002
        for exponent in range(math.floor(math.log10(low)) - 2, math.ceil(math.log10(high)) + 2)
        for m in _log_mantissas(math.log10(high / low))
    )
    first = max(i for i, c in enumerate(candidates) if c <= low * (1 + 1e-9))
    last = min(i for i, c in enumerate(candidates) if c >= high * (1 - 1e-9))
    if last - first < 2:  # too narrow for a reader to place a value: one more tick each side
        first, last = first - 1, last + 1
    ticks = candidates[first : last + 1]
    labels = [clinical_number(Decimal(repr(t))) for t in ticks]
    pad = 0.04  # decades, so a marker on the first or last tick is not cut in half
    return ticks, labels, [math.log10(ticks[0]) - pad, math.log10(ticks[-1]) + pad]


def _hold_shapes(
    holds: tuple[Span, ...], *, xref: str, yref: str, open_until: date | None
) -> list[dict[str, Any]]:
    """One shaded rectangle per hold; an open hold runs on to the edge of the view."""
    return [
        {
            "type": "rect",
            "xref": xref,
            "yref": yref,
            "x0": _iso(hold.start),
            "x1": _iso(hold.end or open_until or hold.start),
            "y0": 0,
            "y1": 1,
            "fillcolor": COLOURS["hold"],
            "line": {"width": 0},
            "layer": "below",
            "name": f"hold: {hold.label}",
        }
        for hold in holds
    ]


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
    holds: tuple[Span, ...] = (),
    expected_interval_days: int | None = None,
) -> dict[str, Any]:
    """ANC, platelets, hemoglobin and WBC, one row each on a shared date axis, with the
    hold thresholds and CTCAE grade 3-4 zones drawn on the row they apply to, the holds
    shaded on every row, and no line across a gap longer than twice the CBC interval."""
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
        points = _gap_broken(_valid(s.points), expected_interval_days)
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
                "x": _xs(points),
                "y": _ys(points),
                "connectgaps": False,
                "customdata": [
                    None if p is None else [p.shown, _grade_text(p), p.x[:10]] for p in points
                ],
                # Plain text and <br> only: Plotly styles <b>, <i>, <sup> with a style
                # attribute, which the Content Security Policy blocks.
                "hovertemplate": (
                    f"{s.label} %{{customdata[0]}}<br>%{{customdata[1]}}"
                    "<br>collected %{customdata[2]}<extra></extra>"
                ),
                "line": {"color": COLOURS.get(code, "#333333"), "width": 2},
                "marker": {
                    "size": [6 if p is None else (9 if (p.grade or 0) >= 3 else 6) for p in points]
                },
                "xaxis": xaxis,
                "yaxis": yaxis,
            }
        )
        # The holds on every row: a count that recovers during a hold reads differently
        # from one that recovers while dosing.
        shapes += _hold_shapes(
            holds,
            xref=xaxis,
            yref=f"{yaxis} domain",
            open_until=x_range[1] if x_range else None,
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
    if holds and rows:
        data.append(_legend_only("Hold (shaded)", "square", COLOURS["hold"], "hold-legend"))
    common = _common_layout(x_range)
    layout.update(
        {key: value for key, value in common.items() if key != "xaxis"},
        shapes=shapes,
        annotations=annotations,
        height=170 * max(len(rows), 1) + 80,
    )
    # Every x axis carries the page's range, so the chart opens on the same dates as the others.
    for key in [k for k in layout if k.startswith("xaxis")] or ["xaxis"]:
        layout[key] = {**common["xaxis"], **layout.get(key, {})}
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
    top = max([y for y in ys if y is not None] or [10.0]) * 1.25
    # One trace per kind of event, so the legend names every marker shape.
    events = sorted(track.events, key=lambda e: e.on)
    kinds = {
        **_EVENT_KINDS,
        **{e.kind: (e.kind.replace("_", " ").capitalize(), "circle") for e in events},
        **_EVENT_KINDS,
    }
    for kind, (name, symbol) in kinds.items():
        of_kind = [e for e in events if e.kind == kind]
        if not of_kind:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "meta": {"code": "events", "kind": kind},
                "x": [_iso(e.on) for e in of_kind],
                "y": [top] * len(of_kind),
                "text": [f"{e.label}{': ' + e.detail if e.detail else ''}" for e in of_kind],
                "marker": {"symbol": symbol, "size": 11, "color": "#222222"},
                "hovertemplate": "%{x|%Y-%m-%d}<br>%{text}<extra></extra>",
            }
        )
    # Shapes have no legend entry of their own: a marker-only trace with no point names them.
    if track.holds:
        data.append(_legend_only("Hold (shaded)", "square", COLOURS["hold"], "hold-legend"))
    if track.cycle_starts:
        data.append(_legend_only("Cycle start", "line-ns-open", COLOURS["cycle"], "cycle-legend"))
    shapes: list[dict[str, Any]] = _hold_shapes(
        track.holds,
        xref="x",
        yref="paper",
        open_until=(x_range[1] if x_range else end),
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
                "line": {"color": COLOURS["cycle"], "width": 1},
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
        # Room above the dose for the event markers, which sit at ``top``.
        yaxis={"title": {"text": "Dose (mg)", "font": AXIS_FONT}, "range": [0, top * 1.12]},
    )
    layout["xaxis"] = {**layout["xaxis"], "type": "date"}
    return {"data": data, "layout": layout}


# Each kind of regimen event: its legend name and marker symbol.
_EVENT_KINDS = {
    "transplant": ("Transplant", "star"),
    "start": ("Course start", "triangle-right"),
    "dose_change": ("Dose change", "diamond"),
    "hold": ("Hold started", "x"),
    "resume": ("Resumed", "triangle-up"),
    "response": ("Response confirmed", "square"),
    "mrd": ("MRD test", "hexagon"),
    "discontinuation": ("Discontinued", "square-x"),
}


def _legend_only(name: str, symbol: str, colour: str, code: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "meta": {"code": code},
        "x": [None],
        "y": [None],
        "marker": {"symbol": symbol, "size": 12, "color": colour, "line": {"color": colour}},
        "hoverinfo": "skip",
    }


def disease_figure(
    disease: DiseaseSeries,
    *,
    x_range: tuple[date, date] | None = None,
    expected_interval_days: int | None = None,
) -> dict[str, Any]:
    """Serum M-protein (g/dL) on a linear axis; involved FLC and the kappa/lambda ratio on a
    log axis below, with 1-2-5 ticks; the nadir marked and the IMWG progression threshold
    drawn from it; no line across a gap longer than twice the response-lab interval."""
    mprotein = _gap_broken(_valid(disease.mprotein), expected_interval_days)
    flc = _gap_broken(_valid(disease.involved_flc), expected_interval_days)
    ratio = _gap_broken(_valid(disease.flc_ratio), expected_interval_days)

    def trace(points, name, code, colour, axis, hover, **line):
        return {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "meta": {"code": code},
            "x": _xs(points),
            "y": _ys(points),
            "connectgaps": False,
            "customdata": [None if p is None else [p.shown, p.x[:10]] for p in points],
            "line": {"color": colour, "width": 2, **line},
            "hovertemplate": f"{hover} %{{customdata[0]}}<br>%{{customdata[1]}}<extra></extra>",
            "xaxis": "x" if axis == 1 else "x2",
            "yaxis": "y" if axis == 1 else "y2",
        }

    data: list[dict[str, Any]] = [
        trace(mprotein, "Serum M-protein (g/dL)", "SPEP_M", COLOURS["mprotein"], 1, "M-protein"),
        trace(
            flc,
            f"{disease.involved_label} (mg/L)",
            "FLC_INVOLVED",
            COLOURS["flc"],
            2,
            disease.involved_label,
        ),
        trace(
            ratio,
            "Kappa/lambda ratio",
            "FLC_RATIO",
            COLOURS["ratio"],
            2,
            "Kappa/lambda ratio",
            width=1.5,
            dash="dot",
        ),
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
                "customdata": [[nadir.shown, _iso(nadir.on)[:10]]],
                "marker": {"symbol": "star", "size": 14, "color": COLOURS["nadir"]},
                "hovertemplate": "nadir %{customdata[0]}<br>%{customdata[1]}<extra></extra>",
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
                    "text": (
                        f"progression at {clinical_number(disease.progression_threshold_g_dl)}"
                        f" g/dL ({disease.progression_source or 'IMWG 2016'})"
                    ),
                    "font": {"size": 10, "color": COLOURS["threshold"]},
                }
            )
    log_axis: dict[str, Any] = {
        "title": {"text": "FLC (mg/L), ratio", "font": AXIS_FONT},
        "domain": [0, 0.45],
        "type": "log",
    }
    ticks = log_ticks([v for t in data[1:3] for v in t["y"] if v is not None])
    if ticks is not None:
        tickvals, ticktext, decades = ticks
        log_axis.update(tickmode="array", tickvals=tickvals, ticktext=ticktext, range=decades)
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
        yaxis2=log_axis,
        xaxis2={**layout["xaxis"], "type": "date", "anchor": "y2", "matches": "x"},
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
        # Above the plot area (Plotly widens the top margin to fit it), never over the data.
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": xaxis,
    }
