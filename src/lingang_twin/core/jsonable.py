"""One way to make a pack's answers JSON-able (API responses, Alert evidence, opendsm's notes).

numpy scalars become plain numbers, dates and instants ISO 8601 text, NaN and ±inf ``None`` (JSON has no NaN, and
a missing figure must read as missing, not fail the response), mapping keys text; any other object its ``str``.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with everything inside it made JSON-able (see the module docstring)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):  # datetime and pandas Timestamp included
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


__all__ = ["jsonable"]
