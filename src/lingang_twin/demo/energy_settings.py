"""The demo twin's own energy settings (示范孪生的示意性能源配置): illustrative, not published.

The demo meters water and hydrogen, whose CO₂ factors no reference table of ours holds (see
:mod:`lingang_twin.energy.factors`), so without settings every CO₂ figure, tenant statement and report of the demo
would be refused. :func:`lingang_twin.demo.build_demo` stores these in the twin (the district's ``energyConfig``,
:mod:`lingang_twin.energy.settings`) unless the twin already holds settings; an operator's
``LINGANG_ENERGY_CONFIG`` or ``--config`` still takes precedence. They are marked ``illustrative``: every figure
they produce says so, and the console shows a notice while they are in force.

The two values are round orders of magnitude, not figures from any source:

* water 0.21 kg CO₂/m³ ≈ 0.5 kWh/m³ to supply and treat tap water × Shanghai's 0.42 kg CO₂/kWh;
* hydrogen 23.1 kg CO₂/kg ≈ 55 kWh/kg for grid electrolysis × the same 0.42 kg CO₂/kWh.
"""

from __future__ import annotations

from lingang_twin.energy.factors import EnergyConfig

DEMO_ENERGY_CONFIG = EnergyConfig(
    water_kgco2_per_m3=0.21,
    hydrogen_route="grid-electrolysis",
    hydrogen_kgco2_per_kg=23.1,
    illustrative=True,
    source="Lingang Twin demo: illustrative placeholders, not published figures / 示范孪生示意值，非公开发布数据",
)
"""The demo's illustrative energy settings [kg CO₂ per m³ of water, per kg of hydrogen]."""

__all__ = ["DEMO_ENERGY_CONFIG"]
