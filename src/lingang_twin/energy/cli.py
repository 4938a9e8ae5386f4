"""The energy pack's command group, mounted by the CLI face as ``lingang-twin energy …``: ``report`` (the
monthly account as JSON, HTML, XLSX or PDF) and ``forecast``. Both read the deployment's energy settings as the
API and the console do (validated once, handed over by the face through :class:`~lingang_twin.core.packs.
CliContext`), else those stored in the twin; ``report --config`` overrides them for one run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from lingang_twin.core.errors import TwinError
from lingang_twin.core.packs import CliContext

out = Console()
DbOption = Annotated[Path, typer.Option("--db", help="DuckDB file of the twin", envvar="LINGANG_DB")]


def commands(ctx: CliContext) -> typer.Typer:
    """The ``energy`` command group."""
    group = typer.Typer(
        help="Energy accounting · 能耗核算: consumption, standard coal, CO2 and cost of any entity.\n\n"
             "Example: lingang-twin energy report --scope urn:ngsi-ld:District:lingang-iicz --month 2026-03",
        no_args_is_help=True,
    )

    @group.command("report")
    def energy_report(
        scope: Annotated[str, typer.Option(help="entity id: meter, building, zone or district / 核算对象")],
        month: Annotated[str, typer.Option(help="YYYY-MM in Asia/Shanghai / 月份")],
        db: DbOption = Path("lingang-twin.duckdb"),
        format_: Annotated[str, typer.Option("--format", help="json | html | xlsx | pdf")] = "json",
        out_path: Annotated[Path | None, typer.Option("--out", help="file for html/xlsx/pdf (default: "
                                                      "energy-<scope>-<month>.<format>)")] = None,
        lang: Annotated[str, typer.Option(help="zh | en")] = "en",
        factors: Annotated[str, typer.Option(help="CO2 factor set / 排放因子集")] = "shanghai-local-2022",
        tariff: Annotated[str, typer.Option(help="tariff name / 价目")] = "shanghai-illustrative",
        electricity_basis: Annotated[str, typer.Option(help="equivalent | equal-value")] = "equivalent",
        config: Annotated[Path | None, typer.Option(help="JSON file of EnergyConfig overrides (default: the settings "
                                                    "stored in the twin, if any) / 系数配置")] = None,
    ) -> None:
        """Monthly energy account of an entity: per carrier consumption, kgce, kgCO2 and cost, with grand totals.

        Examples: lingang-twin energy report --db twin.duckdb --scope urn:ngsi-ld:Building:x --month 2026-03;
        lingang-twin energy report --scope urn:ngsi-ld:District:lingang-iicz --month 2026-03 --format pdf --lang zh
        """
        import json

        from lingang_twin.energy.accounting import account, month_range
        from lingang_twin.energy.settings import config_in_force

        if format_ not in ("json", "html", "xlsx", "pdf"):
            ctx.fail(f"--format {format_!r}: unknown format; valid: json, html, xlsx, pdf / 未知格式")
        if format_ == "json" and out_path is not None:
            ctx.fail("--out: only for --format html, xlsx or pdf; json goes to stdout / json 输出到标准输出")
        if format_ != "json":
            target = out_path or Path(f"energy-{_slug(scope)}-{month}.{format_}")
            _check_writable(ctx, target)
        if lang not in ("zh", "en"):
            ctx.fail(f"--lang {lang!r}: valid: zh, en / 语言须为 zh 或 en")
        overrides: Any = None  # --config for this run, else the deployment's (validated at start-up)
        if config is not None:
            try:
                overrides = json.loads(config.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                ctx.fail(f"--config {config}: cannot read JSON ({err}) / 配置文件无法读取")
        else:
            overrides = ctx.config()
        if not db.exists():
            ctx.fail(f"{db}: no such twin file / 数据库文件不存在")
        if format_ != "json":
            _energy_report_file(ctx, db, scope, month, format_, target, lang=lang, factors=factors, tariff=tariff,
                                electricity_basis=electricity_basis, config=overrides)
            return
        try:
            start, end = month_range(month, "--month")
            twin = ctx.open_twin(db)
            try:
                result = account(twin, scope, start, end, factors=factors, tariff=tariff,
                                 electricity_basis=electricity_basis, config=config_in_force(twin, overrides))
            finally:
                twin.close()
        except TwinError as err:
            ctx.fail(str(err))
        sys.stdout.write(json.dumps(result.to_dict(lang), ensure_ascii=False, indent=2) + "\n")

    @group.command("forecast")
    def energy_forecast(
        scope: Annotated[str, typer.Option(help="meter, building, zone or district id / 预测对象")],
        db: DbOption = Path("lingang-twin.duckdb"),
        horizon: Annotated[str, typer.Option(help="day-ahead (24 hourly values) | week-ahead (7 daily)")]
        = "day-ahead",
        at: Annotated[str | None, typer.Option(help="ISO 8601 with offset (default: now) / 发布时刻")] = None,
        carrier: Annotated[str | None, typer.Option(help="one carrier of an aggregate (default: each) / 能源品种")]
        = None,
        history_days: Annotated[int | None, typer.Option(help="days of history to fit on / 历史天数")] = None,
    ) -> None:
        """Forecast the next Shanghai day (hourly) or week (daily) from the readings before --at, with 80 % and 95 %
        prediction intervals; JSON on stdout.

        Example: lingang-twin energy forecast --db twin.duckdb --scope urn:ngsi-ld:District:lingang-iicz --horizon
        week-ahead --carrier electricity
        """
        import json
        from datetime import datetime

        from lingang_twin.core.observations import parse_instant
        from lingang_twin.energy.consumption import SHANGHAI
        from lingang_twin.energy.forecast import forecast, forecast_scope
        from lingang_twin.energy.settings import config_in_force

        if not db.exists():
            ctx.fail(f"{db}: no such twin file / 数据库文件不存在")
        try:
            issued = parse_instant(at, "--at") or datetime.now(SHANGHAI)
            twin = ctx.open_twin(db)
            try:
                # The deployment's settings (the consumption of carriers measured in other units converts by them),
                # as for the report; before issue 11 the forecast got none.
                settings = config_in_force(twin, ctx.config())
                if twin.get(scope).type == "Meter" or carrier is not None:
                    found = [forecast(twin, scope, horizon=horizon, issued_at=issued,  # type: ignore[arg-type]
                                      carrier=carrier, history_days=history_days, config=settings)]
                else:
                    found = forecast_scope(twin, scope, horizon=horizon, issued_at=issued,  # type: ignore[arg-type]
                                           history_days=history_days, config=settings)
            finally:
                twin.close()
        except TwinError as err:
            ctx.fail(str(err))
        payload = {"scope": scope, "horizon": horizon, "issuedAt": issued.isoformat(),
                   "forecasts": [f.to_dict() for f in found]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")

    return group


def _slug(text: str) -> str:
    """The last part of an entity id, safe as a file name."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.rsplit(":", 1)[-1]).strip("-.") or "scope"


def _check_writable(ctx: CliContext, target: Path) -> None:
    import os

    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        ctx.fail(f"--out {target}: is a directory / 输出路径是目录")
    if not parent.is_dir():
        ctx.fail(f"--out {target}: no such directory {parent} / 输出目录不存在")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        ctx.fail(f"--out {target}: not writable / 输出路径不可写")


def _energy_report_file(ctx: CliContext, db: Path, scope: str, month: str, format_: str, target: Path,
                        **options: Any) -> None:
    """Write the monthly report as html / xlsx / pdf: rendered to a temporary file beside ``target`` and moved
    into place, so a failure leaves nothing behind."""
    import os
    import tempfile

    from lingang_twin.energy.accounting import month_range
    from lingang_twin.energy.reports import monthly_report, render
    from lingang_twin.energy.settings import config_in_force

    try:
        month_range(month, "--month")
        twin = ctx.open_twin(db)
        try:
            # --config, else the settings stored in the twin (the demo twin carries its illustrative ones)
            options["config"] = config_in_force(twin, options.get("config"))
            report = monthly_report(twin, scope, month, **options)
        finally:
            twin.close()
    except TwinError as err:
        ctx.fail(str(err))
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        render(report, format_, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the report gets an ordinary file's mode
        os.replace(tmp, target)
    except OSError as err:
        ctx.fail(f"--out {target}: cannot write ({err.strerror or err}) / 无法写入")
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    out.print(f"wrote {target} ({format_}, {target.stat().st_size:,} bytes)", soft_wrap=True, highlight=False)


