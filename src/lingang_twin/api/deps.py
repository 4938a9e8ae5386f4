"""Typed dependencies, declared once (FastAPI full-stack template style)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from lingang_twin.api.problems import ProblemError
from lingang_twin.core.access import Principal
from lingang_twin.core.guard import caller, caller_twin, requires
from lingang_twin.core.twin import Twin
from lingang_twin.json_readings import parse_json
from lingang_twin.settings import Settings


def get_twin(twin: Twin = Depends(caller_twin)) -> Twin:  # noqa: B008 - FastAPI's idiom
    """The twin this app serves, as the request's caller sees it (``twin.as_caller(principal)``; the principal is
    :func:`lingang_twin.core.guard.caller`: ``request.state.principal``, else SYSTEM for an app without an
    authenticator, else ANONYMOUS)."""
    return twin


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


TwinDep = Annotated[Twin, Depends(get_twin)]
CallerDep = Annotated[Principal, Depends(caller)]
__all__ = ["CallerDep", "SettingsDep", "TwinDep", "caller", "requires"]
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

    415 for another content type, 400 for malformed JSON, 422 for the wrong top-level shape
    (:func:`~lingang_twin.json_readings.parse_json`). The parse runs in a worker thread, which frees the event
    loop only partly: orjson holds the GIL while it parses (≈ 12 ms per MB here). Large readings bodies go to a
    child process instead (``api/parse_pool.py``).
    """
    kind = media_type(request)
    if kind not in JSON_TYPES:
        raise ProblemError(415, "Unsupported media type / 不支持的内容类型",
                           f"send application/json, not {kind or 'no content type'}", "media-type", "content-type")
    raw = await request.body()
    return await run_in_threadpool(parse_json, raw, expect)


async def off_loop(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking work (DuckDB, parsing) in a worker thread so the event loop keeps answering.

    The twin is thread-safe: writes are serialised by its lock and the store's, and reads use a DuckDB cursor
    per thread (docs/decisions.md, 10).
    """
    return await run_in_threadpool(func, *args, **kwargs)

