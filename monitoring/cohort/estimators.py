"""Survival estimators for the Cohort page and ``survival_report``: pure, no ORM, no dates.

Inputs are plain sequences of times (any unit; the page uses days), event indicators and,
optionally, entry times (left truncation: a patient who came under observation after the
time origin is at risk only from entry). The conventions follow R's ``survival`` package,
the field's reference, and are pinned by tests against numbers computed with R:

* Kaplan-Meier from lifelines (``KaplanMeierFitter``); tied times are never jittered.
* Risk sets use R's counting-process rule: a patient entering at ``e`` is at risk for
  events after ``e`` (``start < t <= stop``). Lifelines counts an entrant at risk at ``e``
  itself, so entry times are passed to it nudged by ``ENTRY_NUDGE``.
* Confidence intervals: R's default ``conf.type = "log"`` from the Greenwood variance,
  computed here from the estimate; R's ``"log-log"`` (what lifelines reports) is kept too,
  labelled, never silently swapped.
* Median (and its CI limits): the first time S(t) <= 0.5; when S(t) is exactly 0.5 over an
  interval, the midpoint of that interval (R: four events at 1, 2, 3, 4 give 2.5).
* Log-rank with delayed entry and the cumulative incidence with competing events
  (Aalen-Johansen) are computed here: lifelines' log-rank ignores entry times and its
  ``AalenJohansenFitter`` jitters tied times, which R does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Z_95 = 1.959963984540054  # qnorm(0.975)
ENTRY_NUDGE = 1e-7  # in the data's time unit: far below one day, one week, one month
TOLERANCE = math.sqrt(np.finfo(float).eps)  # R's quantile.survfit tolerance


@dataclass(frozen=True)
class Quantile:
    """A survival-time quantile with its 95% CI (None where the curve never gets there)."""

    estimate: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class SurvivalAt:
    time: float
    survival: float | None
    lower: float | None
    upper: float | None
    at_risk: int


@dataclass(frozen=True)
class KaplanMeier:
    """A step curve: ``times[i]`` starts a step at ``survival[i]`` (``times[0]`` is 0)."""

    n: int
    events: int
    times: list[float]
    survival: list[float]
    lower: list[float | None]  # conf.type = "log" (R's default)
    upper: list[float | None]
    lower_loglog: list[float | None]
    upper_loglog: list[float | None]
    censor_times: list[float]
    censor_survival: list[float]
    median: Quantile
    median_loglog: Quantile
    # Raw inputs kept for number-at-risk counts (R convention).
    _durations: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    _entry: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))

    def at_risk(self, t: float) -> int:
        """Patients at risk at time t: entered before t and not yet out (R: start < t <= stop)."""
        if t <= 0:
            return int(np.sum(self._entry <= 0))
        return int(np.sum((self._entry < t) & (self._durations >= t)))

    def at(self, t: float) -> SurvivalAt:
        """S(t) with its log CI; None past the last observed time."""
        if not self.times or t > max(self._durations.max(initial=0), 0):
            return SurvivalAt(t, None, None, None, self.at_risk(t))
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        return SurvivalAt(t, self.survival[i], self.lower[i], self.upper[i], self.at_risk(t))


def _arrays(durations, events, entry):
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    entry = np.zeros_like(durations) if entry is None else np.asarray(entry, dtype=float)
    if not (len(durations) == len(events) == len(entry)):
        raise ValueError("Times, events and entry times must have the same length.")
    if np.any(~np.isfinite(durations)) or np.any(durations < 0):
        raise ValueError("Times must be finite and not negative.")
    # A patient whose follow-up ends at or before entry contributes nothing (R refuses it).
    keep = durations > entry
    return durations[keep], events[keep], entry[keep]


def quantile(times: Sequence[float], curve: Sequence[float | None], p: float = 0.5):
    """R's quantile rule on a step curve: first time the curve is <= p; if it equals p
    (within tolerance) over an interval, the midpoint of that interval."""
    xs: list[float] = []
    ys: list[float] = []
    for t, y in zip(times, curve, strict=True):
        if y is None:
            continue
        if ys and abs(y - ys[-1]) < TOLERANCE:
            continue  # a flat stretch: keep where it started
        xs.append(t)
        ys.append(y)
    for i, y in enumerate(ys):
        if y <= p + TOLERANCE:
            if abs(y - p) < TOLERANCE and i + 1 < len(xs):
                return (xs[i] + xs[i + 1]) / 2
            return xs[i]
    return None


def kaplan_meier(durations, events, entry=None) -> KaplanMeier:
    durations, events, entry = _arrays(durations, events, entry)
    n = len(durations)
    if n == 0:
        empty = Quantile(None, None, None)
        return KaplanMeier(0, 0, [], [], [], [], [], [], [], [], empty, empty, durations, entry)
    from lifelines import KaplanMeierFitter  # imported on first use: a slow import

    fitter = KaplanMeierFitter()
    has_entry = bool(np.any(entry > 0))
    fitter.fit(durations, events, entry=entry + ENTRY_NUDGE if has_entry else None)
    table = fitter.event_table
    at_risk = table["at_risk"].to_numpy(dtype=float)
    observed = table["observed"].to_numpy(dtype=float)
    table_times = table.index.to_numpy(dtype=float)
    surv_all = fitter.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    ci = fitter.confidence_interval_survival_function_
    ll_lo_all, ll_hi_all = ci.iloc[:, 0].to_numpy(), ci.iloc[:, 1].to_numpy()
    # Greenwood: var(log S) = sum d / (n (n - d)) over event times so far.
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(observed > 0, observed / (at_risk * (at_risk - observed)), 0.0)
    greenwood = np.cumsum(terms)

    times, surv, lo, hi, ll_lo, ll_hi = [0.0], [1.0], [1.0], [1.0], [1.0], [1.0]
    for i, t in enumerate(table_times):
        if observed[i] == 0 or t == 0:
            continue  # only events make steps (censorings and nudged entries do not)
        s = float(surv_all[i])
        se = math.sqrt(greenwood[i]) if np.isfinite(greenwood[i]) else math.inf
        times.append(float(t))
        surv.append(s)
        if s > 0 and math.isfinite(se):
            lo.append(s * math.exp(-Z_95 * se))
            hi.append(min(1.0, s * math.exp(Z_95 * se)))
        else:
            lo.append(None)
            hi.append(None)
        ll_lo.append(_finite(ll_lo_all[i]) if s > 0 else None)
        ll_hi.append(_finite(ll_hi_all[i]) if s > 0 else None)

    censored = ~events
    censor_times = sorted(float(t) for t in durations[censored])
    steps = np.searchsorted(np.asarray(times), np.asarray(censor_times), side="right") - 1
    censor_survival = [surv[i] for i in steps.tolist()]
    return KaplanMeier(
        n=n,
        events=int(events.sum()),
        times=times,
        survival=surv,
        lower=lo,
        upper=hi,
        lower_loglog=ll_lo,
        upper_loglog=ll_hi,
        censor_times=censor_times,
        censor_survival=censor_survival,
        median=Quantile(quantile(times, surv), quantile(times, lo), quantile(times, hi)),
        median_loglog=Quantile(
            quantile(times, surv), quantile(times, ll_lo), quantile(times, ll_hi)
        ),
        _durations=durations,
        _entry=entry,
    )


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# --- Log-rank ------------------------------------------------------------------------------


def _at_risk(entry: np.ndarray, durations: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Patients at risk at each time (R: entry < t <= duration). Everyone with duration < t
    also entered before t, so the count is #(entry < t) - #(duration < t)."""
    entered = np.searchsorted(np.sort(entry), times, side="left")
    left = np.searchsorted(np.sort(durations), times, side="left")
    return (entered - left).astype(float)


def _count_at(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """How many of ``values`` equal each of the sorted ``times`` (values all among them)."""
    counts = np.bincount(np.searchsorted(times, values), minlength=len(times))
    return counts[: len(times)].astype(float)


@dataclass(frozen=True)
class LogRank:
    chi2: float
    df: int
    p: float


def logrank(durations, events, groups, entry=None) -> LogRank | None:
    """The k-group log-rank test (R's ``survdiff``, rho = 0), risk sets honouring entry.

    At each event time the observed-minus-expected vector and its hypergeometric covariance
    are summed; chi-square = (O - E)' V^-1 (O - E) over k - 1 groups. None for one group.
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    groups = np.asarray(groups, dtype=object)
    entry = np.zeros_like(durations) if entry is None else np.asarray(entry, dtype=float)
    keep = durations > entry
    durations, events, groups, entry = durations[keep], events[keep], groups[keep], entry[keep]
    labels = sorted(set(groups.tolist()), key=str)
    k = len(labels)
    if k < 2:
        return None
    times = np.unique(durations[events])
    n = _at_risk(entry, durations, times)
    d = _count_at(durations[events], times)
    n_g = np.column_stack(
        [_at_risk(entry[groups == label], durations[groups == label], times) for label in labels]
    )  # times x k
    d_g = np.column_stack(
        [_count_at(durations[events & (groups == label)], times) for label in labels]
    )
    o_minus_e = (d_g - (d / n)[:, None] * n_g).sum(axis=0)
    # Hypergeometric covariance summed over event times (zero where one patient is at risk).
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n * n * (n - 1)), 0.0)
    variance = np.diag((factor * n) @ n_g) - (n_g * factor[:, None]).T @ n_g
    from scipy import stats

    chi2 = float(o_minus_e[:-1] @ np.linalg.pinv(variance[:-1, :-1]) @ o_minus_e[:-1])
    df = k - 1
    return LogRank(chi2=chi2, df=df, p=float(stats.chi2.sf(chi2, df)))


# --- Competing risks -------------------------------------------------------------------------


@dataclass(frozen=True)
class CumulativeIncidence:
    """Aalen-Johansen cumulative incidence of each cause (steps at ``times``)."""

    n: int
    times: list[float]
    incidence: dict[str, list[float]]
    counts: dict[str, int]

    def at(self, cause: str, t: float) -> float:
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        return self.incidence[cause][i] if i >= 0 else 0.0


def cumulative_incidence(durations, causes, entry=None) -> CumulativeIncidence:
    """CIF_k(t) = sum over event times s <= t of S(s-) d_k(s) / n(s), where S is the
    all-cause Kaplan-Meier and n the risk set (R convention with entry). ``causes`` holds
    a cause name for each patient, or "" / None when censored. Ties are kept as ties:
    several causes at one time share that time's S(s-)."""
    durations = np.asarray(durations, dtype=float)
    causes = np.array(["" if c is None else str(c) for c in causes], dtype=object)
    entry = np.zeros_like(durations) if entry is None else np.asarray(entry, dtype=float)
    keep = durations > entry
    durations, causes, entry = durations[keep], causes[keep], entry[keep]
    names = sorted({c for c in causes if c})
    event = causes != ""
    event_times = np.unique(durations[event])
    n = _at_risk(entry, durations, event_times)
    d = _count_at(durations[event], event_times)
    # S(s-): the all-cause Kaplan-Meier just before each event time.
    before = np.concatenate([[1.0], np.cumprod(1 - d / n)[:-1]]) if len(n) else np.array([])
    times = [0.0, *event_times.tolist()]
    incidence = {}
    for name in names:
        d_k = _count_at(durations[causes == name], event_times)
        incidence[name] = [0.0, *np.cumsum(before * d_k / n).tolist()]
    counts = {name: int((causes == name).sum()) for name in names}
    return CumulativeIncidence(n=len(durations), times=times, incidence=incidence, counts=counts)


# --- Delayed entry and landmark --------------------------------------------------------------


@dataclass(frozen=True)
class Follow:
    """One patient's follow-up on the chosen time scale (all in days from the origin)."""

    entry: float
    duration: float
    event: bool


def on_time_scale(
    *, origin: float, entered: float, end: float, event: bool, landmark: float = 0.0
) -> Follow | None:
    """Place one patient on a time scale, all arguments in days on one calendar axis.

    The clock starts at ``origin`` (maintenance start, diagnosis or transplant). A patient
    who entered care after the origin is at risk only from then (delayed entry). With a
    landmark, only patients still event-free and followed at the landmark count, and their
    clock still runs from the origin. None: the patient is not in this analysis.
    """
    duration = end - origin
    entry = max(0.0, entered - origin, landmark)
    if duration <= entry:
        return None
    return Follow(entry=entry, duration=duration, event=event)


# --- Dose intensity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseSegment:
    """Days at one lenalidomide level: ``mg_per_day`` averaged over the cycle (dose x
    dosing days / cycle days), ``days`` on that level, ``held_days`` of those on hold."""

    mg_per_day: float
    days: int
    held_days: int


def relative_dose_intensity(*, planned_mg_per_day: float, segments: Sequence[DoseSegment]):
    """Delivered dose over the dose planned at the start for the same time (None: no plan)."""
    total_days = sum(s.days for s in segments)
    if planned_mg_per_day <= 0 or total_days <= 0:
        return None
    delivered = sum(s.mg_per_day * (s.days - s.held_days) for s in segments)
    return delivered / (planned_mg_per_day * total_days)


def rate_per_patient_year(count: int, days: float) -> float | None:
    return count / (days / 365.25) if days > 0 else None


def share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
