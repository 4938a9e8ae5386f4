"""Tariffs as configuration (电价水价): flat prices per carrier and time-of-use (分时) electricity.

A tariff is a pydantic model (a plain dict validates into it). Time-of-use periods are hour ranges of the local
(Asia/Shanghai) day, ``[start, end)`` in whole hours, wrapping past midnight when ``end <= start`` (22 → 6);
together they must cover each of the 24 hours exactly once.

The defaults in :data:`TARIFFS` are ILLUSTRATIVE (示意): shaped like Shanghai's general commercial and industrial
time-of-use tariff (peak 8-11 and 18-21, valley 22-6) with round prices, not the published schedule — a deployment
supplies its own tariff before any bill is quoted.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.carriers import CANONICAL_UNITS

Hour = Annotated[int, Field(ge=0, le=24)]


class TouPeriod(BaseModel):
    """One time-of-use period: a name (peak 峰, flat 平, valley 谷, sharp 尖 …), hour ranges and a price
    [CNY/kWh]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    hours: list[tuple[Hour, Hour]]
    price_cny_per_kwh: Annotated[float, Field(ge=0)]

    def hour_set(self) -> list[int]:
        """The local hours (0-23) the period covers, with repeats if its ranges overlap."""
        out: list[int] = []
        for start, end in self.hours:
            start, end = start % 24, end % 24
            span = (end - start) % 24 or 24
            out.extend((start + i) % 24 for i in range(span))
        return out


class Tariff(BaseModel):
    """A tariff: ``prices_cny`` per carrier [CNY per canonical unit], and optionally ``time_of_use`` periods that
    price electricity by the hour (replacing its flat price). ``illustrative`` marks figures not to quote."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    prices_cny: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    time_of_use: list[TouPeriod] | None = None
    illustrative: bool = False
    source: str = ""

    @model_validator(mode="after")
    def _check(self) -> Tariff:
        for carrier in self.prices_cny:
            if carrier not in CANONICAL_UNITS:
                raise ValueError(f"prices_cny: unknown carrier {carrier!r}")
        if self.time_of_use is not None:
            seen: dict[int, list[str]] = {h: [] for h in range(24)}
            for period in self.time_of_use:
                for h in period.hour_set():
                    seen[h].append(period.name)
            overlap = [h for h, names in seen.items() if len(names) > 1]
            gaps = [h for h, names in seen.items() if not names]
            if overlap:
                raise ValueError(f"periods overlap at hours {overlap} / 时段在 {overlap} 时重叠")
            if gaps:
                raise ValueError(f"hours {gaps} are in no period / {gaps} 时未被任何时段覆盖")
        return self

    def hourly_prices(self) -> list[float] | None:
        """Electricity price of each local hour 0-23 [CNY/kWh], or ``None`` without time of use."""
        if self.time_of_use is None:
            return None
        prices = [0.0] * 24
        for period in self.time_of_use:
            for h in period.hour_set():
                prices[h] = period.price_cny_per_kwh
        return prices

    def price(self, carrier: str) -> float:
        """Flat price of ``carrier`` [CNY per canonical unit]; missing raises ValidationError (``price-missing``)."""
        if carrier not in self.prices_cny:
            raise ValidationError("tariff", "price-missing",
                                  f"tariff {self.name!r} has no price for carrier {carrier!r} / "
                                  f"价目 {self.name!r} 缺少 {carrier!r} 的价格", value=carrier)
        return self.prices_cny[carrier]


def _illustrative_shanghai() -> Tariff:
    return Tariff(
        name="shanghai-illustrative",
        illustrative=True,
        source="ILLUSTRATIVE 示意 — shaped like Shanghai C&I time-of-use, round prices; not a published tariff",
        # [CNY per canonical unit]: water m3, natural gas m3, diesel/gasoline/hydrogen kg, heat MJ.
        prices_cny={"electricity": 0.80, "water": 5.0, "natural_gas": 4.0, "diesel": 9.3, "gasoline": 11.0,
                    "hydrogen": 35.0, "heat": 0.12},
        time_of_use=[
            TouPeriod(name="peak", hours=[(8, 11), (18, 21)], price_cny_per_kwh=1.20),
            TouPeriod(name="flat", hours=[(6, 8), (11, 18), (21, 22)], price_cny_per_kwh=0.75),
            TouPeriod(name="valley", hours=[(22, 6)], price_cny_per_kwh=0.35),
        ],
    )


TARIFFS: dict[str, Tariff] = {"shanghai-illustrative": _illustrative_shanghai()}
"""Named tariffs. ``shanghai-illustrative`` is ILLUSTRATIVE (示意): replace it with the deployment's contract."""


def tariff_from(value: str | Tariff | dict[str, Any]) -> Tariff:
    """A tariff by name from :data:`TARIFFS`, or validated from a dict.

    Raises ValidationError naming the field (``tariff.<path>``) and the rule, e.g. periods that overlap or leave
    hours uncovered (``tariff-invalid``), or an unknown name (``tariff-unknown``, listing the valid ones).
    """
    if isinstance(value, Tariff):
        return value
    if isinstance(value, str):
        if value not in TARIFFS:
            valid = ", ".join(sorted(TARIFFS))
            raise ValidationError("tariff", "tariff-unknown",
                                  f"unknown tariff {value!r}; valid: {valid} / 未知价目 {value!r}，可选: {valid}",
                                  value=value)
        return TARIFFS[value]
    try:
        return Tariff.model_validate(value)
    except PydanticValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        field = f"tariff.{where}" if where else "tariff"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValidationError(field, "tariff-invalid", message, value=value) from None


__all__ = ["TARIFFS", "Tariff", "TouPeriod", "tariff_from"]
