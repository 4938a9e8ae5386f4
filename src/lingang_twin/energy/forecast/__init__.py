"""Consumption forecasts (能耗预测): day-ahead hourly and week-ahead daily, with prediction intervals.

:mod:`.models` holds the numerics (candidates, ensemble, conformal intervals, gap filling, backtest: arrays only) and
their evidence; :mod:`.scopes` reads a meter's or an aggregate's history from the twin and answers
:class:`~.scopes.Forecast` objects.
"""

from __future__ import annotations

from lingang_twin.energy.forecast.models import (
    CANDIDATES,
    CHEAP_CANDIDATES,
    DEFAULT_MODEL,
    ENSEMBLE,
    HORIZONS,
    MAX_FILLED_FRACTION,
    MODELS,
    Horizon,
    HorizonSpec,
    Prediction,
    backtest,
    default_jobs,
    fill_gaps,
    predict,
)
from lingang_twin.energy.forecast.models import _ensemble_weights as _ensemble_weights  # for its test
from lingang_twin.energy.forecast.scopes import Forecast, forecast, forecast_meters, forecast_scope

__all__ = ["CANDIDATES", "CHEAP_CANDIDATES", "DEFAULT_MODEL", "ENSEMBLE", "HORIZONS", "MAX_FILLED_FRACTION", "MODELS",
           "Forecast", "Horizon", "HorizonSpec", "Prediction", "backtest", "default_jobs",
           "fill_gaps", "forecast", "forecast_meters", "forecast_scope", "predict"]
