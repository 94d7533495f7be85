"""Plotly figure dicts for the Cohort page, built from estimator results (pure, no ORM).

Times arrive in days and are drawn in months. Every figure is a plain dict (data + layout)
handed to the page with ``json_script`` and drawn by ``static/js/cohort.js``.
"""

from __future__ import annotations

from monitoring.cohort.analysis import (
    AT_RISK_MONTHS,
    DAYS_PER_MONTH,
    REASON_ORDER,
    CohortResult,
)
from monitoring.cohort.estimators import CumulativeIncidence, KaplanMeier

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
AXIS_TITLE_PX = 58  # the x-axis tick labels and title take this much below the plot
ROW_PX = 18
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13}


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _round(values, places: int = 5):
    return [None if v is None else round(v, places) for v in values]


def _months(days):
    return [None if d is None else round(d / DAYS_PER_MONTH, 3) for d in days]


def _layout(title: str, x_title: str, y_title: str, *, bottom: int = 60, percent=True) -> dict:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left"},
        "font": FONT,
        "margin": {"l": 70, "r": 20, "t": 80, "b": bottom},
        "xaxis": {"title": {"text": x_title}, "rangemode": "tozero", "zeroline": False},
        "yaxis": {
            "title": {"text": y_title},
            "range": [0, 1.02],
            "tickformat": ".0%" if percent else None,
        },
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "height": 460,
    }


def km_figure(curves: dict[str, KaplanMeier], *, title: str, origin_label: str) -> dict:
    """Step curves with 95% CI bands (log), censor ticks and the number at risk under the axis."""
    data: list[dict] = []
    last_month = 0.0
    for i, (label, km) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        end = max([km.times[-1], *km.censor_times]) if km.times else 0
        last_month = max(last_month, end / DAYS_PER_MONTH)
        x = _months([*km.times, end])
        data.append(
            {
                "type": "scatter",
                "x": x,
                "y": _round([*km.upper, km.upper[-1]]),
                "mode": "lines",
                "line": {"shape": "hv", "width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": label,
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": x,
                "y": _round([*km.lower, km.lower[-1]]),
                "mode": "lines",
                "line": {"shape": "hv", "width": 0},
                "fill": "tonexty",
                "fillcolor": _rgba(colour, 0.15),
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": label,
                "name": f"{label} 95% CI",
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": x,
                "y": _round([*km.survival, km.survival[-1]]),
                "mode": "lines",
                "line": {"shape": "hv", "width": 2, "color": colour},
                "name": label,
                "legendgroup": label,
                "hovertemplate": "%{x:.1f} months: %{y:.1%}<extra>" + label + "</extra>",
            }
        )
        if km.censor_times:
            # One tick per distinct (time, level): thousands of patients would draw a bar.
            ticks_at = sorted(set(zip(km.censor_times, km.censor_survival, strict=True)))
            data.append(
                {
                    "type": "scatter",
                    "x": _months([t for t, _ in ticks_at]),
                    "y": _round([s for _, s in ticks_at]),
                    "mode": "markers",
                    "marker": {
                        "symbol": "line-ns-open",
                        "size": 8 if len(ticks_at) < 200 else 5,
                        "color": colour,
                    },
                    "name": f"{label} censored",
                    "legendgroup": label,
                    "showlegend": False,
                    "hovertemplate": "Censored at %{x:.1f} months<extra>" + label + "</extra>",
                }
            )
    ticks = [m for m in AT_RISK_MONTHS if m <= max(last_month, 12)]
    layout = _layout(
        title,
        f"Months from {origin_label}",
        "Probability",
        bottom=AXIS_TITLE_PX + ROW_PX * (len(curves) + 1) + 10,
    )
    layout["xaxis"]["tickvals"] = ticks
    layout["xaxis"]["range"] = [0, max(ticks[-1], last_month) * 1.02 if ticks else 12]

    def row_text(text, *, x, xref, row, colour=None, bold=False):
        # Rows are placed in pixels under the axis title (paper units would scale with height).
        return {
            # Weight through the font, not <b>: Plotly renders <b> as a style attribute, which
            # the strict CSP blocks.
            "text": text,
            "xref": xref,
            "yref": "paper",
            "x": x,
            "y": 0,
            "yanchor": "top",
            "yshift": -(AXIS_TITLE_PX + ROW_PX * row),
            "xanchor": "right" if xref == "paper" else "center",
            "showarrow": False,
            "font": {
                "size": 12,
                **({"color": colour} if colour else {}),
                **({"weight": "bold"} if bold else {}),
            },
        }

    annotations = [row_text("Number at risk", x=-0.07, xref="paper", row=0, bold=True)]
    for i, (label, km) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        annotations.append(row_text(label, x=-0.07, xref="paper", row=i + 1, colour=colour))
        for month in ticks:
            count = str(km.at_risk(month * DAYS_PER_MONTH))
            annotations.append(row_text(count, x=month, xref="x", row=i + 1))
    layout["annotations"] = annotations
    layout["margin"]["l"] = 140
    _legend_aside(layout, len(curves))
    return {"data": data, "layout": layout}


def _legend_aside(layout: dict, entries: int) -> None:
    """More than three entries do not fit above the plot: list them to its right."""
    if entries > 3:
        layout["legend"] = {
            "orientation": "v",
            "x": 1.02,
            "xanchor": "left",
            "y": 1,
            "yanchor": "top",
            "tracegroupgap": 0,
        }
        layout["margin"]["r"] = 110
        layout["margin"]["t"] = 50


def cif_figure(
    incidences: dict[str, CumulativeIncidence],
    *,
    title: str,
    causes: list[str],
    x_title: str = "Months from maintenance start",
) -> dict:
    """Cumulative incidence step curves: every cause for one group, else the first cause
    of ``causes`` for each group."""
    data = []
    single = len(incidences) == 1
    i = 0
    for label, cif in incidences.items():
        shown = causes if single else causes[:1]
        for cause in shown:
            if cause not in cif.incidence:
                continue
            colour = COLOURS[i % len(COLOURS)]
            i += 1
            name = cause if single else label
            data.append(
                {
                    "type": "scatter",
                    "x": _months(cif.times),
                    "y": _round(cif.incidence[cause]),
                    "mode": "lines",
                    "line": {"shape": "hv", "width": 2, "color": colour},
                    "name": name,
                    "hovertemplate": "%{x:.1f} months: %{y:.1%}<extra>" + name + "</extra>",
                }
            )
    layout = _layout(title, x_title, "Cumulative incidence")
    layout["xaxis"]["dtick"] = 12
    _legend_aside(layout, len(data))
    return {"data": data, "layout": layout}


def reasons_figure(result: CohortResult) -> dict:
    groups = list(result.reasons)
    data = [
        {
            "type": "bar",
            "name": reason,
            "x": groups,
            "y": [result.reasons[g][reason] for g in groups],
            "marker": {"color": COLOURS[i % len(COLOURS)]},
        }
        for i, reason in enumerate(REASON_ORDER)
    ]
    layout = _layout("Why maintenance ended", "", "Patients", percent=False)
    layout["barmode"] = "stack"
    layout["legend"] = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}
    layout["margin"]["r"] = 130
    layout["yaxis"].pop("range")
    return {"data": data, "layout": layout}


def cytopenia_figure(result: CohortResult) -> dict:
    cycles = [k for k, *_ in result.severe_by_cycle]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": cycles,
            "y": [row[index] / row[1] for row in result.severe_by_cycle],
            "line": {"color": COLOURS[j]},
            "hovertemplate": "Cycle %{x}: %{y:.1%}<extra>" + name + "</extra>",
        }
        for j, (name, index) in enumerate(
            (("Grade 3-4 neutropenia", 2), ("Grade 3-4 thrombocytopenia", 3))
        )
    ]
    layout = _layout("Grade 3-4 cytopenias by cycle", "Cycle", "Share of patients in the cycle")
    layout["yaxis"]["range"] = [0, max([0.1, *(y for d in data for y in d["y"])]) * 1.1]
    layout["xaxis"]["dtick"] = 1
    return {"data": data, "layout": layout}


def cohort_figures(result: CohortResult) -> dict[str, dict]:
    """Every figure of the page, by the id of the element that draws it."""
    origin = {"maintenance": "maintenance start", "diagnosis": "diagnosis", "transplant": "transplant"}[
        result.params.origin
    ]  # fmt: skip
    if result.params.landmark_days:
        origin += f" (landmark {result.params.landmark_days} days)"
    figures = {}
    if result.pfs.km:
        figures["fig_pfs"] = km_figure(
            result.pfs.km, title="Progression-free survival", origin_label=origin
        )
    if result.os.km:
        figures["fig_os"] = km_figure(result.os.km, title="Overall survival", origin_label=origin)
    if result.maintenance.km:
        figures["fig_maintenance"] = km_figure(
            result.maintenance.km, title="Still on maintenance", origin_label="maintenance start"
        )
    if result.stop_before_progression.cif:
        figures["fig_stop"] = cif_figure(
            result.stop_before_progression.cif,
            title="Stopping before progression (competing: progression, death)",
            causes=["Stopped before progression", "Progression", "Death"],
        )
    if result.reasons:
        figures["fig_reasons"] = reasons_figure(result)
    if result.reduction.cif:
        figures["fig_reduction"] = cif_figure(
            result.reduction.cif,
            title="First dose reduction (competing: stopping maintenance)",
            causes=["First reduction", "Stopped without a reduction"],
        )
    if result.severe_by_cycle:
        figures["fig_cytopenia"] = cytopenia_figure(result)
    if result.mrd_conversion.cif:
        figures["fig_mrd"] = cif_figure(
            result.mrd_conversion.cif,
            title="MRD conversion (competing: progression or death)",
            causes=["MRD-negative", "Progression or death"],
        )
    return figures
