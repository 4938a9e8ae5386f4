"""Fixtures of the energy tests (the data itself lives in ``energy_fixtures``)."""

from __future__ import annotations

from energy_fixtures import energy_db, energy_file  # noqa: F401  (fixtures, used by name)
