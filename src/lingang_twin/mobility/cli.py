"""The mobility pack's command group, mounted by the CLI face as ``lingang-twin mobility …``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from lingang_twin.core.errors import TwinError
from lingang_twin.core.packs import CliContext


def commands(ctx: CliContext) -> typer.Typer:
    """The ``mobility`` command group: ``parking`` (every car park's newest free spots, JSON on stdout)."""
    group = typer.Typer(help="Mobility · 出行: car parks and shuttles.\n\n"
                             "Example: lingang-twin mobility parking --db twin.duckdb", no_args_is_help=True)

    @group.command("parking")
    def parking(db: Annotated[Path, typer.Option("--db", help="DuckDB file of the twin", envvar="LINGANG_DB")]
                = Path("lingang-twin.duckdb")) -> None:
        """Every car park with its capacity and newest free spots (last two days); JSON on stdout.

        Example: lingang-twin mobility parking --db twin.duckdb
        """
        from lingang_twin.mobility.page import car_parks

        if not db.exists():
            ctx.fail(f"{db}: no such twin file / 数据库文件不存在")
        try:
            twin = ctx.open_twin(db)
            try:
                parks = car_parks(twin)
            finally:
                twin.close()
        except TwinError as err:
            ctx.fail(str(err))
        rows = [{"id": p.id, "name": p.name[0], "nameEn": p.name[1], "spots": p.total, "free": p.free,
                 "at": p.at.isoformat() if p.at else None} for p in parks]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")

    return group
