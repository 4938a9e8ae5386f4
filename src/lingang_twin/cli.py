"""The ``lingang-twin`` command: demo, serve, import, export, readings (delete), db (backup, restore), checks (list,
run: every pack's checks by name), and one command group per pack (``lingang-twin <pack> …``, from ``Pack.cli``;
the energy pack's: report, forecast).

Every command refuses bad input with one line on stderr and exit code 2, and writes nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lingang_twin.core.errors import TwinError, ValidationError
from lingang_twin.core.observations import parse_instant

app = typer.Typer(
    name="lingang-twin",
    help="Lingang Twin · 临港孪生 — the digital twin of the Lingang IICZ.\n\n"
         "Example: lingang-twin demo   (build the demo twin, start live telemetry and the server)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
demo_app = typer.Typer(
    help="The Lingang IICZ demo twin: build it, stream live telemetry and serve it.\n\n"
         "Example: lingang-twin demo --days 30 --port 8000",
    invoke_without_command=True,
)
app.add_typer(demo_app, name="demo")
db_app = typer.Typer(
    help="The twin's DuckDB file · 数据库文件: consistent backup and restore.\n\n"
         "Example: lingang-twin db backup backups/twin-2026-12-01.duckdb --server http://127.0.0.1:8000",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
readings_app = typer.Typer(
    help="Readings · 读数: delete a bad stretch of one series (to correct readings, import them with "
         "--on-conflict replace).\n\n"
         "Example: lingang-twin readings delete --entity urn:ngsi-ld:Meter:x --attribute reading "
         "--start 2026-11-01T00:00+08:00 --end 2026-11-02T00:00+08:00",
    no_args_is_help=True,
)
app.add_typer(readings_app, name="readings")
checks_app = typer.Typer(
    help="Checks · 检查: every installed pack's producers of findings (data quality, anomalies …), listed and run "
         "by name.\n\n"
         "Example: lingang-twin checks run meter_quality --db twin.duckdb --start 2026-11-01T00:00+08:00 "
         "--end 2026-11-02T00:00+08:00 --raise-alerts",
    no_args_is_help=True,
)
app.add_typer(checks_app, name="checks")
exports_app = typer.Typer(
    help="Governed data sharing · 数据对外提供审批: request, approve, reject and list approvals for exporting personal "
         "or important data to a recipient outside the district. The CLI acts as cli:<your OS user>; the approver "
         "must be someone other than the requester.\n\n"
         "Example: lingang-twin exports request --recipient 'Acme GmbH' --reason 'fleet study' "
         "--legal-basis standard-contract --type Vehicle --classification personal",
    no_args_is_help=True,
)
app.add_typer(exports_app, name="exports")
users_app = typer.Typer(
    help="Users · 用户: add, list, disable, change roles (on the twin file; while a server runs, use its API: "
         "/api/v1/users).\n\n"
         "Example: lingang-twin users add ada --role admin --db twin.duckdb   (asks for the password)",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
keys_app = typer.Typer(
    help="API keys · 密钥 for devices and integrators: create (shown once), list, revoke.\n\n"
         "Example: lingang-twin keys create --owner gateway --label 'building 7 meters' --scope readings:write "
         "--entity 'urn:ngsi-ld:Meter:b7-*' --expires-days 365",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(
    help="The audit log · 审计日志: verify its hash chain, list records.\n\nExample: lingang-twin audit verify "
         "--db twin.duckdb",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")
out = Console()
err_console = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB file of the twin", envvar="LINGANG_DB")]


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2."""
    err_console.print(f"[bold red]error[/]: {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=False)


def _open(db: Path) -> Any:
    from lingang_twin.app import open_twin
    from lingang_twin.settings import Settings

    try:
        return open_twin(db, compact_rows=Settings().compact_rows)
    except TwinError as err:
        fail(str(err))


def _settings(db: Path, host: str, port: int, **more: Any) -> Any:
    from lingang_twin.settings import Settings

    return Settings(db=db, host=host, port=port, **{k: v for k, v in more.items() if v is not None})


def _summary(report: Any) -> str:
    b = report.backfill
    return (f"{report.entities} entities ({report.entities_written} written now), {b.inserted:,} readings stored "
            f"now ({b.duplicates:,} already there)")


def _build(twin: Any, days: int, seed: int) -> Any:
    """Build (or top up) the demo twin with a progress bar; on a TwinError close the twin and fail."""
    from lingang_twin.demo import build_demo

    try:
        with _progress() as progress:
            task = progress.add_task("building the demo twin / 构建示范孪生", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return build_demo(twin, days=days, seed=seed, progress=report)
    except TwinError as err:
        twin.close()
        fail(str(err))


@demo_app.callback()
def demo(
    ctx: typer.Context,
    db: DbOption = Path("lingang-demo.duckdb"),
    days: Annotated[int, typer.Option(min=0, max=3660, help="days of history to backfill")] = 90,
    seed: Annotated[int, typer.Option(help="random seed of the layout and telemetry")] = 2022,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    speed: Annotated[float, typer.Option(min=0.0, max=3600.0, help="live telemetry speed (1 = real time, 0 = off)")]
    = 1.0,
) -> None:
    """Build the demo twin into DB (or reuse it), backfill history, start live telemetry and serve it."""
    if ctx.invoked_subcommand is not None:
        return
    from lingang_twin.app import exit_on_sigterm, serve
    from lingang_twin.demo import LiveSimulator

    exit_on_sigterm()  # a SIGTERM while the history is being built closes the file cleanly too
    started = time.perf_counter()
    url = f"http://{host}:{port}"
    # The URL first: the build below takes a while, and the user can have the tab ready.
    out.print(f"Lingang Twin demo / 临港孪生示范: console / 控制台 {url}/console (answers when ready / 就绪后可访问)",
              soft_wrap=True, highlight=False)
    twin = _open(db)
    try:
        from lingang_twin.app import check_exposure

        check_exposure(twin, _settings(db, host, port))  # before the long build, not after it
    except TwinError as err:
        twin.close()
        fail(str(err))
    try:
        report = _build(twin, days, seed)
    except SystemExit:  # SIGTERM while the history is built (exit_on_sigterm): checkpoint and close the file
        twin.close()
        raise
    accounts, password = _accounts_for_serving(twin, db, host, port, reset=True)
    sim = LiveSimulator(twin, speed=speed, seed=seed) if speed > 0 else None  # continues where the backfill ended
    if sim is not None:
        sim.start()
    out.print(f"[bold green]Lingang Twin demo ready / 示范孪生已就绪[/] in {time.perf_counter() - started:.1f} s: "
              f"{_summary(report)}", soft_wrap=True)
    # soft_wrap: a URL must stay on one line, whatever the terminal (or log file) width.
    out.print(f"  console / 控制台:    {url}/console", soft_wrap=True)
    _print_admin(password, url)
    out.print(f"  API docs / 接口文档: {url}/docs", soft_wrap=True)
    out.print(f"  entities / 实体:    {url}/api/v1/entities?type=Building&limit=5", soft_wrap=True)
    out.print(f"  live data / 实时:   {url}/api/v1/observations?type=Meter&attribute=reading&bucket=hour&"
              f"groupBy=carrier", soft_wrap=True)
    try:
        serve(twin, _settings(db, host, port), accounts)
    except TwinError as err:
        fail(str(err))
    finally:
        if sim is not None:
            sim.stop()
        twin.close()


@demo_app.command("build")
def demo_build(
    db: DbOption = Path("lingang-demo.duckdb"),
    days: Annotated[int, typer.Option(min=0, max=3660, help="days of history to backfill")] = 90,
    seed: Annotated[int, typer.Option(help="random seed")] = 2022,
) -> None:
    """Build the demo twin and DAYS of history into DB, without serving.

    Example: lingang-twin demo build --db lingang.duckdb --days 365
    """
    started = time.perf_counter()
    twin = _open(db)
    report = _build(twin, days, seed)
    twin.close()
    size = db.stat().st_size / 1e6 if db.exists() else 0.0
    out.print(f"built {db} ({size:.1f} MB) in {time.perf_counter() - started:.1f} s: {_summary(report)}")


@app.command()
def serve(
    db: DbOption = Path("lingang-twin.duckdb"),
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate (chain): serve HTTPS; needs --tls-key",
                                                  envvar="LINGANG_TLS_CERT")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert", envvar="LINGANG_TLS_KEY")]
    = None,
) -> None:
    """Serve the REST API and the console for the twin in DB, over HTTPS with --tls-cert/--tls-key (or behind a
    reverse proxy: docs/security.md). Other addresses than loopback need accounts.

    Example: lingang-twin serve --db lingang.duckdb --port 8443 --tls-cert cert.pem --tls-key key.pem
    """
    from lingang_twin.app import check_exposure, tls_files
    from lingang_twin.app import serve as run

    try:
        settings = _settings(db, host, port, tls_cert=tls_cert, tls_key=tls_key)
    except ValueError as err:  # pydantic's, from a bad LINGANG_* variable
        fail(str(err).splitlines()[0])
    twin = _open(db)
    try:  # refused before the server says it serves, and before a first administrator is made
        check_exposure(twin, settings)
        tls_files(settings)
    except TwinError as err:
        twin.close()
        fail(str(err))
    accounts, password = _accounts_for_serving(twin, db, host, port, reset=False)
    scheme = "https" if settings.tls_cert else "http"
    out.print(f"Lingang Twin serving {db} at {scheme}://{host}:{port} (docs: /docs)", soft_wrap=True)
    _print_admin(password, f"{scheme}://{host}:{port}")
    try:
        run(twin, settings, accounts)
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()


def _accounts_for_serving(twin: Any, db: Path, host: str, port: int, *, reset: bool) -> tuple[Any, str | None]:
    """The accounts of the twin about to be served and the administrator's password to print once (None: none
    made). Without users an ``admin`` with a generated password is made. Call it after
    :func:`~lingang_twin.app.check_exposure`, which refuses a non-loopback address without accounts (anyone who
    reached it first could otherwise claim the server)."""
    from lingang_twin.app import ensure_admin, open_accounts

    try:
        accounts = open_accounts(twin, _settings(db, host, port))
        return accounts, ensure_admin(accounts, reset=reset)
    except TwinError as err:
        twin.close()
        fail(str(err))


def _print_admin(password: str | None, url: str) -> None:
    if password is None:
        return
    # Printed once: only its argon2 hash is kept. soft_wrap keeps it on one line for copy and paste.
    out.print(f"  sign in / 登录:     user admin, password [bold]{password}[/] (shown once / 仅显示一次; "
              f"token: curl -d username=admin -d password=… {url}/api/v1/auth/token)", soft_wrap=True,
              highlight=False)


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    head = path.open("rb").read(4)
    if head == b"PAR1":
        return "parquet"
    if head.lstrip()[:1] == b"{":
        return "geojson"
    fail(f"{path}: not GeoJSON, CSV or Parquet (by name or content) / 不支持的文件类型")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of entities; CSV or Parquet of readings")],
    db: DbOption = Path("lingang-twin.duckdb"),
    on_conflict: Annotated[str, typer.Option(help="reject | replace | keep a reading that differs")] = "reject",
) -> None:
    """Import entities (GeoJSON) or observations (CSV/Parquet with entity_id, attribute, observed_at, value, unit).

    GeoJSON: a feature's id is the entity id, properties.type its type; a property whose value is an entity URN
    (or a list of them) becomes a relationship; phase / phaseSince set the lifecycle. All or nothing.

    Example: lingang-twin import buildings.geojson --db lingang.duckdb
    """
    from lingang_twin import interchange as twin_io

    if not path.is_file():
        fail(f"{path}: no such file / 文件不存在")
    if on_conflict not in ("reject", "replace", "keep"):
        fail(f"--on-conflict: {on_conflict!r} is not reject, replace or keep")
    kind = _kind(path)
    try:
        if kind == "geojson":
            features = twin_io.read_features(path)
            try:
                entities = twin_io.features_to_entities(features)
                twin = _open(db)
                try:
                    ids = twin.upsert(entities)
                finally:
                    twin.close()
            except ValidationError as err:  # the feature and the JSON path, never the file's content
                fail(f"{path}: {twin_io.locate_feature(err, features)}")
            out.print(f"imported {len(ids)} entities from {path} / 已导入实体")
            return
        table = twin_io.read_observation_table(path, kind)
        try:
            batches = twin_io.table_batches(table)  # every row checked before anything is written
            twin = _open(db)
            try:
                with err_console.status(f"storing {table.num_rows} readings / 写入读数 …"):
                    totals = twin_io.append_batches(twin, batches, on_conflict)  # type: ignore[arg-type]
            finally:
                twin.close()
        except ValidationError as err:  # the line and the column, never the file's content
            fail(f"{path}: {twin_io.locate(err, path, kind, table)}")
        out.print(f"imported {totals['inserted']} new readings, {totals['duplicates']} already stored, "
                  f"{totals['replaced']} replaced, {totals['kept']} kept from {path}")
    except TwinError as err:
        fail(str(err))


@app.command()
def export(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="*.geojson, *.csv or *.parquet")],
    db: DbOption = Path("lingang-twin.duckdb"),
    type_: Annotated[list[str] | None, typer.Option("--type", help="entity types (repeatable)")] = None,
    under: Annotated[str | None, typer.Option(help="entities anywhere below this one")] = None,
    entity: Annotated[str | None, typer.Option(help="one entity (observations)")] = None,
    attribute: Annotated[str, typer.Option(help="the series to export (observations)")] = "reading",
    start: Annotated[str | None, typer.Option(help="ISO 8601 with offset, inclusive")] = None,
    end: Annotated[str | None, typer.Option(help="ISO 8601 with offset, exclusive")] = None,
    recipient: Annotated[str | None, typer.Option(help="the organisation outside the district that receives the "
                                                  "file (personal or important data then need --approval)")] = None,
    approval: Annotated[str | None, typer.Option(help="the approved export request (lingang-twin exports "
                                                 "request)")] = None,
) -> None:
    """Export entities as GeoJSON, or observations as CSV / Parquet, by type, parent and time range. Every export
    is checked against the data's classification and logged; personal or important data for a --recipient outside
    the district need an approved request (lingang-twin exports request).

    Examples: lingang-twin export buildings.geojson --type Building;
    lingang-twin export meters.parquet --type Meter --start 2026-01-01T00:00+08:00
    """
    from lingang_twin import interchange as twin_io
    from lingang_twin.core.exports import ExportCall

    call = ExportCall(cli_principal(), recipient=recipient, approval=approval)

    suffix = out_path.suffix.lower()
    if suffix not in (".geojson", ".json", ".csv", ".parquet"):
        fail(f"{out_path}: the name must end in .geojson, .csv or .parquet")
    if not db.exists():
        fail(f"{db}: no such twin file / 数据库文件不存在")
    try:
        t0 = parse_instant(start, "--start")
        t1 = parse_instant(end, "--end")
        twin = _open(db)
        try:
            if suffix in (".geojson", ".json"):
                m = twin_io.export_geojson(twin, out_path, call, types=tuple(type_ or ()), under=under)
                out.print(f"exported {m.count} entities to {out_path}")
            else:
                m = twin_io.export_observations(twin, out_path, call, attribute=attribute, entity_id=entity,
                                                types=tuple(type_ or ()), under=under, start=t0, end=t1)
                out.print(f"exported {m.count} readings to {out_path}")
            if m.masked or m.removed:
                out.print(f"masked / 已脱敏: {', '.join(m.masked) or '-'}; removed / 已移除: "
                          f"{', '.join(m.removed) or '-'}", highlight=False)
        finally:
            twin.close()
    except TwinError as err:
        fail(str(err))


def cli_principal() -> Any:
    """Who the CLI acts as: the machine's operator (``cli:<OS user>``), who holds the twin file and so every
    permission; what leaves the district still needs someone else's approval."""
    import getpass

    from lingang_twin.core.access import ALL, Principal

    return Principal(subject=f"cli:{getpass.getuser()}", roles=frozenset({"admin"}), permissions=frozenset({ALL}),
                     kind="system", write_types=None)


def _governance(db: Path) -> tuple[Any, Any]:
    if not db.exists():
        fail(f"{db}: no such twin file / 数据库文件不存在")
    from lingang_twin.stores.export_requests import governance_for

    twin = _open(db)
    return twin, governance_for(twin)


def _show_request(r: Any) -> None:
    out.print(f"{r.id}  {r.status}  {r.requester} → {r.recipient}  {r.legal_basis}  "
              f"{','.join(r.types)} [{','.join(r.classifications)}]"
              + (f"  by {r.decided_by} until {r.expires_at.isoformat()}" if r.expires_at else "")
              + (f"  ({r.note})" if r.note else ""), highlight=False, soft_wrap=True)


@exports_app.command("request")
def exports_request(
    recipient: Annotated[str, typer.Option(help="the organisation outside the district that receives the data")],
    reason: Annotated[str, typer.Option(help="why the data leave / 用途")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="e.g. standard-contract, "
                                             "cac-security-assessment (see docs/security.md)")],
    type_: Annotated[list[str], typer.Option("--type", help="entity types the export covers (repeatable)")],
    classification: Annotated[list[str], typer.Option(help="personal and/or important (repeatable)")],
    db: DbOption = Path("lingang-twin.duckdb"),
) -> None:
    """File a request to export personal or important data to a recipient outside the district.

    Example: lingang-twin exports request --recipient 'Acme GmbH' --reason 'fleet study' --legal-basis
    standard-contract --type Vehicle --classification personal
    """
    twin, gov = _governance(db)
    try:
        r = gov.request(cli_principal(), reason=reason, recipient=recipient, legal_basis=legal_basis,
                        types=type_, classifications=classification)
        out.print(f"requested / 已提交申请: {r.id} (pending / 待审批)", highlight=False)
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()


@exports_app.command("approve")
def exports_approve(
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    days: Annotated[int, typer.Option(min=1, max=365, help="days the approval is valid")] = 30,
    note: Annotated[str | None, typer.Option(help="the approver's note")] = None,
    db: DbOption = Path("lingang-twin.duckdb"),
) -> None:
    """Approve a pending export request (not one's own). Example: lingang-twin exports approve exp-1a2b3c --days 30"""
    twin, gov = _governance(db)
    try:
        r = gov.approve(cli_principal(), request_id, valid_days=days, note=note)
        out.print(f"approved / 已批准: {r.id} until {r.expires_at.isoformat()}", highlight=False)
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()


@exports_app.command("reject")
def exports_reject(
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    note: Annotated[str | None, typer.Option(help="why / 驳回理由")] = None,
    db: DbOption = Path("lingang-twin.duckdb"),
) -> None:
    """Reject a pending export request (not one's own). Example: lingang-twin exports reject exp-1a2b3c --note x"""
    twin, gov = _governance(db)
    try:
        r = gov.reject(cli_principal(), request_id, note=note)
        out.print(f"rejected / 已驳回: {r.id}", highlight=False)
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()


@exports_app.command("list")
def exports_list(
    status: Annotated[str | None, typer.Option(help="pending | approved | rejected")] = None,
    db: DbOption = Path("lingang-twin.duckdb"),
) -> None:
    """List export requests, newest first. Example: lingang-twin exports list --status pending"""
    twin, gov = _governance(db)
    try:
        for r in gov.list_requests(cli_principal(), status=status):
            _show_request(r)
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()


@readings_app.command("delete")
def readings_delete(
    entity: Annotated[str, typer.Option(help="the entity whose series to cut / 实体")],
    attribute: Annotated[str, typer.Option(help="the series, e.g. reading / 属性")],
    start: Annotated[str, typer.Option(help="ISO 8601 with offset, inclusive / 开始（含）")],
    end: Annotated[str, typer.Option(help="ISO 8601 with offset, exclusive / 结束（不含）")],
    db: DbOption = Path("lingang-twin.duckdb"),
) -> None:
    """Delete the readings of ONE series in [START, END) and say how many were removed. While a server runs on
    DB, use its API instead: DELETE /api/v1/observations?entity_id=&attribute=&start=&end=.

    Example: lingang-twin readings delete --db twin.duckdb --entity urn:ngsi-ld:Meter:x --attribute reading
    --start 2026-11-01T00:00+08:00 --end 2026-11-02T00:00+08:00
    """
    if not db.exists():
        fail(f"{db}: no such twin file / 数据库文件不存在")
    try:
        t0, t1 = parse_instant(start, "--start"), parse_instant(end, "--end")
        twin = _open(db)
        try:
            n = twin.delete_readings(entity, attribute, t0, t1)
        finally:
            twin.close()
    except TwinError as err:
        fail(str(err))
    out.print(f"deleted {n} readings of {attribute} of {entity} in [{start}, {end}) / 已删除 {n} 条读数",
              soft_wrap=True, highlight=False)


@db_app.command("backup")
def db_backup(
    dest: Annotated[Path, typer.Argument(help="the new backup file (must not exist) / 备份文件")],
    db: DbOption = Path("lingang-twin.duckdb"),
    server: Annotated[str | None, typer.Option(
        help="URL of the server running on the twin (e.g. http://127.0.0.1:8000): it makes the snapshot")] = None,
    token: Annotated[str | None, typer.Option(
        envvar="LINGANG_TOKEN", help="access token or API key for --server (best from LINGANG_TOKEN, not the "
        "command line)")] = None,
) -> None:
    """A consistent copy of the twin in a new DuckDB file — safe while the server runs (give --server; the file
    is open in the server's process, which makes the snapshot). Never copy the .duckdb file by hand: a copy can
    pair it with a stale .wal.

    Examples: lingang-twin db backup twin-backup.duckdb --server http://127.0.0.1:8000;
    lingang-twin db backup twin-backup.duckdb --db twin.duckdb   (no server running)
    """
    if dest.exists() or Path(f"{dest}.wal").exists():
        fail(f"{dest}: exists; choose a new file / 备份文件已存在")
    if not dest.parent.is_dir():
        fail(f"{dest}: no such directory {dest.parent} / 目录不存在")
    if server is not None:
        count = _backup_from_server(server.rstrip("/"), dest, token)
    else:
        from lingang_twin.stores.duckdb_store import DuckDBStore

        if not db.exists():
            fail(f"{db}: no such twin file / 数据库文件不存在")
        try:
            store = DuckDBStore(db)
        except TwinError as err:
            fail(f"{err}; if a server runs on it, back it up through the server: --server URL / "
                 "服务运行中请使用 --server")
        try:
            count = store.backup(dest)
        except TwinError as err:
            fail(str(err))
        finally:
            store.close()
    out.print(f"backed up {count} entities to {dest} ({dest.stat().st_size / 1e6:.1f} MB) / 备份完成",
              soft_wrap=True, highlight=False)


def _backup_from_server(url: str, dest: Path, token: str | None = None) -> int:
    """Ask the server for a snapshot and write it to ``dest`` (through a temporary file, then checked)."""
    import os
    import shutil
    import urllib.error
    import urllib.request

    from lingang_twin.stores.duckdb_store import DuckDBStore

    tmp = dest.with_name(f".{dest.name}.part")
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(f"{url}/api/v1/admin/backup", method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=600) as answer, tmp.open("wb") as sink:
            shutil.copyfileobj(answer, sink, 1 << 20)
        store = DuckDBStore(tmp, read_only=True)  # the copy must open before it takes the name
        count = store.count_entities()
        store.close()
        os.replace(tmp, dest)
        return count
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")[:300]
        fail(f"{url}: the server refused the backup ({err.code}): {detail} / 服务器拒绝备份")
    except (urllib.error.URLError, OSError) as err:
        fail(f"{url}: cannot reach the server ({err}) / 无法连接服务器")
    except TwinError as err:
        fail(f"the backup from {url} does not open: {err} / 备份文件无法打开")
    finally:
        tmp.unlink(missing_ok=True)


@db_app.command("restore")
def db_restore(
    src: Annotated[Path, typer.Argument(help="a backup made by 'db backup' / 备份文件")],
    db: DbOption = Path("lingang-twin.duckdb"),
    replace: Annotated[bool, typer.Option("--replace", help="overwrite DB if it exists / 覆盖现有文件")] = False,
) -> None:
    """Restore DB from a backup. Refused while DB is in use (stop the server first) and, for an existing DB,
    without --replace. The backup is checked and copied first; DB is replaced in one step.

    Example: lingang-twin db restore twin-backup.duckdb --db twin.duckdb --replace
    """
    from lingang_twin.stores.duckdb_store import restore_file

    try:
        count = restore_file(src, db, replace=replace)
    except TwinError as err:
        fail(str(err))
    out.print(f"restored {db} from {src}: {count} entities / 恢复完成", soft_wrap=True, highlight=False)


def _installed() -> Any:
    """The deployment's packs with their configurations, validated once (as the server validates them)."""
    from lingang_twin.app import deployment_packs, load_pack_configs
    from lingang_twin.settings import Settings

    try:
        settings = Settings()
        return load_pack_configs(deployment_packs(settings), settings)
    except TwinError as err:
        fail(str(err))


@checks_app.command("list")
def checks_list() -> None:
    """Every installed pack's checks, one a line, tab-separated: name, pack, title (中文 / English), default window.

    Example: lingang-twin checks list
    """
    for pack, check in _installed().checks():  # tab-separated, as written (rich would expand the tabs): cut-able
        sys.stdout.write(f"{check.name}\t{pack.name}\t{check.title[0]} / {check.title[1]}\t"
                         f"{check.window.label[0]} / {check.window.label[1]}\n")


@checks_app.command("run")
def checks_run(
    name: Annotated[str, typer.Argument(help="the check, as 'checks list' names it / 检查名")],
    db: DbOption = Path("lingang-twin.duckdb"),
    start: Annotated[str | None, typer.Option(help="ISO 8601 with offset, inclusive (default: the check's "
                                                   "window) / 开始（含）")] = None,
    end: Annotated[str | None, typer.Option(help="ISO 8601 with offset, exclusive / 结束（不含）")] = None,
    raise_alerts: Annotated[bool, typer.Option("--raise-alerts", help="store one open Alert per finding (a rerun "
                                               "adds none) / 生成告警")] = False,
) -> None:
    """Run one check over [START, END) — both given, or neither: its default window — and print its findings as
    JSON on stdout (with --raise-alerts also the ids of their Alert entities).

    Example: lingang-twin checks run meter_quality --db twin.duckdb --raise-alerts
    """
    import json

    from lingang_twin.core.jsonable import jsonable
    from lingang_twin.core.packs import run_check

    installed = _installed()
    try:
        installed.check(name)  # an unknown check is named before anything else is looked at
    except TwinError as err:
        fail(str(err))
    if not db.exists():
        fail(f"{db}: no such twin file / 数据库文件不存在")
    try:
        t0, t1 = parse_instant(start, "--start"), parse_instant(end, "--end")
        twin = _open(db)
        try:
            result = run_check(twin, installed, name, t0, t1, raise_alerts=raise_alerts)
        finally:
            twin.close()
    except TwinError as err:
        fail(str(err))
    payload = {"check": result.check, "pack": result.pack, "start": result.start.isoformat(),
               "end": result.end.isoformat(), "count": len(result.findings),
               "findings": [jsonable(f.to_dict()) for f in result.findings], "alerts": result.alerts}
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


# -- accounts ---------------------------------------------------------------------------------------------------------
def _cli_actor() -> Any:
    """The CLI acts as the machine's operator: SYSTEM, recorded in the audit log as ``cli:<login name>``."""
    import getpass
    from dataclasses import replace

    from lingang_twin.core.access import SYSTEM

    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container): still say it came from the CLI
        login = "unknown"
    return replace(SYSTEM, subject=f"cli:{login}")


def _accounts(db: Path, *, must_exist: bool = True) -> tuple[Any, Any]:
    """(twin, accounts) of ``db``; a missing file is refused (exit 2) unless ``must_exist`` is off."""
    from lingang_twin.app import open_accounts
    from lingang_twin.settings import Settings

    if must_exist and not db.exists():
        fail(f"{db}: no such twin file / 数据库文件不存在")
    twin = _open(db)
    try:
        return twin, open_accounts(twin, Settings(db=db))
    except TwinError as err:
        twin.close()
        fail(str(err))


def _read_password(stdin: bool, env: str | None) -> str:
    """The new password: from stdin's first line, from the environment variable ``env``, or typed twice at a
    prompt — never from an argument (it would sit in the shell history and the process list)."""
    import os

    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if env:
        if env not in os.environ:
            fail(f"--password-env: the environment variable {env} is not set / 环境变量未设置")
        return os.environ[env]
    if not sys.stdin.isatty():
        fail("password: give it with --password-stdin or --password-env VAR, or run in a terminal to be asked "
             "/ 请通过标准输入、环境变量或交互方式提供密码")
    value: str = typer.prompt("password / 密码", hide_input=True, confirmation_prompt=True)
    return value


RoleOption = Annotated[list[str], typer.Option("--role", help="a role (repeatable): operator, energy_manager, "
                                               "property_manager, mobility_operator, planner, integrator, "
                                               "enterprise_tenant, auditor, admin")]


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="user name: a-z 0-9 . _ @ - / 用户名")],
    role: RoleOption,
    db: DbOption = Path("lingang-twin.duckdb"),
    tenant: Annotated[str | None, typer.Option(help="the Enterprise URN of an enterprise_tenant / 所属企业")] = None,
    display_name: Annotated[str | None, typer.Option(help="shown name / 显示名")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin's "
                                                 "first line")] = False,
    password_env: Annotated[str | None, typer.Option("--password-env", metavar="VAR", help="read the password "
                                                     "from this environment variable")] = None,
) -> None:
    """Add a user with its roles; the password is asked for (or read from stdin / an environment variable),
    never given as an argument. Bad input (name, role, tenant, password, a taken name) writes nothing.

    Example: printf '%s\n' "$PW" | lingang-twin users add ada --role admin --password-stdin --db twin.duckdb
    """
    from lingang_twin.core.accounts import Accounts

    try:  # everything that can be checked without the file is checked before it is opened (or created)
        Accounts.check_name(name)
        Accounts.check_roles(role, tenant)
        password = _read_password(password_stdin, password_env)
        Accounts.check_password(password)
    except TwinError as err:
        fail(str(err))
    twin, accounts = _accounts(db, must_exist=False)
    try:
        user = accounts.add_user(name, password, role, display_name=display_name, tenant=tenant, by=_cli_actor())
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()
    out.print(f"added user {user.name} ({', '.join(user.roles)}) / 已添加用户", soft_wrap=True, highlight=False)


@users_app.command("list")
def users_list(db: DbOption = Path("lingang-twin.duckdb")) -> None:
    """Every user, one a line, tab-separated: name, roles, tenant, state (enabled / disabled / locked).

    Example: lingang-twin users list --db twin.duckdb
    """
    twin, accounts = _accounts(db)
    try:
        users = accounts.list_users()
        now = accounts.clock()
    finally:
        twin.close()
    for u in users:
        state = "disabled" if u.disabled else ("locked" if u.locked_until and u.locked_until > now else "enabled")
        sys.stdout.write(f"{u.name}\t{','.join(u.roles)}\t{u.tenant or '-'}\t{state}\n")


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="user name / 用户名")],
    db: DbOption = Path("lingang-twin.duckdb"),
    enable: Annotated[bool, typer.Option("--enable", help="enable the user again / 重新启用")] = False,
) -> None:
    """Disable a user (its sessions end, its keys stop working), or enable it again with --enable.

    Example: lingang-twin users disable olga --db twin.duckdb
    """
    twin, accounts = _accounts(db)
    try:
        accounts.set_disabled(name, not enable, by=_cli_actor())
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()
    out.print(f"{'enabled' if enable else 'disabled'} {name} / 已{'启用' if enable else '停用'}", highlight=False)


@users_app.command("roles")
def users_roles(
    name: Annotated[str, typer.Argument(help="user name / 用户名")],
    role: RoleOption,
    db: DbOption = Path("lingang-twin.duckdb"),
    tenant: Annotated[str | None, typer.Option(help="the Enterprise URN of an enterprise_tenant")] = None,
) -> None:
    """Replace a user's roles (audited as a rights change).

    Example: lingang-twin users roles olga --role operator --role auditor --db twin.duckdb
    """
    from lingang_twin.core.accounts import Accounts

    try:
        Accounts.check_roles(role, tenant)
    except TwinError as err:
        fail(str(err))
    twin, accounts = _accounts(db)
    try:
        user = accounts.set_roles(name, role, tenant=tenant, by=_cli_actor())
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()
    out.print(f"{user.name}: {', '.join(user.roles)} / 角色已更新", highlight=False)


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="user name / 用户名")],
    db: DbOption = Path("lingang-twin.duckdb"),
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    password_env: Annotated[str | None, typer.Option("--password-env", metavar="VAR")] = None,
) -> None:
    """Set a user's password (unlocks it and ends its sessions).

    Example: lingang-twin users password ada --db twin.duckdb
    """
    from lingang_twin.core.accounts import Accounts

    try:
        password = _read_password(password_stdin, password_env)
        Accounts.check_password(password)
    except TwinError as err:
        fail(str(err))
    twin, accounts = _accounts(db)
    try:
        accounts.set_password(name, password, by=_cli_actor())
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()
    out.print(f"password of {name} changed / 密码已修改", highlight=False)


@keys_app.command("create")
def keys_create(
    owner: Annotated[str, typer.Option(help="the user the key acts for (its roles, narrowed) / 所有者")],
    label: Annotated[str, typer.Option(help="what the key is for / 用途")],
    db: DbOption = Path("lingang-twin.duckdb"),
    scope: Annotated[list[str] | None, typer.Option("--scope", help="a permission the key keeps, e.g. "
                                                    "readings:write (repeatable; none: all of the owner's)")] = None,
    entity: Annotated[list[str] | None, typer.Option("--entity", help="an entity id or pattern with * the key "
                                                     "may touch (repeatable; none: all the owner's)")] = None,
    expires_days: Annotated[float | None, typer.Option(min=0.001, max=3660, help="days until it expires "
                                                       "(none: never)")] = None,
) -> None:
    """Create an API key and print it on stdout — this once: only its hash is kept.

    Example: lingang-twin keys create --owner gateway --label 'building 7 meters' --scope readings:write
    --entity 'urn:ngsi-ld:Meter:b7-*' --expires-days 365 --db twin.duckdb
    """
    from datetime import timedelta

    twin, accounts = _accounts(db)
    try:
        expires = accounts.clock() + timedelta(days=expires_days) if expires_days is not None else None
        created = accounts.create_key(owner, label, permission_scope=scope, entity_scope=entity,
                                      expires_at=expires, by=_cli_actor())
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()
    err_console.print(f"API key {created.key.id} for {created.key.owner}; store it now, it is shown once "
                      "/ 密钥仅显示一次，请妥善保存", highlight=False, soft_wrap=True)
    sys.stdout.write(created.secret + "\n")


@keys_app.command("list")
def keys_list(
    db: DbOption = Path("lingang-twin.duckdb"),
    owner: Annotated[str | None, typer.Option(help="only this user's keys")] = None,
) -> None:
    """Keys, one a line, tab-separated: id, owner, label, scope, entities, expires, state.

    Example: lingang-twin keys list --db twin.duckdb
    """
    twin, accounts = _accounts(db)
    try:
        keys = accounts.list_keys(owner, by=_cli_actor())
    finally:
        twin.close()
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        sys.stdout.write(f"{k.id}\t{k.owner}\t{k.label}\t{','.join(k.permission_scope or ['*'])}\t"
                         f"{','.join(k.entity_scope or ['*'])}\t"
                         f"{k.expires_at.isoformat() if k.expires_at else 'never'}\t{state}\n")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="the key's id (the 12 hex digits after ltk_)")],
    db: DbOption = Path("lingang-twin.duckdb"),
) -> None:
    """Revoke an API key: it stops working at once.

    Example: lingang-twin keys revoke 3f2a9c0d1e7b --db twin.duckdb
    """
    twin, accounts = _accounts(db)
    try:
        key = accounts.revoke_key(key_id, by=_cli_actor())
    except TwinError as err:
        fail(str(err))
    finally:
        twin.close()
    out.print(f"revoked key {key.id} of {key.owner} / 密钥已撤销", highlight=False)


@audit_app.command("verify")
def audit_verify(db: DbOption = Path("lingang-twin.duckdb")) -> None:
    """Check the audit log's hash chain: exit 0 when intact (and print the head hash, to note down elsewhere),
    exit 1 naming the first bad record.

    Example: lingang-twin audit verify --db twin.duckdb
    """
    twin, accounts = _accounts(db)
    try:
        verdict = accounts.verify_audit()
        head = accounts.store.audit_head()
    finally:
        twin.close()
    if not verdict.ok:
        err_console.print(f"[bold red]audit log broken[/] at record {verdict.bad_seq}: {verdict.reason} "
                          f"({verdict.count} records before it intact) / 审计日志已被篡改", soft_wrap=True,
                          highlight=False)
        raise typer.Exit(1)
    out.print(f"audit log intact / 审计日志完整: {verdict.count} records, head {head[1] if head else '-'}",
              soft_wrap=True, highlight=False)


@audit_app.command("list")
def audit_list(
    db: DbOption = Path("lingang-twin.duckdb"),
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="how many, newest first")] = 50,
    actor: Annotated[str | None, typer.Option(help="only this actor")] = None,
    action: Annotated[str | None, typer.Option(help="only this action, or a prefix ending in '.' (auth.)")] = None,
) -> None:
    """Audit records, newest first, one JSON object a line (seq, at, actor, roles, action, target, outcome,
    detail, hashes).

    Example: lingang-twin audit list --db twin.duckdb --action auth. --limit 20
    """
    import json

    twin, accounts = _accounts(db)
    try:
        records = accounts.audit(limit=limit, actor=actor, action=action, newest_first=True, by=_cli_actor())
    finally:
        twin.close()
    for r in records:
        sys.stdout.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")


class PackCli:
    """What the CLI hands pack ``name``'s command group (:class:`lingang_twin.core.packs.CliContext`): the twin
    with every pack installed, the pack's configuration from the deployment's settings (validated once, on first
    use, as the server validates it at start-up), and the CLI's way of failing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._installed: Any = None

    def open_twin(self, db: Path) -> Any:
        """The twin in ``db`` (a TwinError: one line, exit code 2)."""
        return _open(db)

    def config(self) -> Any:
        """This pack's validated configuration (``LINGANG_<PACK>_CONFIG`` or ``LINGANG_PACK_CONFIGS``)."""
        from lingang_twin.app import deployment_packs, load_pack_configs
        from lingang_twin.settings import Settings

        if self._installed is None:
            try:
                settings = Settings()
                self._installed = load_pack_configs(deployment_packs(settings), settings)
            except TwinError as err:
                fail(str(err))
        return self._installed.config(self.name)

    def fail(self, message: str) -> NoReturn:
        """One line on stderr, exit code 2."""
        fail(message)


def mount_packs(packs: list[Any]) -> None:
    """Mount each pack's command group as ``lingang-twin <pack>`` (the CLI knows no pack by name)."""
    from lingang_twin.core.packs import ordered

    for pack in ordered(packs):
        if pack.cli is not None:
            app.add_typer(pack.cli(PackCli(pack.name)), name=pack.name)


def _mount_loaded_packs() -> None:
    from lingang_twin.app import deployment_packs

    try:
        packs = deployment_packs()
    except TwinError as err:  # a bad LINGANG_PACKS: one line naming the setting, exit code 2, as every refusal
        err_console.print(f"[bold red]error[/]: {err}", soft_wrap=True, highlight=False)
        raise SystemExit(2) from None
    mount_packs(packs)


_mount_loaded_packs()


def main() -> None:
    """Console-script entry point: usage errors, like every other error, are one line on stderr and exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=sys.argv[1:], prog_name="lingang-twin", standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:
        # Click's UsageError / BadParameter / NoSuchOption (vendored by Typer) carry format_message and exit_code.
        if hasattr(err, "format_message") and hasattr(err, "exit_code"):
            message = " ".join(str(err.format_message()).split())
            if not message:  # no arguments at all: the help was printed; nothing to add
                sys.exit(2)
            err_console.print(f"[bold red]error[/]: {message} (see lingang-twin --help)", soft_wrap=True,
                              highlight=False)
            sys.exit(2)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
