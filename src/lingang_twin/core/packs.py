"""The pack contract: how a pack (energy, mobility, operations …) joins a twin and its faces.

A pack is a folder with one entry point, a module-level ``PACK = Pack(...)``. Like the store contract
(:mod:`lingang_twin.core.store`), this module only *describes*: a pack declares what it brings — its entity types
(``setup``), its configuration model, its routes, console pages, CLI command group, checks, and **descriptions**
that the faces render generically (overview tiles, map layers, building metrics, entity-page panels, words in
中文 and English) — and each face (API, console, CLI) renders those descriptions without knowing any pack by name,
the way a Home Assistant integration describes its sensors and one generic class draws them.

Arrows: the core imports no face and no pack. Parts that need a face's types (``APIRouter``, ``typer.Typer``) are
named here only for type checkers; a page builder receives a :class:`PageContext`, a Protocol the console's own
context satisfies.

Configuration is validated **once**, at start-up (:func:`configure`), and the same object is handed to the API
router, the console (pages, tiles, panels) and the CLI. ``None`` means the deployment configured nothing: the pack
then falls back to its own defaults (the energy pack: the settings stored in the twin).

Faces decide which packs to load, explicitly (no import-time discovery); :func:`install` puts them in dependency
order (``requires``), refusing a missing pack or a cycle with a clear error.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from lingang_twin.core.calendar import SHANGHAI, midnight
from lingang_twin.core.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from pathlib import Path

    import typer
    from fastapi import APIRouter

    from lingang_twin.core.findings import Finding
    from lingang_twin.core.model import Entity
    from lingang_twin.core.twin import Twin

Words = tuple[str, str]
"""A text in both languages: (简体中文, English)."""


def pick(words: Words, lang: str) -> str:
    """``words`` in ``lang`` ("zh" or "en")."""
    return words[0] if lang == "zh" else words[1]


# -- what a face hands a pack -----------------------------------------------------------------------------------
class PageContext(Protocol):
    """What a pack's console page, panel or tile receives (the console's own context satisfies it): the twin,
    the user's language, this pack's validated configuration, and helpers for words, links and live data."""

    @property
    def twin(self) -> Twin:
        """The twin the console shows."""
        ...

    @property
    def lang(self) -> str:
        """The user's language: "zh" or "en"."""
        ...

    @property
    def config(self) -> Any:
        """The validated configuration of the pack whose page or panel is being built (``None``: none given)."""
        ...

    def tr(self, zh: str, en: str) -> str:
        """``zh`` or ``en`` by the user's language."""
        ...

    def text(self, key: str, **values: object) -> str:
        """A message of the console's own table."""
        ...

    def url(self, path: str) -> str:
        """A URL inside the console (for links, navigation and downloads)."""
        ...

    def js_url(self, path: str) -> str:
        """A JavaScript expression for the browser URL of ``path``."""
        ...

    def entity_url(self, entity_id: str) -> str:
        """The URL of an entity's page."""
        ...

    def live(self, name: str, compute: Callable[[Twin], Any], listener: Callable[[Any], Any]) -> None:
        """Receive ``compute(twin)`` after every tick of the live hub (computed once for every open page)."""
        ...

    def on_entities(self, listener: Callable[[set[str]], Any]) -> None:
        """Receive the ids of entities that changed since the last tick."""
        ...


class CliContext(Protocol):
    """What a pack's CLI command group receives from the CLI face."""

    def open_twin(self, db: Path) -> Twin:
        """Open the twin in ``db`` with every pack installed (a TwinError becomes one line and exit code 2)."""
        ...

    def config(self) -> Any:
        """This pack's configuration from the deployment's settings, validated once (``None``: none given)."""
        ...

    def fail(self, message: str) -> NoReturn:
        """One line on stderr, exit code 2."""
        ...


# -- descriptions the faces render ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TileValue:
    """What a tile shows now: ``figure`` (one big number, already formatted, with ``figure_id`` as its test id),
    ``lines`` (label, formatted value) and a ``caption`` — any of them may be left out."""

    figure: str | None = None
    lines: Sequence[tuple[Words, str]] = ()
    caption: Words | None = None
    figure_id: str | None = None


@dataclass(frozen=True)
class Tile:
    """An overview tile: ``compute(twin, config, now)`` answers its :class:`TileValue`, or ``None`` when it is not
    available (``unavailable`` says why) — never a made-up number. ``link`` is a console path."""

    name: str
    title: Words
    compute: Callable[[Twin, Any, datetime], TileValue | None]
    unavailable: Words = ("暂无数据", "no data yet")
    link: str | None = None


@dataclass(frozen=True)
class Marker:
    """One point on the map: where (lat, lon), what (id, type, name in the asked language) and its value."""

    id: str
    type: str
    name: str
    lat: float
    lon: float
    value: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The marker as the map's JavaScript reads it."""
        return {"id": self.id, "type": self.type, "name": self.name, "lat": self.lat, "lon": self.lon,
                "value": self.value}


@dataclass(frozen=True)
class MapLayer:
    """A point layer of the map: ``markers(twin, lang, now)`` (names in ``lang``) and ``label(twin, marker,
    lang)`` its tooltip. A ``live`` layer is recomputed by the live hub after every tick."""

    name: str
    title: Words
    colour: str
    markers: Callable[[Twin, str, datetime | None], list[Marker]]
    label: Callable[[Twin, Marker, str], str]
    live: bool = False
    permanent_labels: bool = False
    radius: int = 6


@dataclass(frozen=True)
class BuildingMetric:
    """A number buildings can be coloured by on the map and in 3D: ``values(twin, config, now)`` by building id
    (a building without a value is absent, shown as "not available")."""

    name: str
    title: Words
    unit: Words
    values: Callable[[Twin, Any, datetime | None], Mapping[str, float]]


EntityPanel = Callable[["PageContext", "Entity"], Awaitable[None] | None]
"""A section a pack adds to every entity page (it draws nothing for an entity it has nothing to say about)."""
PageBuilder = Callable[["PageContext"], Awaitable[None] | None]


@dataclass(frozen=True)
class ConsolePageSpec:
    """A console page of a pack: its path (below the console's mount), title, builder, icon, and the
    ``permission`` a caller needs to open it (``area:verb``, see :mod:`lingang_twin.core.access`; every page
    declares one — ``None`` is caught by the tests that walk the pages)."""

    path: str
    title: Words
    build: PageBuilder
    icon: str = "extension"
    permission: str | None = None


@dataclass(frozen=True)
class CheckWindow:
    """The stretch of time a check looks at when the caller names none: the ``span`` before now, or, with
    ``whole_days``, the last ``span`` of whole Asia/Shanghai days ending at today's midnight — a window a rerun
    within the day finds again exactly, so the alerts it raises (keyed on kind, subject and start) are the same."""

    span: timedelta = timedelta(hours=24)
    whole_days: bool = False

    def at(self, now: datetime) -> tuple[datetime, datetime]:
        """The window ``[start, end)`` in force at ``now`` (an aware instant)."""
        end = midnight(now.astimezone(SHANGHAI).date()) if self.whole_days else now
        return end - self.span, end

    @property
    def label(self) -> Words:
        """The window in words (中文, English)."""
        hours = self.span.total_seconds() / 3600
        if self.whole_days:
            days = hours / 24
            return (("前一整天", "the last full day") if days == 1 else
                    (f"前 {days:g} 个整天", f"the last {days:g} full days"))
        return f"最近 {hours:g} 小时", f"the last {hours:g} h"


LAST_24_HOURS = CheckWindow()
LAST_FULL_DAY = CheckWindow(timedelta(days=1), whole_days=True)
MAX_CHECK_SPAN = timedelta(days=92)
"""The longest window a check is run over on request by default (a quarter: the checks read every reading)."""


@dataclass(frozen=True)
class Check:
    """A producer of findings: ``run(twin, config, start, end)`` answers what it found in the readings of
    ``[start, end)`` as the core's :class:`~lingang_twin.core.findings.Finding` (an empty list: nothing found),
    with its pack's validated configuration (``None``: none given). ``name`` is unique among the installed packs'
    checks (the faces address a check by it); ``window`` is the default window (:class:`CheckWindow`);
    ``max_span`` the longest window a caller may ask for. Only bad *input* raises (the core's errors)."""

    name: str
    title: Words
    run: Callable[[Twin, Any, datetime, datetime], list[Finding]]
    window: CheckWindow = LAST_24_HOURS
    max_span: timedelta = MAX_CHECK_SPAN

    def __post_init__(self) -> None:
        if not _CHECK_NAME.fullmatch(self.name):
            raise ValueError(f"check name {self.name!r}: lower-case letters, digits, '_' and '-' only")
        if self.window.span <= timedelta(0) or self.window.span > self.max_span:
            raise ValueError(f"check {self.name!r}: its window must be positive and within max_span")


_CHECK_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")


# -- the demo district: the shared plan and a pack's part of it ------------------------------------------------
# The demo (``lingang_twin.demo``) owns the district's geometry and programme, drawn from one random generator in a
# fixed order; a pack turns that plan into its entities. The plan reaches the packs as plain data (these classes),
# because packs may not import the demo. Geometry is in the demo's local metres (shapely); ``DemoPlan.geo`` turns
# it into GeoJSON.
@dataclass(frozen=True)
class DemoBuilding:
    """A building of the demo plan: ``operation_since`` is ``None`` unless it is in operation."""

    id: str
    key: str
    use: str
    name: str
    name_en: str
    floor_area_m2: float
    operation_since: date | None


@dataclass(frozen=True)
class DemoCarPark:
    """A car park the plan placed: its id, names, the building it ``serves``, its parcel, its ``lot`` (a polygon in
    local metres), its spots (of which ``ev_spots`` with a charging socket of ``socket_kw``, then
    ``accessible_spots``), its users' pattern ``kind`` and the day it opened."""

    id: str
    key: str
    name: str
    name_en: str
    serves: str
    parcel_id: str
    lot: Any
    spots: int
    ev_spots: int
    accessible_spots: int
    socket_kw: float
    kind: str
    since: date


@dataclass(frozen=True)
class DemoStop:
    """A stop of the demo's shuttle loop: names, point (local metres), zone and distance along the loop [m]."""

    name: str
    name_en: str
    point: Any
    zone_id: str
    distance_m: float


@dataclass(frozen=True)
class DemoPlan:
    """The demo district once placed, for the packs' parts: the seed, the district and zone ids, every building by
    key, the utility site reserved for an energy station (parcel id, polygon), the shuttle loop (path and stops),
    the programme's industry sectors (中文, English), and ``geo`` (local metres → GeoJSON)."""

    seed: int
    district_id: str
    zone_ids: Mapping[str, str]
    buildings: Mapping[str, DemoBuilding]
    utility_site: tuple[str, Any]
    route_path: Any
    route_stops: Sequence[DemoStop]
    sectors: Sequence[tuple[str, str]]
    geo: Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class DemoLayout:
    """A pack's entities in the demo district, as dicts for ``twin.upsert`` (parents first). The demo calls
    ``building(building, rng)`` for each building in operation, in the plan's order, with the plan's random
    generator (a pack's draws there are part of the plan's sequence: draw the same way or the district changes);
    ``car_park(car_park, geo)`` for each car park; ``district(plan)`` once the plan is placed."""

    building: Callable[[DemoBuilding, Any], list[dict[str, Any]]] | None = None
    car_park: Callable[[DemoCarPark, Callable[[Any], dict[str, Any]]], list[dict[str, Any]]] | None = None
    district: Callable[[DemoPlan], list[dict[str, Any]]] | None = None


def demo_entity(eid: str, etype: str, props: dict[str, Any], *, since: date, rels: dict[str, Any] | None = None,
                geo: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entity dict of the demo in operation since ``since`` (``geo``: its GeoJSON location)."""
    out: dict[str, Any] = {"id": eid, "type": etype, "properties": props}
    if rels:
        out["relationships"] = rels
    if geo is not None:
        out["geo"] = {"location": geo}
    out["phase"] = "operation"
    out["phase_since"] = since
    return out


# -- the pack ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pack:
    """A pack's description. ``name`` is a Python identifier; ``label`` (中文, English); ``setup(twin)`` registers
    its entity types (idempotent); ``requires`` names the packs it builds on. ``config_model`` validates the
    deployment's settings once (:func:`configure`). The faces' parts: ``api(config)`` a FastAPI router,
    ``pages``, ``cli(context)`` a typer command group mounted as ``lingang-twin <name>``, ``tiles``, ``layers``,
    ``metrics``, ``panels``, ``words`` (keys ``prop.<name>`` and ``value.<property>.<value>``), ``checks``
    (:class:`Check`: producers of findings every face runs by name), and its part of the demo district:
    ``demo_layout`` its entities over the demo's plan, ``demo(twin, seed)`` what it writes into the demo twin once
    the layout is there (e.g. settings). Access (:mod:`lingang_twin.core.access`): ``permissions`` the pack's own
    permissions (``area:verb`` → (中文, English)), ``grants`` which roles hold them (role → permissions); every
    route of ``api`` and every page declares the permission it needs."""

    name: str
    label: Words
    setup: Callable[[Twin], None]
    requires: tuple[str, ...] = ()
    config_model: type[BaseModel] | None = None
    api: Callable[[Any], APIRouter] | None = None
    pages: Sequence[ConsolePageSpec] = ()
    cli: Callable[[CliContext], typer.Typer] | None = None
    tiles: Sequence[Tile] = ()
    layers: Sequence[MapLayer] = ()
    metrics: Sequence[BuildingMetric] = ()
    panels: Sequence[EntityPanel] = ()
    words: Callable[[], Mapping[str, Words]] | None = None
    checks: Sequence[Check] = ()
    demo: Callable[[Twin, int], None] | None = None
    demo_layout: DemoLayout | None = None
    permissions: Mapping[str, Words] = field(default_factory=dict)
    grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Installed:
    """Packs in dependency order with their validated configurations: what every face receives."""

    packs: tuple[Pack, ...]
    configs: Mapping[str, BaseModel | None] = field(default_factory=dict)

    def config(self, name: str) -> BaseModel | None:
        """The validated configuration of pack ``name`` (``None``: none given)."""
        return self.configs.get(name)

    def words(self) -> dict[str, Words]:
        """Every pack's words, merged."""
        out: dict[str, Words] = {}
        for pack in self.packs:
            if pack.words is not None:
                out.update(pack.words())
        return out

    def grants(self) -> dict[str, tuple[str, ...]]:
        """Every pack's ``grants`` merged: role → the pack permissions it holds (what
        :func:`lingang_twin.core.access.principal` takes as ``grants``)."""
        out: dict[str, tuple[str, ...]] = {}
        for pack in self.packs:
            for role, perms in pack.grants.items():
                out[role] = tuple(dict.fromkeys((*out.get(role, ()), *perms)))
        return out

    def permissions(self) -> dict[str, Words]:
        """Every pack's own permissions (``area:verb`` → (中文, English))."""
        return {k: v for pack in self.packs for k, v in pack.permissions.items()}

    def checks(self) -> list[tuple[Pack, Check]]:
        """Every pack's checks with their pack, packs in dependency order."""
        return [(pack, check) for pack in self.packs for check in pack.checks]

    def check(self, name: str) -> tuple[Pack, Check]:
        """The check named ``name`` with its pack; NotFoundError naming the known ones otherwise."""
        for pack, check in self.checks():
            if check.name == name:
                return pack, check
        known = ", ".join(c.name for _, c in self.checks()) or "none"
        raise NotFoundError("check", f"{name} (installed: {known})")


@dataclass(frozen=True)
class CheckRun:
    """What running a check answered: the window ``[start, end)`` it looked at, its findings, and — when asked to
    raise them — the ids of their alerts (``None``: not asked)."""

    pack: str
    check: str
    start: datetime
    end: datetime
    findings: list[Finding]
    alerts: list[str] | None = None


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, "timezone-required",
                              f"{name} must carry a time zone; add +08:00 or Z / 时间须带时区")
    return value


def check_window(check: Check, start: datetime | None, end: datetime | None,
                 now: datetime | None = None) -> tuple[datetime, datetime]:
    """The window ``check`` runs over: ``[start, end)`` as given, or its default window at ``now`` (default: the
    current instant) when neither is given. A ValidationError names the field: only one of the two given
    (``start`` or ``end`` missing), a naive instant, ``end`` not after ``start``, a window longer than the check's
    ``max_span``."""
    if start is None and end is None:
        return check.window.at(_aware(now, "now") if now is not None else datetime.now(SHANGHAI))
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise ValidationError(missing, "required", "give both start and end, or neither (the check's default "
                              "window) / 开始与结束须同时给出或都不给")
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        raise ValidationError("end", "range-order", "end must be after start / 结束时间须晚于开始时间",
                              value=end.isoformat())
    if end - start > check.max_span:
        days = check.max_span.total_seconds() / 86400
        raise ValidationError("end", "window-too-long", f"the window is longer than {days:g} days, the most check "
                              f"{check.name!r} runs over at once / 时间窗超过 {days:g} 天", value=end.isoformat())
    return start, end


def run_check(twin: Twin, installed: Installed, name: str, start: datetime | None = None,
              end: datetime | None = None, *, raise_alerts: bool = False, now: datetime | None = None) -> CheckRun:
    """Run the installed check ``name`` over ``[start, end)`` (:func:`check_window`) with its pack's validated
    configuration; with ``raise_alerts`` store one open Alert per finding
    (:func:`lingang_twin.core.findings.raise_alerts`: an alert that exists already is not written again). What
    every face calls: the API's ``/api/v1/checks``, the CLI's ``checks run``, and next the operations' schedule.
    NotFoundError for an unknown check; ValidationError naming the field for a bad window."""
    from lingang_twin.core.findings import raise_alerts as store_alerts

    pack, check = installed.check(name)
    t0, t1 = check_window(check, start, end, now)
    findings = list(check.run(twin, installed.config(pack.name), t0, t1))
    alerts = store_alerts(twin, findings, now=now) if raise_alerts else None
    return CheckRun(pack.name, check.name, t0, t1, findings, alerts)


def ordered(packs: Iterable[Pack]) -> tuple[Pack, ...]:
    """``packs`` so that each comes after the packs it ``requires`` (otherwise in the given order). A required
    pack that is not in the list, two packs of one name, or a cycle is a ValidationError naming them."""
    given = list(packs)
    by_name: dict[str, Pack] = {}
    for pack in given:
        if pack.name in by_name and by_name[pack.name] is not pack:
            raise ValidationError("packs", "duplicate", f"two packs are named {pack.name!r} / 包名重复")
        by_name[pack.name] = pack
    out: list[Pack] = []
    state: dict[str, str] = {}

    def visit(pack: Pack, path: tuple[str, ...]) -> None:
        if state.get(pack.name) == "done":
            return
        if state.get(pack.name) == "visiting":
            cycle = " → ".join((*path[path.index(pack.name):], pack.name))
            raise ValidationError("packs", "cycle", f"packs require each other in a cycle: {cycle} / 包依赖成环")
        state[pack.name] = "visiting"
        for needed in pack.requires:
            if needed not in by_name:
                raise ValidationError("packs", "missing", f"pack {pack.name!r} requires pack {needed!r}, which is "
                                      f"not loaded / 缺少依赖包")
            visit(by_name[needed], (*path, pack.name))
        state[pack.name] = "done"
        out.append(pack)

    for pack in by_name.values():
        visit(pack, ())
    return tuple(out)


def configure(packs: Iterable[Pack], raw: Mapping[str, Any] | None = None) -> Installed:
    """Validate each pack's configuration in ``raw`` (pack name → mapping, or an already validated model) with
    its ``config_model``, once; packs in dependency order. A bad value is a ValidationError whose field is
    ``<pack>_config.<setting>``; configuration for an unknown pack, or for a pack that takes none, is refused."""
    from lingang_twin.core.types import model_errors_to_validation

    chosen = ordered(packs)
    names = {p.name for p in chosen}
    raw = dict(raw or {})
    for name in raw:
        if name not in names:
            raise ValidationError(f"{name}_config", "unknown-pack", f"configuration for pack {name!r}, which is "
                                  f"not loaded / 未加载该包")
    seen: dict[str, str] = {}
    for pack in chosen:
        for check in pack.checks:
            if check.name in seen:
                raise ValidationError("packs", "duplicate-check", f"packs {seen[check.name]!r} and {pack.name!r} "
                                      f"both declare a check named {check.name!r} / 检查重名")
            seen[check.name] = pack.name
    configs: dict[str, BaseModel | None] = {}
    for pack in chosen:
        value = raw.get(pack.name)
        if value is None:
            configs[pack.name] = None
            continue
        if pack.config_model is None:
            raise ValidationError(f"{pack.name}_config", "no-config", f"pack {pack.name!r} takes no configuration")
        if isinstance(value, pack.config_model):
            configs[pack.name] = value
            continue
        try:
            configs[pack.name] = pack.config_model.model_validate(value)
        except PydanticValidationError as err:
            raise model_errors_to_validation(err, f"{pack.name}_config") from None
    return Installed(chosen, configs)


def install(twin: Twin, packs: Iterable[Pack] | Installed, raw: Mapping[str, Any] | None = None) -> Installed:
    """Set up ``packs`` on ``twin`` in dependency order (each ``setup`` must be idempotent) and validate their
    configurations (:func:`configure`; ignored when ``packs`` is already :class:`Installed`)."""
    installed = packs if isinstance(packs, Installed) else configure(packs, raw)
    for pack in installed.packs:
        pack.setup(twin)
    return installed


def as_installed(packs: Iterable[Pack] | Installed | None, raw: Mapping[str, Any] | None = None) -> Installed:
    """``packs`` as :class:`Installed` (validating ``raw`` when given plain packs); none: no pack."""
    if isinstance(packs, Installed):
        return packs
    return configure(packs or [], raw)
