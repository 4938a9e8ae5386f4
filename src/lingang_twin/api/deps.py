"""Typed dependencies, declared once (FastAPI full-stack template style)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

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


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request, expect: type = dict) -> Any:
    """The request body parsed as JSON (orjson), checked to be an object or an array.

    415 for another content type, 400 for malformed JSON, 422 for the wrong top-level shape.
    """
    kind = media_type(request)
    if kind not in ("application/json", "application/ld+json"):
        raise ProblemError(415, "Unsupported media type / 不支持的内容类型",
                           f"send application/json, not {kind or 'no content type'}", "media-type", "content-type")
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise ProblemError(400, "Malformed JSON / JSON 格式错误", f"the body is not valid JSON: {err}",
                           "json-syntax", "body") from None
    if not isinstance(data, expect):
        shape = "an object" if expect is dict else "an array"
        raise ProblemError(422, "Invalid input / 输入无效", f"the body must be {shape}", "json-shape", "body")
    return data
