"""``/api/v1/checks``: every installed pack's checks (producers of findings), listed and run by name.

The face names no pack: it lists what :meth:`~lingang_twin.core.packs.Installed.checks` holds and runs one through
:func:`~lingang_twin.core.packs.run_check`, which the CLI's ``checks run`` (and next the operations' schedule)
calls too. Bad input is the core's ValidationError naming ``start`` or ``end`` (422 problem+json); an unknown
check is a NotFoundError (404).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lingang_twin.api.deps import TwinDep, requires
from lingang_twin.api.openapi import problems
from lingang_twin.core.findings import FindingOut
from lingang_twin.core.jsonable import jsonable
from lingang_twin.core.observations import parse_instant
from lingang_twin.core.packs import Check, Installed, Pack, run_check


class LabelOut(BaseModel):
    """A text in both languages."""

    zh: str
    en: str


class WindowOut(BaseModel):
    """A check's default window: the ``hours`` before now, or with ``wholeDays`` the last whole Asia/Shanghai
    days ending at today's midnight."""

    hours: float
    wholeDays: bool  # the API's names are camelCase
    label: LabelOut


class CheckOut(BaseModel):
    """One installed check: its name (how it is run), its pack, its title, default window and longest window."""

    name: str
    pack: str
    label: LabelOut
    window: WindowOut
    maxDays: float


class ChecksOut(BaseModel):
    data: list[CheckOut]
    count: int


class CheckRunOut(BaseModel):
    """What a run found over ``[start, end)``; ``alerts``: the ids of the findings' Alert entities when they were
    raised (``null``: not asked)."""

    check: str
    pack: str
    start: str
    end: str
    count: int
    findings: list[FindingOut]
    alerts: list[str] | None


def describe(pack: Pack, check: Check) -> dict[str, Any]:
    """A check as the list answers it."""
    w = check.window
    return {"name": check.name, "pack": pack.name, "label": {"zh": check.title[0], "en": check.title[1]},
            "window": {"hours": w.span.total_seconds() / 3600, "wholeDays": w.whole_days,
                       "label": {"zh": w.label[0], "en": w.label[1]}},
            "maxDays": check.max_span.total_seconds() / 86400}


def router(installed: Installed) -> APIRouter:
    """The routes over the checks of ``installed`` (the packs the app was created with)."""
    r = APIRouter(prefix="/api/v1/checks", tags=["checks"])

    @r.get("", summary="Every installed pack's checks / 检查项", response_model=ChecksOut,
           dependencies=[requires("checks:read")])
    def list_checks() -> dict[str, Any]:
        """Name, pack, title (中文, English), default window and longest window of every check, packs in
        dependency order."""
        data = [describe(pack, check) for pack, check in installed.checks()]
        return {"data": data, "count": len(data)}

    @r.post("/{name}:run", summary="Run a check / 运行检查", response_model=CheckRunOut,
            responses=problems(401, 403, 404, 422), dependencies=[requires("checks:run")])
    def run(
        twin: TwinDep,
        name: str,
        start: str | None = Query(None, description="ISO 8601 instant with offset (default: the check's window) "
                                                    "/ 开始时刻（须带时区）"),
        end: str | None = Query(None, description="ISO 8601 instant with offset, exclusive / 结束时刻（不含）"),
        raise_alerts: bool = Query(False, alias="raiseAlerts",
                                   description="store one open Alert per finding (a rerun adds none) / 生成告警"),
    ) -> dict[str, Any]:
        """Run the check ``name`` over ``[start, end)`` — both given, or neither: its default window — and answer
        its findings; with ``raiseAlerts=true`` each becomes an open Alert entity (existing ones are left as they
        are). 404 for an unknown check; 422 naming ``start`` or ``end`` for a bad, naive or reversed instant, one
        without the other, or a window longer than the check's ``maxDays``."""
        installed.check(name)  # an unknown check is a 404 before its parameters are judged
        result = run_check(twin, installed, name, parse_instant(start, "start"), parse_instant(end, "end"),
                           raise_alerts=raise_alerts)
        return {"check": result.check, "pack": result.pack, "start": result.start.isoformat(),
                "end": result.end.isoformat(), "count": len(result.findings),
                "findings": [jsonable(f.to_dict()) for f in result.findings], "alerts": result.alerts}

    return r


__all__ = ["CheckOut", "CheckRunOut", "ChecksOut", "FindingOut", "describe", "router"]
