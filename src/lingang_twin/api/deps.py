"""Typed dependencies, declared once (FastAPI full-stack template style)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from lingang_twin.api.problems import ProblemError
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings


def get_twin(request: Request) -> Twin:
    """The twin this app serves (set by ``create_app``)."""
    twin: Twin = request.app.state.twin
    return twin


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


TwinDep = Annotated[Twin, Depends(get_twin)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


JSON_TYPES = ("application/json", "application/ld+json")
T = TypeVar("T")


def iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` text (or a date) is a date here: pydantic alone reads ``0`` as 1970-01-01."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return value
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) / 日期格式须为 YYYY-MM-DD")


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: A calendar date written as ``YYYY-MM-DD`` and nothing else.
IsoDate = Annotated[date, BeforeValidator(iso_date)]


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, expect: type = dict) -> Any:
    """The request body parsed as JSON (orjson), checked to be an object or an array.

    415 for another content type, 400 for malformed JSON, 422 for the wrong top-level shape. The parse runs in a
    worker thread: a 30 MB batch takes ~0.1 s to parse, which would otherwise stall every other request.
    """
    kind = media_type(request)
    if kind not in JSON_TYPES:
        raise ProblemError(415, "Unsupported media type / 不支持的内容类型",
                           f"send application/json, not {kind or 'no content type'}", "media-type", "content-type")
    raw = await request.body()
    return await run_in_threadpool(parse_json, raw, expect)


def parse_json(raw: bytes, expect: type = dict) -> Any:
    """``raw`` parsed as JSON and checked to be ``expect`` (dict or list); ProblemError 400 / 422 otherwise."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise ProblemError(400, "Malformed JSON / JSON 格式错误",
                           f"the body is not valid JSON: {err} / 请求体不是有效的 JSON", "json-syntax",
                           "body") from None
    if not isinstance(data, expect):
        shape = ("an object", "对象") if expect is dict else ("an array", "数组")
        raise ProblemError(422, "Invalid input / 输入无效", f"the body must be {shape[0]} / 请求体必须是{shape[1]}",
                           "json-shape", "body")
    return data


async def off_loop(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work (DuckDB, parsing) in a worker thread so the event loop keeps answering.

    The twin is thread-safe: writes are serialised by its lock and the store's, and reads use a DuckDB cursor
    per thread (docs/decisions.md, 10).
    """
    return await run_in_threadpool(func, *args, **kwargs)
