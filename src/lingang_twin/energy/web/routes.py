"""The energy pack's REST routes, handed to the API face through ``PACK.api``.

The pack imports no face: the factory builds a plain FastAPI router whose routes get the twin and the settings in
force through one typed dependency (:mod:`.deps`) and raise the core's exception tree, which the face turns into
problem+json. A deployment's overrides of the figures (:class:`~..factors.EnergyConfig`, validated once at
start-up by the pack contract) are handed to :func:`router`, which gives them to every request of its own routes.
Every JSON answer has a response schema (:mod:`.schemas`), so the OpenAPI document shows it.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Request, Response

from lingang_twin.core.calendar import SHANGHAI, month_range
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.guard import requires
from lingang_twin.core.jsonable import jsonable
from lingang_twin.core.observations import parse_instant
from lingang_twin.energy.accounting import account
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.web.deps import Energy
from lingang_twin.energy.web.schemas import (
    AccountOut,
    AlertsOut,
    BaselineOut,
    ForecastsOut,
    GapfillOut,
    IntensityOut,
    QualityOut,
    ReportOut,
    SavingsOut,
    TenantsOut,
    UnmeteredLossOut,
    WeatherNormalisedOut,
)

MEDIA_TYPES = {"html": "text/html; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "pdf": "application/pdf"}


def _instant(text: str, field: str) -> datetime:
    value = parse_instant(text, field)
    if value is None:  # pragma: no cover - Query(...) makes it required
        raise ValidationError(field, "required", f"{field} is required / 必填")
    return value


def _filename(scope: str, month: str, fmt: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in scope.rsplit(":", 1)[-1])
    return f"energy-report-{safe}-{month}.{fmt}"


def _optional_instant(text: str | None, field: str) -> datetime | None:
    return None if text is None else _instant(text, field)


def figures(
    ctx: Energy,
    factors: str = Query("shanghai-local-2022", description="CO2 factor set / 排放因子集"),
    tariff: str = Query("shanghai-illustrative", description="tariff name / 价目"),
    electricity_basis: str = Query("equivalent", description="equivalent | equal-value / 电力折标方式"),
) -> dict[str, Any]:
    """The figure choices every priced answer takes (one definition of the three query parameters), with the
    deployment's config: keyword arguments for ``account``, ``monthly_report`` and ``tenant_accounts``."""
    return {"factors": factors, "tariff": tariff, "electricity_basis": electricity_basis, "config": ctx.config}


Figures = Annotated[dict[str, Any], Depends(figures)]


def router(config: EnergyConfig | None = None) -> APIRouter:
    """The router (below ``/api/v1/energy``): ``account``, ``report``, ``tenants``, ``quality``, ``quality/alerts``
    (POST), ``unmetered-loss``, ``unmetered-loss/alerts`` (POST), ``baseline``, ``savings``,
    ``weather-normalised``, ``gapfill``, ``forecast``, ``intensity``; ``config`` is the deployment's validated
    settings (``None``: those stored in the twin)."""

    def bind(request: Request) -> None:
        # A router-level dependency runs before each route's own, so ``deps.energy_context`` finds them on the request.
        request.state.energy_config = config

    r = APIRouter(prefix="/api/v1/energy", tags=["energy"], dependencies=[Depends(bind)])

    @r.get("/account", summary="Energy account of an entity for a month / 月度能耗核算",
           dependencies=[requires("energy:read")],
           response_model=AccountOut)
    def get_account(
        ctx: Energy,
        figs: Figures,
        scope: str = Query(description="entity id: meter, building, zone or district / 核算对象"),
        month: str = Query(description="YYYY-MM, Asia/Shanghai / 月份"),
        lang: str = Query("en", description="zh | en"),
    ) -> dict[str, Any]:
        """Per-carrier consumption [canonical unit], standard coal [kgce], CO₂ [kg] and cost [CNY] of the main
        meters at or below ``scope`` in ``month``, with grand totals and the basis (figures with source and
        year). Bad input answers 422 problem+json naming the field and the rule; an unknown scope 404."""
        start, end = month_range(month)
        result = account(ctx.twin, scope, start, end, **figs)
        return result.to_dict(lang)

    @r.get("/report", summary="Monthly energy report / 月度能耗报告",
           dependencies=[requires("energy:read")],
           response_model=None,
           responses={200: {"model": ReportOut, "description": "the report as JSON, or the HTML, XLSX or PDF file",
                            "content": {media: {} for media in MEDIA_TYPES.values()}}})
    def get_report(
        ctx: Energy,
        figs: Figures,
        scope: str = Query(description="entity id / 报告对象"),
        month: str = Query(description="YYYY-MM, Asia/Shanghai / 月份"),
        format: str = Query("json", description="json | html | xlsx | pdf / 格式"),
        lang: str = Query("zh", description="zh | en"),
    ) -> Response | dict[str, Any]:
        """The monthly report as JSON, or as a download (HTML, XLSX, PDF) with its content type and filename."""
        from lingang_twin.energy.reports import monthly_report, render

        if format not in ("json", *MEDIA_TYPES):
            raise ValidationError("format", "format-unknown",
                                  f"unknown format {format!r}; valid: json, html, xlsx, pdf / 格式未知",
                                  value=format)
        report = monthly_report(ctx.twin, scope, month, lang=lang, **figs)
        if format == "json":
            return jsonable(report.to_dict())
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"report.{format}"
            render(report, format, path)
            content = path.read_bytes()
        name = _filename(scope, month, format)
        return Response(content, media_type=MEDIA_TYPES[format],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @r.get("/quality", summary="Data-quality findings of meters / 计量数据质量",
           dependencies=[requires("energy:read")],
           response_model=QualityOut)
    def get_quality(
        ctx: Energy,
        scope: str = Query(description="entity id / 检查对象"),
        start: str = Query(description="ISO 8601 instant with offset / 开始时刻（须带时区）"),
        end: str = Query(description="ISO 8601 instant with offset / 结束时刻（须带时区）"),
    ) -> dict[str, Any]:
        """Findings (gaps, stuck, negative, spikes, leaks, creep, hydrogen) of the meters at or below ``scope``."""
        from lingang_twin.energy.quality import check_meters

        findings = check_meters(ctx.twin, scope, _instant(start, "start"), _instant(end, "end"))
        return {"scope": scope, "count": len(findings), "findings": [jsonable(f.to_dict()) for f in findings]}

    @r.post("/quality/alerts", summary="Raise the findings as Alert entities / 生成告警",
           dependencies=[requires("energy:write")],
           response_model=AlertsOut)
    def post_quality_alerts(
        ctx: Energy,
        scope: str = Query(description="entity id / 检查对象"),
        start: str = Query(description="ISO 8601 instant with offset / 开始时刻（须带时区）"),
        end: str = Query(description="ISO 8601 instant with offset / 结束时刻（须带时区）"),
    ) -> dict[str, Any]:
        """Check the meters and store one open Alert per finding (existing ones are not written again)."""
        from lingang_twin.core.findings import raise_alerts
        from lingang_twin.energy.quality import check_meters

        twin = ctx.twin
        findings = check_meters(twin, scope, _instant(start, "start"), _instant(end, "end"))
        ids = raise_alerts(twin, findings)
        return {"scope": scope, "count": len(ids), "alerts": ids}

    @r.get("/tenants", summary="Tenants' energy for a month / 租户月度能耗",
           dependencies=[requires("energy:read")],
           response_model=TenantsOut)
    def get_tenants(
        ctx: Energy,
        figs: Figures,
        month: str = Query(description="YYYY-MM, Asia/Shanghai / 月份"),
        under: str | None = Query(None, description="only enterprises below this entity / 范围"),
        lang: str = Query("en", description="zh | en"),
    ) -> dict[str, Any]:
        """Every tenant's account for ``month`` (own sub-meters, else its floor-area share; the method per carrier
        and building is in each account's ``basis.tenant``), largest standard coal first."""
        from lingang_twin.energy.tenants import tenant_accounts

        start, end = month_range(month)
        accounts = tenant_accounts(ctx.twin, start, end, under=under, **figs)
        return {"month": month, "under": under, "count": len(accounts),
                "tenants": [a.to_dict(lang) for a in accounts]}

    def loss_answer(ctx: Energy, meter: str, start: str, end: str, bucket: str, threshold: float | None,
                    alerts: bool) -> dict[str, Any]:
        from lingang_twin.core.findings import raise_alerts
        from lingang_twin.energy.virtual import unmetered_loss

        twin = ctx.twin
        report = unmetered_loss(twin, meter, _instant(start, "start"), _instant(end, "end"), bucket,
                                threshold=threshold, config=ctx.config)
        findings = report.findings()
        out = {"meter": meter, "submeters": report.submeters, "carrier": report.carrier, "unit": report.unit,
               "threshold": report.threshold, "main_total": report.main_total,
               "submetered_total": report.submetered_total, "loss": report.loss, "share": report.share,
               "flagged": report.flagged, "buckets": report.table.to_pylist(),
               "findings": [f.to_dict() for f in findings]}
        if alerts:
            out["alerts"] = raise_alerts(twin, findings)
        return jsonable(out)

    @r.get("/unmetered-loss", summary="A main meter minus its sub-meters / 未计量损耗",
           dependencies=[requires("energy:read")],
           response_model=UnmeteredLossOut)
    def get_unmetered_loss(
        ctx: Energy,
        meter: str = Query(description="main Meter id (with submeterOf children) / 总表"),
        start: str = Query(description="ISO 8601 with offset / 开始"),
        end: str = Query(description="ISO 8601 with offset / 结束"),
        bucket: str = Query("day", description="15min | hour | day | week | month"),
        threshold: float | None = Query(None, description="share of the main that is flagged (default per carrier)"),
    ) -> dict[str, Any]:
        """Per bucket: main, sub-metered, loss, share, flagged; totals; the flagged runs as findings. Reads only:
        ``POST /unmetered-loss/alerts`` raises them as alerts."""
        return loss_answer(ctx, meter, start, end, bucket, threshold, alerts=False)

    # A GET never writes (issue 12: a link, a prefetch or an <img> must not raise alerts): raising is a POST.
    @r.post("/unmetered-loss/alerts", summary="Raise the flagged losses as Alert entities / 未计量损耗告警",
            dependencies=[requires("energy:write")],
            response_model=UnmeteredLossOut)
    def post_unmetered_loss_alerts(
        ctx: Energy,
        meter: str = Query(description="main Meter id (with submeterOf children) / 总表"),
        start: str = Query(description="ISO 8601 with offset / 开始"),
        end: str = Query(description="ISO 8601 with offset / 结束"),
        bucket: str = Query("day", description="15min | hour | day | week | month"),
        threshold: float | None = Query(None, description="share of the main that is flagged (default per carrier)"),
    ) -> dict[str, Any]:
        """The loss as ``GET /unmetered-loss`` answers it, and each flagged run an open Alert entity (idempotent,
        like the quality alerts): their ids in ``alerts``."""
        return loss_answer(ctx, meter, start, end, bucket, threshold, alerts=True)

    @r.get("/baseline", summary="Weather baseline of an entity (CalTRACK daily) / 能耗基准模型",
           dependencies=[requires("energy:read")],
           response_model=BaselineOut)
    def get_baseline(
        ctx: Energy,
        scope: str = Query(description="entity id / 对象"),
        start: str = Query(description="baseline start, ISO 8601 with offset / 基准期开始"),
        end: str = Query(description="baseline end (exclusive) / 基准期结束"),
        carrier: str = Query("electricity", description="carrier / 能源品种"),
        method: str = Query("caltrack-2.0-daily", description="caltrack-2.0-daily | opendsm-daily"),
        weather_station: str | None = Query(None, description="WeatherStation id (default: the district's)"),
    ) -> dict[str, Any]:
        """The fitted model, its daily CV(RMSE), NMBE and adjusted R², CalTRACK sufficiency and the monthly ASHRAE
        Guideline 14 verdict."""
        from lingang_twin.energy.mv import fit_baseline

        config = ctx.config
        model = fit_baseline(ctx.twin, scope, _instant(start, "start"), _instant(end, "end"),
                             carrier=carrier, weather_station=weather_station, config=config, method=method)
        return jsonable(model.to_dict())

    @r.get("/savings", summary="Savings after a retrofit with their uncertainty / 节能量及其不确定度",
           dependencies=[requires("energy:read")],
           response_model=SavingsOut)
    def get_savings(
        ctx: Energy,
        scope: str = Query(description="entity id / 对象"),
        baseline_start: str = Query(description="ISO 8601 with offset / 基准期开始"),
        retrofit_date: str = Query(description="ISO 8601 with offset / 改造完成时刻"),
        reporting_end: str = Query(description="ISO 8601 with offset / 报告期结束"),
        reporting_start: str | None = Query(None, description="after an installation period / 报告期开始"),
        carrier: str = Query("electricity", description="carrier / 能源品种"),
        confidence: float = Query(0.9, description="two-sided confidence, 0.5-1 / 置信度"),
        method: str = Query("caltrack-2.0-daily", description="caltrack-2.0-daily | opendsm-daily"),
        days: bool = Query(False, description="include the per-day table / 含逐日数据"),
    ) -> dict[str, Any]:
        """Avoided energy use (baseline prediction minus metered use) over the reporting period, with its ASHRAE
        Guideline 14 uncertainty band."""
        from lingang_twin.energy.mv import savings

        config = ctx.config
        result = savings(ctx.twin, scope, baseline_start=_instant(baseline_start, "baseline_start"),
                         retrofit_date=_instant(retrofit_date, "retrofit_date"),
                         reporting_end=_instant(reporting_end, "reporting_end"),
                         reporting_start=_optional_instant(reporting_start, "reporting_start"), carrier=carrier,
                         confidence=confidence, config=config, method=method)
        return jsonable(result.to_dict(days=days))

    @r.get("/weather-normalised", summary="Weather-normalised month comparison / 气候修正对比",
           dependencies=[requires("energy:read")],
           response_model=WeatherNormalisedOut)
    def get_weather_normalised(
        ctx: Energy,
        scope: str = Query(description="entity id / 对象"),
        month: str = Query(description="YYYY-MM, Asia/Shanghai / 月份"),
        against: str = Query("last-year", description="last-year | last-month / 对比期"),
        carrier: str = Query("electricity", description="carrier / 能源品种"),
    ) -> dict[str, Any]:
        """This month against the same month last year (or the month before), the weather taken out by a
        degree-day baseline: raw change, weather effect and normalised change."""
        from lingang_twin.energy.mv import weather_normalised

        config = ctx.config
        return jsonable(weather_normalised(
            ctx.twin, scope, month, against=against, carrier=carrier, config=config))

    @r.get("/gapfill", summary="A meter's consumption with gaps filled as marked estimates / 缺数补齐（标注估算）",
           dependencies=[requires("energy:read")],
           response_model=GapfillOut)
    def get_gapfill(
        ctx: Energy,
        meter: str = Query(description="Meter id / 表计"),
        start: str = Query(description="ISO 8601 with offset / 开始"),
        end: str = Query(description="ISO 8601 with offset / 结束"),
        bucket: str = Query("hour", description="15min | hour | day"),
    ) -> dict[str, Any]:
        """Per bucket: value, ``estimated`` and the method (interpolated, redistributed, profile); nothing is
        written to the meter's readings."""
        from lingang_twin.energy.gapfill import fill_gaps

        config = ctx.config
        filled = fill_gaps(ctx.twin, meter, _instant(start, "start"), _instant(end, "end"),
                           bucket=bucket, config=config)
        return jsonable({**filled.to_dict(), "rows": filled.table.to_pylist()})

    @r.get("/forecast", summary="Day-ahead / week-ahead forecast with intervals / 能耗预测",
           dependencies=[requires("energy:read")],
           response_model=ForecastsOut)
    def get_forecast(
        ctx: Energy,
        scope: str = Query(description="meter, building, zone or district id / 预测对象"),
        horizon: str = Query("day-ahead", description="day-ahead (24 hourly) | week-ahead (7 daily) / 预测时长"),
        issued_at: str | None = Query(None, description="ISO 8601 with offset (default: now) / 发布时刻"),
        carrier: str | None = Query(None, description="one carrier of an aggregate (default: every carrier)"),
        history_days: int | None = Query(None, description="days of history to fit on / 历史天数"),
    ) -> dict[str, Any]:
        """Forecasts for the Shanghai day (or 7 days) after ``issued_at`` from the readings before it, with 80 %
        and 95 % prediction intervals: one for a meter, one per carrier for an aggregate."""
        from lingang_twin.energy.forecast import Horizon, forecast, forecast_scope

        # The query stays plain text: forecast checks the horizon itself (a ValidationError naming it, 422).

        twin = ctx.twin
        config = ctx.config
        at = _optional_instant(issued_at, "issued_at") or datetime.now(SHANGHAI)
        entity = twin.get(scope)
        if entity.type == "Meter" or carrier is not None:
            found = [forecast(twin, scope, horizon=cast(Horizon, horizon), issued_at=at, carrier=carrier,
                              history_days=history_days, config=config)]
        else:
            found = forecast_scope(twin, scope, horizon=cast(Horizon, horizon), issued_at=at,
                                   history_days=history_days, config=config)
        return jsonable({"scope": scope, "horizon": horizon, "issuedAt": at.isoformat(),
                          "forecasts": [f.to_dict() for f in found]})

    @r.get("/intensity", summary="Energy intensity of buildings / 建筑能耗强度",
           dependencies=[requires("energy:read")],
           response_model=IntensityOut)
    def get_intensity(
        ctx: Energy,
        start: str = Query(description="ISO 8601 instant with offset / 开始时刻（须带时区）"),
        end: str = Query(description="ISO 8601 instant with offset / 结束时刻（须带时区）"),
        under: str | None = Query(None, description="only buildings below this entity / 范围"),
        factors: str = Query("shanghai-local-2022", description="CO2 factor set / 排放因子集"),
        electricity_basis: str = Query("equivalent", description="equivalent | equal-value / 电力折标方式"),
    ) -> dict[str, Any]:
        """Annualised intensity of every building (kWh, kgce, kg CO₂ per m² and per occupant) and its rank."""
        from lingang_twin.energy.efficiency import intensity

        twin = ctx.twin
        if under is not None:
            twin.get(under)  # an unknown scope answers 404
        config = ctx.config
        table = intensity(twin, _instant(start, "start"), _instant(end, "end"), under=under, factors=factors,
                          electricity_basis=electricity_basis, config=config)
        return {"under": under, "annualise": float((table.schema.metadata or {})[b"annualise"]),
                "buildings": table.to_pylist()}

    return r


__all__ = ["router"]
