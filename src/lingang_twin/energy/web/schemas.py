"""Response schemas of the energy routes (:mod:`.routes`), so that the OpenAPI document says what each answer holds.

Every model is open (``extra="allow"``): it names and types what a client can rely on, and an answer may carry
more (the ``basis`` of an account, a model's diagnostics) without the schema restating every nested figure. Numbers
that can be missing are ``None`` (JSON has no NaN). The field names are the answers' own (``snake_case`` for the
accounts, ``camelCase`` for the M&V and forecast answers, as they always were).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lingang_twin.core.findings import FindingOut


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Totals(_Open):
    """Grand totals of an account: standard coal [kgce], CO₂ [kg], cost [CNY]."""

    kgce: float
    kgco2: float
    cost_cny: float


class CarrierAccountOut(_Open):
    """One carrier of an account, in the carrier's canonical ``unit``."""

    carrier: str
    label: str
    consumption: float
    unit: str
    kgce: float
    kgco2: float
    cost_cny: float
    meters: list[str]
    readings: int
    register_resets: int


class AccountOut(_Open):
    """An entity's energy account over ``[start, end)`` (ISO 8601 with offset)."""

    scope: str
    start: str
    end: str
    carriers: dict[str, CarrierAccountOut]
    totals: Totals
    basis: dict[str, Any]
    issues: list[dict[str, Any]]
    coverage: dict[str, Any] | None = None


class QualityOut(_Open):
    scope: str
    count: int
    findings: list[FindingOut]


class AlertsOut(_Open):
    scope: str
    count: int
    alerts: list[str]


class TenantsOut(_Open):
    month: str
    under: str | None
    count: int
    tenants: list[AccountOut]


class UnmeteredLossOut(_Open):
    """A main meter minus its sub-meters: per bucket and in total, with the flagged runs as findings."""

    meter: str
    submeters: list[str]
    carrier: str | None
    unit: str | None
    threshold: float | None
    main_total: float | None
    submetered_total: float | None
    loss: float | None
    share: float | None
    flagged: bool | None
    buckets: list[dict[str, Any]]
    findings: list[FindingOut]
    alerts: list[str] | None = None


class BaselineOut(_Open):
    """A fitted weather baseline and its goodness of fit."""

    scope: str
    carrier: str
    unit: str
    period: list[str]
    method: str
    modelKind: str | None = None
    coefficients: dict[str, Any]
    nDays: int
    nDaysUsed: int
    caltrackCompliant: bool | None = None
    cvrmsePct: float | None = None
    nmbePct: float | None = None
    r2Adj: float | None = None
    g14: dict[str, Any]


class SavingsOut(_Open):
    """Avoided energy use over a reporting period with its uncertainty band."""

    scope: str
    carrier: str
    unit: str
    baseline: BaselineOut
    reportingPeriod: list[str]
    observedTotal: float | None
    predictedTotal: float | None
    savingsTotal: float | None
    savingsPct: float | None
    confidence: float
    uncertainty: float | None
    band: list[float | None]
    daily: list[dict[str, Any]] | None = None


class WeatherNormalisedOut(_Open):
    """This month against a reference month, with the weather taken out."""

    scope: str
    carrier: str
    unit: str
    month: str
    against: str
    this: dict[str, Any]
    reference: dict[str, Any]
    rawChangePct: float | None
    normalisedChangePct: float | None
    weatherEffectPct: float | None
    baseline: BaselineOut
    method: str


class GapfillOut(_Open):
    """A meter's consumption with its gaps filled as marked estimates (``rows``: one per bucket)."""

    meter_id: str
    bucket: str
    unit: str
    start: str
    end: str
    buckets: int
    estimated: int
    share_estimated: float | None
    by_method: dict[str, int]
    rows: list[dict[str, Any]]


class ForecastOut(_Open):
    """One forecast: ``mean`` per bucket from ``starts``, and the bounds of the prediction intervals per level."""

    scope: str
    carrier: str
    unit: str
    horizon: str
    bucket: str
    issuedAt: str
    model: str
    starts: list[str]
    mean: list[float | None]
    lower: dict[str, list[float | None]]
    upper: dict[str, list[float | None]]
    history: dict[str, Any]
    meters: list[str]


class ForecastsOut(_Open):
    scope: str
    horizon: str
    issuedAt: str
    forecasts: list[ForecastOut]


class IntensityOut(_Open):
    """Annualised energy intensity of every building (``buildings``: rows of :func:`..efficiency.intensity`)."""

    under: str | None
    annualise: float
    buildings: list[dict[str, Any]]


class ReportOut(_Open):
    """The monthly report as JSON (the HTML, XLSX and PDF downloads carry the same content)."""

    scope: str
    scope_name: str | None = None
    month: str
    lang: str
    account: AccountOut
    comparison: dict[str, Any]
    days: list[str]
    daily: dict[str, Any]
    ranking: list[dict[str, Any]]
    anomaly_counts: dict[str, int]
    anomalies: list[dict[str, Any]]
    basis: Any
    coverage: dict[str, Any] | None = None
    issues: list[dict[str, Any]]


__all__ = ["AccountOut", "AlertsOut", "BaselineOut", "CarrierAccountOut", "FindingOut", "ForecastOut", "ForecastsOut",
           "GapfillOut", "IntensityOut", "QualityOut", "ReportOut", "SavingsOut", "TenantsOut", "Totals",
           "UnmeteredLossOut", "WeatherNormalisedOut"]
