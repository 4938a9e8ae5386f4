"""Pydantic's validation errors in our words: English and Chinese, naming the field and the rule.

Pydantic's own messages (``Input should be a valid integer, unable to parse string as an integer``) are English
only and name no field. Every face shows them through :func:`bilingual`, so the CLI, the API and the console
say the same thing. The rule stays pydantic's error type (``int_parsing``, ``less_than_equal`` …): it is stable
and documented by pydantic, so integrators can act on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: pydantic error type → (English, 中文) message templates; ``{…}`` are pydantic's own context values.
MESSAGES: Mapping[str, tuple[str, str]] = {
    "missing": ("is required", "为必填项"),
    "extra_forbidden": ("is not a known field", "不是可接受的字段"),
    "int_parsing": ("must be a whole number", "必须是整数"),
    "int_type": ("must be a whole number", "必须是整数"),
    "int_from_float": ("must be a whole number, not a fraction", "必须是整数，不能有小数"),
    "int_parsing_size": ("is too large a number", "数值过大"),
    "float_parsing": ("must be a number", "必须是数字"),
    "float_type": ("must be a number", "必须是数字"),
    "finite_number": ("must be a finite number", "必须是有限数值"),
    "bool_parsing": ("must be true or false", "必须是 true 或 false"),
    "bool_type": ("must be true or false", "必须是 true 或 false"),
    "string_type": ("must be text", "必须是文本"),
    "string_too_short": ("must have at least {min_length} characters", "至少需要 {min_length} 个字符"),
    "string_too_long": ("must have at most {max_length} characters", "最多 {max_length} 个字符"),
    "string_pattern_mismatch": ("must match {pattern}", "须符合格式 {pattern}"),
    "greater_than": ("must be greater than {gt}", "必须大于 {gt}"),
    "greater_than_equal": ("must be at least {ge}", "不能小于 {ge}"),
    "less_than": ("must be less than {lt}", "必须小于 {lt}"),
    "less_than_equal": ("must be at most {le}", "不能大于 {le}"),
    "literal_error": ("must be one of {expected}", "必须是以下之一：{expected}"),
    "enum": ("must be one of {expected}", "必须是以下之一：{expected}"),
    "dict_type": ("must be an object", "必须是对象"),
    "model_type": ("must be an object", "必须是对象"),
    "model_attributes_type": ("must be an object", "必须是对象"),
    "list_type": ("must be an array", "必须是数组"),
    "tuple_type": ("must be an array", "必须是数组"),
    "too_short": ("must have at least {min_length} items", "至少需要 {min_length} 项"),
    "too_long": ("must have at most {max_length} items", "最多 {max_length} 项"),
    "date_type": ("must be a date (YYYY-MM-DD)", "必须是日期（YYYY-MM-DD）"),
    "date_parsing": ("must be a date (YYYY-MM-DD)", "必须是日期（YYYY-MM-DD）"),
    "date_from_datetime_parsing": ("must be a date (YYYY-MM-DD)", "必须是日期（YYYY-MM-DD）"),
    "date_from_datetime_inexact": ("must be a date without a time of day", "必须是日期，不含时刻"),
    "datetime_type": ("must be a date-time (ISO 8601 with an offset)", "必须是带时区的 ISO 8601 时间"),
    "datetime_parsing": ("must be a date-time (ISO 8601 with an offset)", "必须是带时区的 ISO 8601 时间"),
    "datetime_from_date_parsing": ("must be a date-time (ISO 8601 with an offset)", "必须是带时区的 ISO 8601 时间"),
    "timezone_aware": ("needs a time zone offset", "必须带时区"),
    "json_invalid": ("is not valid JSON", "不是有效的 JSON"),
}


def bilingual(error: Mapping[str, Any], field: str) -> str:
    """``"<field> <rule in English> / <field> <rule in Chinese>"`` for one pydantic error dict (``err.errors()``
    item); an error type not in :data:`MESSAGES` keeps pydantic's English text and gets a generic Chinese one."""
    kind = str(error.get("type", ""))
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if kind in ("value_error", "assertion_error"):  # raised by our own validators: their text is the message
        text = ctx.get("error", str(error.get("msg", kind)))
        return f"{field}: {text}" if " / " in text else f"{field}: {text} / {field} 无效"
    templates = MESSAGES.get(kind)
    if templates is None:
        return f"{field}: {error.get('msg', kind)} / {field} 无效（{kind}）"
    try:
        en, zh = templates[0].format(**ctx), templates[1].format(**ctx)
    except (KeyError, IndexError):  # a context value pydantic did not give: say it without the detail
        en, zh = templates[0].split("{")[0].strip(), templates[1].split("{")[0].strip()
    return f"{field} {en} / {field} {zh}"

