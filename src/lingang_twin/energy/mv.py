"""Measurement & verification (节能量测量与验证): weather-dependent baselines, avoided energy use, weather-normalised
comparisons.

Three questions, one model. :func:`fit_baseline` fits a CalTRACK daily model — consumption per day as an intercept
plus heating and cooling degree-day terms of the day's mean outdoor temperature — through opendsm (eemeter's
successor, Apache-2.0) and judges it against CalTRACK data sufficiency and ASHRAE Guideline 14. :func:`savings`
projects that baseline over a reporting period after a retrofit and reports the avoided energy use with its
Guideline 14 uncertainty. :func:`weather_normalised` compares a month with the same month last year (or with the
month before) after taking the weather out.

Data come from the twin: the consumption of the scope's main meters per Shanghai day in the carrier's canonical unit
(:func:`.consumption.consumption_grid`, so sub-meters are never counted twice) and the hourly mean ``temperature``
[°C] of a ``WeatherStation``. opendsm works in °F (its balance-point bounds and data checks assume it); this module
converts on the way in and reports balance points in °C and slopes per °C·day on the way out.

Methods (``method=``, a registry: :data:`METHODS`)

``caltrack-2.0-daily`` (default)
    opendsm ``DailyModel(model="legacy")``: the CalTRACK 2.0 model form — one model for the whole year, intercept
    only / HDD / CDD / HDD+CDD hinge terms, least-squares loss, no smoothing, no seasonal or weekday splits.
    Deviation from the CalTRACK 2.0 text: opendsm searches the balance points with a bounded optimiser
    (NLopt DIRECT, then SBPLX) and prunes terms that do not pay for themselves, instead of a 1 °F grid and
    "best adjusted R² among models whose coefficients are positive and significant". The fitted slopes are
    checked for sign here (``coefficients_positive``).
``opendsm-daily``
    opendsm's current daily model (``model="current"``): smoothed hinges, optional season and weekday/weekend
    splits. More accurate, no longer CalTRACK 2.0.

Definitions (every figure says which one produced it)

* Daily CV(RMSE) = √(Σ(yᵢ − ŷᵢ)² / (n − p)) / ȳ and NMBE = Σ(yᵢ − ŷᵢ) / (n · ȳ) over baseline days (opendsm's
  ``cvrmse_adj`` and ``nmbe``; p = number of model parameters incl. balance points). NMBE of a least-squares fit
  is ≈ 0 in-sample by construction; it matters for the monthly check and for a model used out of sample.
* The Guideline 14 verdict is taken on **monthly** aggregates of the baseline fit, because G14's limits for
  whole-building models are stated for monthly (CV(RMSE) ≤ 15 %, NMBE ±5 %) and hourly data (≤ 30 %, ±10 %) and
  not for daily data. Observed and predicted are summed per Shanghai calendar month over the days that have both,
  months with fewer than 80 % of their days are left out (edge months), and
  CV(RMSE) = √(Σ(Yⱼ − Ŷⱼ)² / (N − 1)) / Ȳ, NMBE = Σ(Yⱼ − Ŷⱼ) / ((N − 1) · Ȳ) over the N months — G14's
  calibration form with p = 1: the daily model's parameters were not fitted to the monthly points, so charging
  them against 12 monthly degrees of freedom would be double counting. Fewer than 3 such months: "not-assessed".
* Savings uncertainty (ASHRAE Guideline 14-2014 Annex B, as implemented by opendsm ``ReportingMetrics``)::

      U = t(1 − (1 − c)/2, n − p) · (E_rep / m) · CV(RMSE) · √( (n / n′) · (1 + 2 / n′) · m ) · F(M)
      n′ = n · (1 − ρ₁) / (1 + ρ₁)

  E_rep the predicted (baseline) use over the reporting period, m the reporting days, n the baseline days, ρ₁ the
  lag-1 autocorrelation of the baseline residuals, c the confidence. F(M) replaces G14's 1.26 (an hourly-data
  correction) for daily data with Sun & Baltazar's polynomial in the number of reporting months M:
  F = −0.00024 M² + 0.03535 M + 1.00286. Fractional savings uncertainty FSU = U / savings.

References
----------
.. [1] CalTRACK Methods 2.0, daily and billing methods, http://docs.caltrack.org (sections 2 and 3).
.. [2] ASHRAE Guideline 14-2014, Measurement of Energy, Demand, and Water Savings, §4.3 and Annex B.
.. [3] Sun, Y. and Baltazar, J.C. (2013), Analysis and improvement on the estimation of building energy savings
   uncertainty, ASHRAE Transactions 119(1).
.. [4] opendsm 1.2.7, ``opendsm.eemeter.DailyModel`` and ``opendsm.common.metrics``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import version as _pkg_version
from typing import Any

import numpy as np
import pandas as pd

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.jsonable import jsonable
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import meters_in_scope, month_range
from lingang_twin.energy.carriers import canonical_unit
from lingang_twin.energy.consumption import SHANGHAI, align, consumption_grid
from lingang_twin.energy.factors import EnergyConfig

MIN_FIT_DAYS = 30
"""Fewer days with both a reading and a temperature than this and no model is fitted at all: below a month the
hinge terms cannot be told apart from noise (opendsm itself wants ≥ 10 days on each side of a balance point)."""

CALTRACK_BASELINE_DAYS = 365
CALTRACK_MAX_MISSING_DAYS = 37
"""CalTRACK 2.0 §2.2: a 365-day baseline of which at most 37 days (≈ 10 %) may lack data."""

G14_LIMITS: dict[str, dict[str, float]] = {
    "monthly": {"cvrmse_pct": 15.0, "nmbe_pct": 5.0},
    "hourly": {"cvrmse_pct": 30.0, "nmbe_pct": 10.0},
}
"""ASHRAE Guideline 14-2014 calibration limits for whole-building baseline models: CV(RMSE) at most, |NMBE| at
most, in percent (REFERENCE.md "Measurement & verification")."""

FIXED_BALANCE_POINTS_C: dict[str, float] = {"heating": 18.0, "cooling": 26.0}
"""Degree-day base temperatures [°C] used when the fitted model has no balance point of its own (18 °C is the
common heating base, 26 °C the cooling set-point of GB 50189 for public buildings)."""

MIN_MONTH_COVERAGE = 0.8
_UNITS_NOTE = "opendsm's daily model works in °F: temperatures converted on the way in, results back to °C"


@dataclass(frozen=True)
class _Method:
    opendsm_model: str
    description: str


METHODS: dict[str, _Method] = {
    "caltrack-2.0-daily": _Method("legacy", "CalTRACK 2.0 daily model form (opendsm DailyModel, 'legacy' settings: "
                                            "one yearly HDD/CDD hinge model, least squares, no smoothing or splits)"),
    "opendsm-daily": _Method("current", "opendsm current daily model (smoothed hinges, season and "
                                        "weekday/weekend splits)"),
}
"""Baseline methods by name (``method=``)."""

# opendsm's model types → the names used here (CalTRACK's vocabulary).
_KINDS = {"tidd": "intercept-only", "hdd_tidd": "hdd", "tidd_cdd": "cdd", "hdd_tidd_cdd": "hdd_cdd",
          "hdd_tidd_smooth": "hdd-smooth", "tidd_cdd_smooth": "cdd-smooth", "hdd_tidd_cdd_smooth": "hdd_cdd-smooth"}


def _library() -> str:
    return f"opendsm {_pkg_version('opendsm')}"


# ---------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Baseline:
    """A fitted daily baseline of one scope and carrier.

    ``coefficients``: ``intercept`` [unit/day], ``hdd_slope`` / ``cdd_slope`` [unit per °C·day] and the balance
    points ``hdd_balance_c`` / ``cdd_balance_c`` [°C] (None where the model has no such term); for split models
    (``opendsm-daily``) one such set per submodel under ``submodels``. ``cvrmse_pct`` / ``nmbe_pct`` are daily,
    ``g14`` the monthly Guideline 14 check (see the module docstring for every formula).
    """

    scope: str
    carrier: str
    unit: str
    period: tuple[datetime, datetime]
    method: str
    library: str
    weather_station: str
    model_kind: str
    coefficients: dict[str, float | None]
    submodels: dict[str, dict[str, float | None]]
    coefficients_positive: bool
    n_days: int
    n_days_used: int
    n_days_missing: int
    caltrack_compliant: bool
    sufficiency_issues: list[dict[str, Any]]
    cvrmse_pct: float
    nmbe_pct: float
    r2_adj: float
    n_params: int
    g14: dict[str, Any]
    fit_seconds: float
    fitted: pd.DataFrame = field(repr=False, compare=False)
    _model: Any = field(repr=False, compare=False)

    def predict(self, temperatures: pd.Series) -> pd.Series:
        """Predicted consumption per day [``unit``] for outdoor temperatures [°C].

        ``temperatures``: a Series with a timezone-aware DatetimeIndex, hourly or daily means (opendsm averages
        to days in the index's timezone). Returns one value per day, NaN where the day has no temperature.
        """
        if not isinstance(temperatures, pd.Series) or not isinstance(temperatures.index, pd.DatetimeIndex) \
                or temperatures.index.tz is None:
            raise ValidationError("temperatures", "timezone-required",
                                  "temperatures must be a pandas Series with a timezone-aware DatetimeIndex / "
                                  "温度须为带时区时间索引的序列")
        tz = temperatures.index.tz
        days = pd.date_range(temperatures.index.min().floor("D"), temperatures.index.max().floor("D"), freq="D",
                             tz=tz)
        out = _predict(self._model, pd.Series(np.nan, index=days), temperatures, self.carrier)
        return out["predicted"].rename("predicted")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (no fitted values)."""
        return {
            "scope": self.scope, "carrier": self.carrier, "unit": self.unit,
            "period": [self.period[0].isoformat(), self.period[1].isoformat()],
            "method": self.method, "methodDescription": METHODS[self.method].description, "library": self.library,
            "weatherStation": self.weather_station, "modelKind": self.model_kind,
            "coefficients": dict(self.coefficients), "submodels": {k: dict(v) for k, v in self.submodels.items()},
            "coefficientsPositive": self.coefficients_positive,
            "nDays": self.n_days, "nDaysUsed": self.n_days_used, "nDaysMissing": self.n_days_missing,
            "caltrackCompliant": self.caltrack_compliant, "sufficiencyIssues": list(self.sufficiency_issues),
            "cvrmsePct": self.cvrmse_pct, "nmbePct": self.nmbe_pct, "r2Adj": self.r2_adj, "nParams": self.n_params,
            "g14": dict(self.g14), "fitSeconds": round(self.fit_seconds, 3), "note": _UNITS_NOTE,
        }


@dataclass(frozen=True)
class Savings:
    """Avoided energy use over a reporting period: the baseline's prediction for the reporting weather minus the
    metered use, per day (``daily``: observed, predicted, savings [unit]) and in total, with its Guideline 14
    uncertainty at ``confidence`` (two-sided): the true savings lie in ``[savings − U, savings + U]``."""

    scope: str
    carrier: str
    unit: str
    baseline: Baseline
    reporting_period: tuple[datetime, datetime]
    n_days: int
    n_days_used: int
    observed_total: float
    predicted_total: float
    savings_total: float
    savings_pct: float
    confidence: float
    uncertainty: float
    uncertainty_pct: float
    fsu_pct: float
    band: tuple[float, float]
    band_pct: tuple[float, float]
    method: str
    formula: str
    daily: pd.DataFrame = field(repr=False, compare=False)

    def to_dict(self, days: bool = False) -> dict[str, Any]:
        """A JSON-able description; ``days=True`` adds the per-day table."""
        out: dict[str, Any] = {
            "scope": self.scope, "carrier": self.carrier, "unit": self.unit, "baseline": self.baseline.to_dict(),
            "reportingPeriod": [self.reporting_period[0].isoformat(), self.reporting_period[1].isoformat()],
            "nDays": self.n_days, "nDaysUsed": self.n_days_used, "observedTotal": self.observed_total,
            "predictedTotal": self.predicted_total, "savingsTotal": self.savings_total,
            "savingsPct": self.savings_pct, "confidence": self.confidence, "uncertainty": self.uncertainty,
            "uncertaintyPct": self.uncertainty_pct, "fsuPct": self.fsu_pct, "band": list(self.band),
            "bandPct": list(self.band_pct), "method": self.method, "formula": self.formula,
        }
        if days:
            out["daily"] = [{"day": d.isoformat(), "observed": _num(r.observed), "predicted": _num(r.predicted),
                             "savings": _num(r.savings)} for d, r in self.daily.iterrows()]
        return out


# ---------------------------------------------------------------------------------------------------- API


def fit_baseline(twin: Twin, scope_id: str, start: datetime, end: datetime, *, carrier: str = "electricity",
                 weather_station: str | None = None, config: EnergyConfig | dict[str, Any] | None = None,
                 method: str = "caltrack-2.0-daily") -> Baseline:
    """Fit a daily weather baseline of ``scope_id``'s ``carrier`` use over ``[start, end)`` (whole Shanghai days).

    The temperature is the hourly mean of ``weather_station`` (default: the scope's own station, else the one
    station of its district). A baseline that is not CalTRACK-compliant (not 365 days, more than 37 days missing,
    opendsm disqualification) is still fitted and says why in ``sufficiency_issues``; fewer than
    :data:`MIN_FIT_DAYS` usable days raise ValidationError (field ``baseline``, rule ``insufficient-data``).
    ``config`` (:class:`.factors.EnergyConfig`) converts meter units as everywhere in the energy pack.
    """
    spec = _method(method)
    for name, instant in (("start", start), ("end", end)):
        _aware(instant, name)
    unit = canonical_unit(carrier)
    scope = twin.get(scope_id)
    _check_carrier(twin, scope, carrier)
    station = _station(twin, scope, weather_station)
    start, end = align(start, end, "day")
    observed, temps = _load(twin, scope, start, end, carrier, station, config)
    return _fit(scope.id, carrier, unit, station, start, end, observed, temps, method, spec)


def savings(twin: Twin, scope_id: str, *, baseline_start: datetime, retrofit_date: datetime,
            reporting_end: datetime, reporting_start: datetime | None = None, carrier: str = "electricity",
            confidence: float = 0.9, weather_station: str | None = None,
            config: EnergyConfig | dict[str, Any] | None = None, method: str = "caltrack-2.0-daily") -> Savings:
    """Avoided energy use after a retrofit (CalTRACK / IPMVP option C, whole-facility).

    The baseline is fitted on ``[baseline_start, retrofit_date)``; the reporting period is
    ``[reporting_start, reporting_end)`` with ``reporting_start`` defaulting to ``retrofit_date`` (set it later to
    leave out an installation "blackout" period). Savings = predicted − observed over the reporting days that
    have both, in total and as % of predicted, with the Guideline 14 uncertainty at ``confidence`` (module
    docstring). ``retrofit_date`` must lie strictly inside ``(baseline_start, reporting_end)``.
    """
    spec = _method(method)
    for name, instant in (("baseline_start", baseline_start), ("retrofit_date", retrofit_date),
                          ("reporting_end", reporting_end)):
        _aware(instant, name)
    if reporting_start is not None:
        _aware(reporting_start, "reporting_start")
    if not (isinstance(confidence, float | int) and 0.5 <= confidence < 1.0):
        raise ValidationError("confidence", "range", "confidence must be in [0.5, 1) / 置信度须在 [0.5, 1) 之间",
                              value=confidence)
    if not baseline_start < retrofit_date < reporting_end:
        raise ValidationError("retrofit_date", "range",
                              "retrofit_date must lie after baseline_start and before reporting_end / "
                              "改造日期须晚于基准期开始、早于报告期结束", value=retrofit_date.isoformat())
    rep_start = retrofit_date if reporting_start is None else reporting_start
    if not retrofit_date <= rep_start < reporting_end:
        raise ValidationError("reporting_start", "range",
                              "reporting_start must lie in [retrofit_date, reporting_end) / "
                              "报告期开始须在改造日期与报告期结束之间", value=rep_start.isoformat())
    unit = canonical_unit(carrier)
    scope = twin.get(scope_id)
    _check_carrier(twin, scope, carrier)
    station = _station(twin, scope, weather_station)
    b0, b1 = align(baseline_start, retrofit_date, "day")
    r0, r1 = align(rep_start, reporting_end, "day")
    r0 = max(r0, b1)  # a retrofit in the middle of a day: that day belongs to neither period
    if r0 >= r1:
        raise ValidationError("reporting_end", "insufficient-data",
                              "the reporting period holds no whole day / 报告期不足一整天",
                              value=reporting_end.isoformat())
    obs_b, temps_b = _load(twin, scope, b0, b1, carrier, station, config)
    obs_r, temps_r = _load(twin, scope, r0, r1, carrier, station, config)
    base = _fit(scope.id, carrier, unit, station, b0, b1, obs_b, temps_b, method, spec)
    table = _predict(base._model, obs_r, temps_r, carrier)
    both = table.dropna(subset=["observed", "predicted"])
    if both.empty:
        raise ValidationError("reporting_end", "insufficient-data",
                              "no reporting day has both a reading and a temperature / "
                              "报告期内没有同时具备读数与气温的日期", value=reporting_end.isoformat())
    from opendsm.common.metrics import ReportingMetrics

    with _quiet():
        rm = ReportingMetrics(baseline_metrics=base._model.baseline_metrics, reporting_df=both,
                              data_frequency="daily", confidence_level=float(confidence))
        unc = rm.total_savings_uncertainty
    predicted, observed = float(both["predicted"].sum()), float(both["observed"].sum())
    saved = predicted - observed
    u = float(unc) if unc is not None and math.isfinite(unc) else math.nan
    daily = table[["observed", "predicted"]].copy()
    daily["savings"] = daily["predicted"] - daily["observed"]
    formula = ("U = t(1-(1-c)/2, n-p) · (E_rep/m) · CV(RMSE)_adj · sqrt((n/n')·(1+2/n')·m) · F(M), "
               "n' = n(1-ρ1)/(1+ρ1), F(M) = -0.00024M² + 0.03535M + 1.00286 (ASHRAE Guideline 14 Annex B with "
               "Sun & Baltazar 2013 daily correction; opendsm ReportingMetrics)")
    return Savings(
        scope=scope.id, carrier=carrier, unit=unit, baseline=base, reporting_period=(r0, r1),
        n_days=len(table), n_days_used=len(both), observed_total=observed, predicted_total=predicted,
        savings_total=saved, savings_pct=100.0 * saved / predicted if predicted else math.nan,
        confidence=float(confidence), uncertainty=u, uncertainty_pct=100.0 * u / predicted if predicted else math.nan,
        fsu_pct=100.0 * u / abs(saved) if saved else math.inf,
        band=(saved - u, saved + u),
        band_pct=(100.0 * (saved - u) / predicted, 100.0 * (saved + u) / predicted) if predicted
        else (math.nan, math.nan),
        method=f"avoided energy use = baseline prediction − metered, {method} via {_library()}", formula=formula,
        daily=daily)


def _last_year(start: datetime) -> datetime:
    return start.replace(year=start.year - 1)


def _last_month(start: datetime) -> datetime:
    return (start - timedelta(days=1)).replace(day=1)


COMPARISONS: dict[str, Callable[[datetime], datetime]] = {"last-year": _last_year, "last-month": _last_month}
"""Reference periods for :func:`weather_normalised`: the first day of the reference month, given this month's."""


def weather_normalised(twin: Twin, scope_id: str, month: str, *, against: str = "last-year",
                       carrier: str = "electricity", weather_station: str | None = None,
                       config: EnergyConfig | dict[str, Any] | None = None,
                       method: str = "caltrack-2.0-daily") -> dict[str, Any]:
    """This month's use against a reference month (``against``: ``last-year`` or ``last-month``), weather removed.

    A baseline is fitted on the 365 days ending with the reference month (the building as it was then). Its
    predictions P give the weather effect: the reference month's use restated in this month's weather is
    ``A_ref × P(this month's weather) / P(reference weather)``, and the weather-normalised change is
    ``A_this / restated − 1`` — equivalently the change of the ratio actual / predicted, so the model's bias in the
    reference month cancels. Days without a reading or a temperature are left out of both A and P. HDD/CDD are
    given at the model's balance points, or at :data:`FIXED_BALANCE_POINTS_C` for a term the model lacks.
    """
    if against not in COMPARISONS:
        raise ValidationError("against", "one-of", f"against must be one of {sorted(COMPARISONS)} / 不支持的对比方式",
                              value=against)
    spec = _method(method)
    this0, this1 = month_range(month, "month")
    ref0 = COMPARISONS[against](this0)
    ref1 = month_range(ref0.strftime("%Y-%m"))[1]
    unit = canonical_unit(carrier)
    scope = twin.get(scope_id)
    _check_carrier(twin, scope, carrier)
    station = _station(twin, scope, weather_station)
    fit0 = ref1 - timedelta(days=CALTRACK_BASELINE_DAYS)
    obs_f, temps_f = _load(twin, scope, fit0, ref1, carrier, station, config)
    obs_t, temps_t = _load(twin, scope, this0, this1, carrier, station, config)
    base = _fit(scope.id, carrier, unit, station, fit0, ref1, obs_f, temps_f, method, spec)
    ref = _predict(base._model, obs_f.loc[ref0:ref1 - timedelta(seconds=1)], temps_f, carrier)
    this = _predict(base._model, obs_t, temps_t, carrier)
    hb = base.coefficients.get("hdd_balance_c")
    cb = base.coefficients.get("cdd_balance_c")
    basis = {"heating_c": hb if hb is not None else FIXED_BALANCE_POINTS_C["heating"],
             "cooling_c": cb if cb is not None else FIXED_BALANCE_POINTS_C["cooling"],
             "heating_source": "fitted" if hb is not None else "fixed 18 °C",
             "cooling_source": "fitted" if cb is not None else "fixed 26 °C"}

    def period(label: str, t0: datetime, frame: pd.DataFrame) -> dict[str, Any]:
        both = frame.dropna(subset=["observed", "predicted"])
        tday = frame["temperature_c"]
        return {"month": t0.strftime("%Y-%m"), "actual": float(frame["observed"].sum(min_count=1)),
                "nDays": len(frame), "nDaysWithReading": int(frame["observed"].notna().sum()),
                "nDaysUsed": len(both), "actualOnUsedDays": float(both["observed"].sum()),
                "predictedOnUsedDays": float(both["predicted"].sum()),
                "meanTemperatureC": float(tday.mean()) if tday.notna().any() else math.nan,
                "hdd": float(np.clip(basis["heating_c"] - tday, 0, None).sum()),
                "cdd": float(np.clip(tday - basis["cooling_c"], 0, None).sum()), "label": label}

    p_this, p_ref = period("this", this0, this), period("reference", ref0, ref)
    if p_this["nDaysUsed"] == 0 or p_ref["nDaysUsed"] == 0:
        which = "month" if p_this["nDaysUsed"] == 0 else "against"
        raise ValidationError(which, "insufficient-data",
                              "a compared month has no day with both a reading and a temperature / "
                              "对比月份没有同时具备读数与气温的日期", value=month)
    ratio_this = p_this["actualOnUsedDays"] / p_this["predictedOnUsedDays"]
    ratio_ref = p_ref["actualOnUsedDays"] / p_ref["predictedOnUsedDays"]
    restated = p_ref["actualOnUsedDays"] * p_this["predictedOnUsedDays"] / p_ref["predictedOnUsedDays"]
    raw = 100.0 * (p_this["actual"] / p_ref["actual"] - 1.0) if p_ref["actual"] else math.nan
    return {
        "scope": scope.id, "carrier": carrier, "unit": unit, "month": month, "against": against,
        "this": p_this, "reference": p_ref, "degreeDayBasis": basis,
        "rawChangePct": raw,
        "referenceRestatedInThisWeather": restated,
        "normalisedChangePct": 100.0 * (ratio_this / ratio_ref - 1.0),
        "weatherEffectPct": 100.0 * ((p_this["predictedOnUsedDays"] / p_this["nDaysUsed"])
                                     / (p_ref["predictedOnUsedDays"] / p_ref["nDaysUsed"]) - 1.0),
        "baseline": base.to_dict(),
        "method": (f"weather-normalised change = (A_this/P_this)/(A_ref/P_ref) − 1 on days with reading and "
                   f"temperature; P from a {method} baseline ({_library()}) fitted on the 365 days ending "
                   f"{ref1.date().isoformat()} (exclusive); weatherEffectPct compares predicted use per day"),
    }


# ---------------------------------------------------------------------------------------------------- inside


def _method(name: str) -> _Method:
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ValidationError("method", "one-of", f"method must be one of {sorted(METHODS)} / 不支持的基准模型",
                              value=name) from None


def _aware(instant: Any, name: str) -> None:
    if not isinstance(instant, datetime) or instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationError(name, "timezone-required",
                              f"{name} must be a timezone-aware datetime / {name} 须为带时区的时间", value=instant)


def _check_carrier(twin: Twin, scope: Entity, carrier: str) -> None:
    if not any(m.value("carrier") == carrier for m in meters_in_scope(twin, scope)):
        raise ValidationError("carrier", "not-in-scope",
                              f"no {carrier} meter in {scope.id} / 该范围内没有 {carrier} 表计", value=carrier)


def _station(twin: Twin, scope: Entity, given: str | None) -> str:
    """The weather station: ``given``, else the one below ``scope``, else the one of the scope's district."""
    if given is not None:
        ent = twin.get(given)
        if ent.type != "WeatherStation":
            raise ValidationError("weather_station", "type", f"{given} is a {ent.type}, not a WeatherStation / "
                                  "须为气象站实体", value=given)
        return ent.id
    own = twin.query_all(types=("WeatherStation",), under=scope.id)
    if len(own) == 1:
        return own[0].id
    top, seen = scope, {scope.id}
    while (parent := top.target("containedIn")) and parent not in seen:
        seen.add(parent)
        top = twin.get(parent)
    found = own or twin.query_all(types=("WeatherStation",), under=top.id)
    if len(found) == 1:
        return found[0].id
    if not found:
        raise ValidationError("weather_station", "required",
                              f"no WeatherStation in {scope.id} or its district {top.id}: give weather_station / "
                              "该范围及所在区域没有气象站，请指定 weather_station", value=None)
    raise ValidationError("weather_station", "ambiguous",
                          f"{len(found)} weather stations ({', '.join(e.id for e in found[:5])}): give "
                          "weather_station / 有多个气象站，请指定 weather_station", value=None)


def _load(twin: Twin, scope: Entity, start: datetime, end: datetime, carrier: str, station: str,
          config: EnergyConfig | dict[str, Any] | None) -> tuple[pd.Series, pd.Series]:
    """Daily use [canonical unit] indexed by Shanghai day start, and hourly mean temperature [°C]."""
    if isinstance(config, dict):
        config = EnergyConfig.model_validate(config)
    grid = consumption_grid(twin, scope, start, end, "day", config=config)
    index = pd.DatetimeIndex(grid.starts())
    observed = pd.Series(grid.total(carrier), index=index, name="observed")
    table = twin.aggregate("temperature", bucket="hour", agg="mean", entity_id=station, start=grid.start,
                           end=grid.end)
    ts = pd.DatetimeIndex(pd.to_datetime(table["bucket"].to_pylist(), utc=True)).tz_convert(SHANGHAI) \
        if table.num_rows else pd.DatetimeIndex([], tz=SHANGHAI)
    temps = pd.Series(np.asarray(table["value"].to_pylist(), dtype=float), index=ts, name="temperature").dropna()
    return observed, temps.sort_index()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """opendsm logs every data-sufficiency finding on the ``eemeter`` logger (we return them as data instead) and
    pandas/numpy warn on its internals; silence exactly those while it runs."""
    log = logging.getLogger("eemeter")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            warnings.filterwarnings("ignore", category=UserWarning, module=r"opendsm\..*")
            yield
    finally:
        log.setLevel(level)


def _f(celsius: pd.Series) -> pd.Series:
    return celsius * 1.8 + 32.0


def _fit(scope: str, carrier: str, unit: str, station: str, start: datetime, end: datetime, observed: pd.Series,
         temps: pd.Series, method: str, spec: _Method) -> Baseline:
    from opendsm import eemeter
    from opendsm.eemeter.common.exceptions import DataSufficiencyError

    n_days = len(observed)
    tday = temps.groupby(temps.index.floor("D")).mean().reindex(observed.index)
    usable = observed.notna() & tday.notna()
    if carrier == "electricity":
        usable &= observed != 0  # CalTRACK/opendsm treat a zero electricity day as missing
    n_used = int(usable.sum())
    if n_used < MIN_FIT_DAYS:
        raise ValidationError("baseline", "insufficient-data",
                              f"{n_used} of {n_days} baseline days have both a reading and a temperature; at least "
                              f"{MIN_FIT_DAYS} are needed to fit a model / 基准期仅 {n_used} 天同时有读数与气温，"
                              f"至少需要 {MIN_FIT_DAYS} 天", value=n_used)
    issues: list[dict[str, Any]] = []
    if n_days < CALTRACK_BASELINE_DAYS or n_days > CALTRACK_BASELINE_DAYS + 1:
        issues.append({"code": "baseline-length", "source": "CalTRACK 2.0 §2.2",
                       "message": f"baseline is {n_days} days, CalTRACK wants 365 / 基准期 {n_days} 天，应为 365 天"})
    if n_days - n_used > CALTRACK_MAX_MISSING_DAYS:
        issues.append({"code": "missing-days", "source": "CalTRACK 2.0 §2.2",
                       "message": f"{n_days - n_used} days missing, at most {CALTRACK_MAX_MISSING_DAYS} allowed / "
                                  f"缺失 {n_days - n_used} 天，最多允许 {CALTRACK_MAX_MISSING_DAYS} 天"})
    if method != "caltrack-2.0-daily":
        issues.append({"code": "method", "source": "CalTRACK 2.0",
                       "message": f"{method} is not the CalTRACK 2.0 model form / 所选模型不属于 CalTRACK 2.0"})
    t0 = time.perf_counter()
    try:
        with _quiet():
            data = eemeter.DailyBaselineData.from_series(observed.to_frame("observed"), _f(temps).to_frame("t"),
                                                         is_electricity_data=carrier == "electricity")
            model = eemeter.DailyModel(model=spec.opendsm_model).fit(data, ignore_disqualification=True)
            fitted = model.predict(data, ignore_disqualification=True)
    except (DataSufficiencyError, ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError) as err:
        # opendsm's own errors become ours (one exception tree); the cause stays attached.
        raise ValidationError("baseline", "fit-failed", f"opendsm could not fit the baseline: {err} / 基准模型拟合失败",
                              value=n_used) from err
    seconds = time.perf_counter() - t0
    seen = {i["code"] for i in issues}
    for w in model.disqualification:
        name = w.qualified_name.rsplit(".", 1)[-1]
        if name == "incorrect_number_of_total_days" and "baseline-length" in seen:
            continue  # the same finding as ours, in opendsm's words
        issues.append({"code": f"opendsm:{name}", "source": _library(), "message": w.description,
                       "data": jsonable(w.data)})
    submodels = {key: _coefficients(sub.coefficients) for key, sub in model.params.submodels.items()}
    first = next(iter(model.params.submodels.values())).coefficients
    kinds = {_KINDS.get(s.coefficients.model_type.value, s.coefficients.model_type.value)
             for s in model.params.submodels.values()}
    positive = all((c.get("hdd_slope") or 0.0) >= 0 and (c.get("cdd_slope") or 0.0) >= 0
                   and (c.get("intercept") or 0.0) >= 0 for c in submodels.values())
    bm = model.baseline_metrics
    fitted = fitted.rename(columns={"temperature": "temperature_f"})
    fitted["temperature_c"] = (fitted["temperature_f"] - 32.0) / 1.8
    return Baseline(
        scope=scope, carrier=carrier, unit=unit, period=(start, end), method=method, library=_library(),
        weather_station=station, model_kind=kinds.pop() if len(kinds) == 1 else "split:" + "+".join(sorted(kinds)),
        coefficients=_coefficients(first) if len(submodels) == 1 else {},
        submodels=submodels if len(submodels) > 1 else {}, coefficients_positive=positive,
        n_days=n_days, n_days_used=n_used, n_days_missing=n_days - n_used,
        caltrack_compliant=not issues, sufficiency_issues=issues,
        cvrmse_pct=100.0 * float(bm.cvrmse_adj), nmbe_pct=100.0 * float(bm.nmbe), r2_adj=float(bm.r_squared_adj),
        n_params=int(bm.num_model_params), g14=_g14_monthly(fitted), fit_seconds=seconds,
        fitted=fitted[["observed", "predicted", "temperature_c"]], _model=model)


def _coefficients(c: Any) -> dict[str, float | None]:
    """opendsm's coefficients (°F) → ours: balance points [°C], slopes per °C·day (a °C is 1.8 °F)."""
    def maybe(v: float | None, fn: Callable[[float], float]) -> float | None:
        return None if v is None else float(fn(v))

    return {"intercept": float(c.intercept),
            "hdd_balance_c": maybe(c.hdd_bp, lambda f: (f - 32.0) / 1.8),
            "hdd_slope": maybe(c.hdd_beta, lambda b: b * 1.8),
            "cdd_balance_c": maybe(c.cdd_bp, lambda f: (f - 32.0) / 1.8),
            "cdd_slope": maybe(c.cdd_beta, lambda b: b * 1.8)}


def _predict(model: Any, observed: pd.Series, temps: pd.Series, carrier: str) -> pd.DataFrame:
    """opendsm's prediction for each day of ``observed``'s index: columns observed, predicted, temperature_c."""
    from opendsm import eemeter

    frame = pd.DataFrame({"observed": observed.astype(float), "predicted": np.nan, "temperature_c": np.nan},
                         index=observed.index)
    if temps.empty or observed.empty:
        return frame
    with _quiet():
        data = eemeter.DailyReportingData.from_series(observed.to_frame("observed"), _f(temps).to_frame("t"),
                                                      is_electricity_data=carrier == "electricity")
        out = model.predict(data, ignore_disqualification=True)
    # opendsm trims the outer days without data; put its answer back on our calendar.
    frame["predicted"] = out["predicted"].reindex(frame.index)
    frame["temperature_c"] = (out["temperature"].reindex(frame.index) - 32.0) / 1.8
    return frame


def _g14_monthly(fitted: pd.DataFrame) -> dict[str, Any]:
    both = fitted.dropna(subset=["observed", "predicted"])
    if both.empty:
        return {"verdict": "not-assessed", "months": 0}
    key = both.index.tz_convert(SHANGHAI).strftime("%Y-%m")
    grouped = both.groupby(key)[["observed", "predicted"]].agg(["sum", "count"])
    rows = []
    for m, r in grouped.iterrows():
        start = datetime.strptime(str(m), "%Y-%m").replace(tzinfo=SHANGHAI)
        days = (month_range(str(m))[1] - start).days
        if r[("observed", "count")] >= MIN_MONTH_COVERAGE * days:
            rows.append((r[("observed", "sum")], r[("predicted", "sum")]))
    limits = G14_LIMITS["monthly"]
    out: dict[str, Any] = {"limits": dict(limits), "months": len(rows),
                           "basis": "monthly sums over days with reading and temperature, months ≥ 80 % covered, "
                                    "ASHRAE G14 formulas with p = 1"}
    if len(rows) < 3:
        return {**out, "verdict": "not-assessed", "cvrmsePct": None, "nmbePct": None}
    y = np.array([r[0] for r in rows])
    yhat = np.array([r[1] for r in rows])
    n, mean = len(y), float(y.mean())
    cv = 100.0 * math.sqrt(float(((y - yhat) ** 2).sum()) / (n - 1)) / mean
    nmbe = 100.0 * float((y - yhat).sum()) / ((n - 1) * mean)
    ok = cv <= limits["cvrmse_pct"] and abs(nmbe) <= limits["nmbe_pct"]
    return {**out, "verdict": "pass" if ok else "fail", "cvrmsePct": cv, "nmbePct": nmbe}


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


__all__ = ["CALTRACK_BASELINE_DAYS", "CALTRACK_MAX_MISSING_DAYS", "COMPARISONS", "FIXED_BALANCE_POINTS_C",
           "G14_LIMITS", "METHODS", "MIN_FIT_DAYS", "Baseline", "Savings", "fit_baseline", "savings",
           "weather_normalised"]
