"""Limits on the shape of free-form JSON values (property values), checked before anything is stored.

A property value may be any JSON value, but one nested hundreds of levels deep was stored and then broke every
later read of it (orjson refuses to encode past 254 levels, pydantic past its own guard, Python recursion near
1,000), and a single multi-megabyte value would sit in every page and in the entity cache. Both are refused at
the door, naming the field and the rule, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np

from lingang_twin.core.errors import ValidationError

#: Deepest nesting of lists and objects inside one property value (a scalar is depth 0, ``[1]`` depth 1).
#: Real attributes (address records, schedules, lists of coordinates) stay below 6; 32 leaves room and stays far
#: from every serialiser's limit.
MAX_VALUE_DEPTH = 32
#: Largest property value, about the length of its JSON text [bytes, UTF-8].
#: Bulky data belongs in time series or files, not in one attribute that every entity page carries.
MAX_VALUE_BYTES = 256 * 1024
#: Largest integer a property value may hold: JSON readers in browsers and our serialiser (64-bit) agree on it.
MAX_SAFE_INTEGER = 2**53 - 1


def check_json_value(value: Any, field: str) -> None:
    """Refuse a value nested deeper than :data:`MAX_VALUE_DEPTH`, larger than :data:`MAX_VALUE_BYTES` as JSON,
    holding an integer beyond ±(2⁵³ − 1), or holding something that is not JSON (raises ValidationError).

    The walk is iterative, so a value nested 100,000 levels deep is refused without touching Python's recursion
    limit; it stops as soon as a limit is passed.
    """
    stack: list[tuple[Any, int, str]] = [(value, 0, field)]
    size = 0
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth >= MAX_VALUE_DEPTH:
                raise ValidationError(field, "value-depth",
                                      f"nested deeper than {MAX_VALUE_DEPTH} levels / 嵌套层数超过 {MAX_VALUE_DEPTH}")
            size += 2
            if isinstance(item, Mapping):
                for k, v in item.items():
                    if not isinstance(k, str):
                        raise ValidationError(where, "value-json", "object keys must be text / 对象的键必须是文本")
                    size += 4 * len(k) + 4
                    stack.append((v, depth + 1, f"{where}.{k}"))
            else:
                size += len(item)
                stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, str):
            try:
                size += len(item.encode("utf-8")) + 2
            except UnicodeEncodeError:  # a lone surrogate: no UTF-8 form, so no store or JSON reader takes it
                raise ValidationError(where, "value-text", "text holds an invalid character (a lone surrogate) / "
                                      "文本含无效字符") from None
        elif item is None or isinstance(item, bool | float):
            size += 5
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INTEGER:
                raise ValidationError(where, "value-integer-range",
                                      f"integers must lie within ±{MAX_SAFE_INTEGER} (send larger numbers as "
                                      f"decimals or text) / 整数超出 ±{MAX_SAFE_INTEGER} 范围")
            size += 20
        elif isinstance(item, np.generic):  # numpy scalars from analytics code; stored as their Python value
            size += 20
        elif isinstance(item, datetime | date):  # the library's own callers may pass them; stored as ISO text
            size += 32
        else:
            raise ValidationError(where, "value-json",
                                  f"{type(item).__name__} is not a JSON value / 不是 JSON 值")
        if size > MAX_VALUE_BYTES:
            raise ValidationError(field, "value-size",
                                  f"larger than {MAX_VALUE_BYTES} bytes as JSON / 属性值超过 {MAX_VALUE_BYTES} 字节")
