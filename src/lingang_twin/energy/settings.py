"""The energy settings in force (能源配置): the operator's file first, else the ones stored in the twin.

A deployment sets what the tables lack (the CO₂ factors of water and hydrogen, the equal-value electricity
coefficient, …) as an :class:`~.factors.EnergyConfig`. Two places hold one, and the first found wins:

1. the operator's own settings, handed to the face: ``LINGANG_ENERGY_CONFIG`` for ``serve`` / ``demo`` (the API
   routes and console pages), ``--config`` for ``energy report``;
2. the settings stored in the twin as its district's property ``energyConfig`` (:data:`STORED_PROPERTY`), so
   they travel with the DuckDB file: the demo twin carries its illustrative ones there, and ``energy report
   --db lingang-demo.duckdb`` finds them without ``--config``.

With neither, figures that need a missing factor are refused (rule ``factor-missing``), never counted as zero.
Settings marked ``illustrative`` (the demo's) are placeholders: every figure taken from them says so in its
basis, and the energy and tenants pages show :data:`ILLUSTRATIVE_NOTICE`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticValidationError

from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.factors import EnergyConfig

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin

STORED_PROPERTY = "energyConfig"
"""The District property holding the twin's own energy settings (a JSON object validating as EnergyConfig)."""

ILLUSTRATIVE_NOTICE = (
    "示意性能源配置：水和氢的 CO₂ 排放因子是示范孪生自带的示意值，并非公开发布的数据；CO₂ 与费用仅供演示。"
    "正式部署请通过 LINGANG_ENERGY_CONFIG（或 energy report --config）设置自己的系数。",
    "Illustrative energy settings: the CO₂ factors of water and hydrogen are the demo twin's placeholders, not "
    "published figures; CO₂ and cost are for demonstration only. A real deployment sets its own through "
    "LINGANG_ENERGY_CONFIG (or energy report --config).")
"""The bilingual notice shown on the energy and tenants pages when illustrative settings are in force."""


def _district(twin: Twin) -> Any:
    # The twin's first District by id: the console's pages show that one, and a twin file holds one deployment.
    page = twin.query(types=["District"], limit=1, order_by=["id"])
    return page.entities[0] if page.entities else None


def stored_config(twin: Twin) -> EnergyConfig | None:
    """The energy settings stored in ``twin`` (its District's ``energyConfig``), checked; ``None`` if none.

    A stored value that does not validate raises ValidationError naming ``energyConfig.<setting>``: a twin whose
    settings are broken must say so, not fall back silently to refusing every CO₂ figure.
    """
    district = _district(twin)
    stored = None if district is None else district.value(STORED_PROPERTY)
    if stored is None:
        return None
    try:
        return EnergyConfig.model_validate(stored)
    except PydanticValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"{STORED_PROPERTY}.{where}" if where else STORED_PROPERTY, "config-invalid",
                              f"{district.id} {STORED_PROPERTY}: {first['msg']} / 孪生中存储的能源配置无效",
                              value=stored) from None


def config_in_force(twin: Twin, given: EnergyConfig | dict[str, Any] | None) -> EnergyConfig | dict[str, Any] | None:
    """The settings to use: ``given`` (the operator's, from the face) when set, else the twin's stored ones."""
    if given is not None:
        return given
    return stored_config(twin)


def is_illustrative(config: EnergyConfig | dict[str, Any] | None) -> bool:
    """Whether ``config`` is marked illustrative (placeholders such as the demo's, not published figures)."""
    if isinstance(config, dict):
        return bool(config.get("illustrative"))
    return bool(config is not None and config.illustrative)


def store_config(twin: Twin, config: EnergyConfig, *, replace: bool = False) -> bool:
    """Store ``config`` as the twin's energy settings (on its District); keeps settings already stored unless
    ``replace``. Returns whether it wrote. Raises ValidationError (rule ``district-missing``) without a District."""
    district = _district(twin)
    if district is None:
        raise ValidationError("district", "district-missing", "the twin has no District to hold energy settings / "
                              "孪生中没有园区（District），无法保存能源配置")
    if district.value(STORED_PROPERTY) is not None and not replace:
        return False
    twin.patch(district.id, properties={STORED_PROPERTY: config.model_dump(mode="json", exclude_defaults=True)})
    return True


__all__ = [
    "ILLUSTRATIVE_NOTICE",
    "STORED_PROPERTY",
    "config_in_force",
    "is_illustrative",
    "store_config",
    "stored_config",
]
