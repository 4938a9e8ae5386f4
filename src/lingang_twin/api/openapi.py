"""What the OpenAPI document says about bodies and errors, so that it describes what the server really does.

The write routes read their bodies themselves (orjson, CSV, per-item batches), so FastAPI cannot see them; the
request bodies are declared here as JSON Schemas. Every error answer is ``application/problem+json`` (see
``problems.py``); each route lists the statuses it can answer with, and FastAPI's default 422 (a different
shape, ``application/json``) is replaced by ours.
"""

from __future__ import annotations

from typing import Any

from lingang_twin.core.model import PHASES

PROBLEM_MEDIA = "application/problem+json"

#: RFC 9457 problem details as this server writes them (``problems.py`` and ``limits.py``).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:lingang-twin:problem:<rule>"},
        "title": {"type": "string", "description": "English / 中文"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what was wrong, in English and Chinese"},
        "field": {"type": "string", "description": "the field at fault (dotted path)"},
        "rule": {"type": "string", "description": "the rule it broke (machine-readable)"},
        "index": {"type": "integer", "description": "the item of a batch at fault"},
        "position": {"type": "integer", "description": "q syntax errors: 0-based character offset"},
        "limit": {"type": "integer", "description": "413: the largest body accepted [bytes]"},
        "quota": {"type": "string", "description": "429: the rate limit reached (sign-in, ingest)"},
        "retryAfter": {"type": "integer", "description": "429: seconds to wait, as the Retry-After header [s]"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "rule": {"type": "string"}, "message": {"type": "string"},
            "index": {"type": "integer"}}}},
    },
}

_ATTRIBUTES = {"type": "object", "additionalProperties": {}}
_DATE = {"type": "string", "format": "date"}

#: An entity as POST and the batch take it (the same JSON as GET answers, without the server's fields).
ENTITY_SCHEMA: dict[str, Any] = {
    "title": "EntityIn",
    "type": "object",
    "required": ["id", "type"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "description": "urn:ngsi-ld:<Type>:<local id>"},
        "type": {"type": "string", "description": "a registered type, see /api/v1/types"},
        "properties": {**_ATTRIBUTES, "description": "name → {value, unit?, observed_at?} or a bare value"},
        "relationships": {**_ATTRIBUTES, "description": "name → {object: id or [ids]} or the id(s)"},
        "geo": {"type": "object", "additionalProperties": {"type": "object"},
                "description": "name → GeoJSON geometry (lon/lat); the primary one is location"},
        "phase": {"enum": list(PHASES)},
        "phase_since": _DATE,
        "lifecycle": {"type": "array", "items": {"type": "object", "required": ["phase", "since"],
                      "properties": {"phase": {"enum": list(PHASES)}, "since": _DATE}}},
    },
}

#: PATCH /entities/{id}: attributes to add or replace, names to remove, a phase change.
PATCH_SCHEMA: dict[str, Any] = {
    "title": "EntityPatch",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "properties": _ATTRIBUTES,
        "relationships": _ATTRIBUTES,
        "geo": {"type": "object", "additionalProperties": {"type": "object"}},
        "remove": {"type": "array", "items": {"type": "string"}},
        "phase": {"enum": list(PHASES)},
        "phaseSince": {**_DATE, "description": "needs phase"},
    },
}

#: One reading in a JSON batch.
OBSERVATION_SCHEMA: dict[str, Any] = {
    "title": "Observation",
    "type": "object",
    "required": ["entity_id", "attribute", "observed_at", "value"],
    "additionalProperties": False,
    "properties": {
        "entity_id": {"type": "string"},
        "attribute": {"type": "string"},
        "observed_at": {"type": "string", "description": "ISO 8601 with an offset"},
        "value": {"type": "number"},
        "unit": {"type": ["string", "null"]},
    },
}

_WHY: dict[int, str] = {
    400: "malformed JSON or a q expression that does not parse / JSON 或 q 表达式语法错误",
    401: "not signed in: send a bearer token or an API key / 未登录",
    403: "the caller may not do this (a permission, or an approval, is missing) / 无权限或缺少审批",
    404: "no such entity (or none the caller may see) / 实体不存在",
    409: "conflicts with what is stored / 与已存数据冲突",
    413: "body larger than the server accepts / 请求体过大",
    415: "unsupported content type / 不支持的内容类型",
    422: "invalid input, naming the field and the rule; nothing was written / 输入无效，未写入任何数据",
    429: "too many requests; wait as Retry-After says / 请求过于频繁",
    503: "the store is unavailable / 存储不可用",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses, each answered as problem+json."""
    return {s: {"description": _WHY[s], "content": {PROBLEM_MEDIA: {"schema": PROBLEM_SCHEMA}}} for s in statuses}


_BINARY_READINGS = (
    "one row a reading, columns entity_id and attribute (string, large_string or dictionary<string> — a "
    "dictionary is cheapest), observed_at (timestamp with a time zone, any unit; not int64: a typed timestamp "
    "states its unit and epoch; nanoseconds must be whole microseconds), value (float64, float32 or an integer "
    "type), optional unit (string, null = the series' unit); no other columns. A wrong schema or type is a 422 "
    "naming the column and the rule; nothing is written. / 每行一个读数；observed_at 须为带时区的时间戳")


def json_body(schema: dict[str, Any], *, csv: bool = False, binary_readings: bool = False) -> dict[str, Any]:
    """``openapi_extra=`` declaring a required JSON request body (and optionally CSV, and the binary readings
    formats: Arrow IPC stream and Parquet)."""
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string", "description": "header entity_id,attribute,"
                                          "observed_at,value[,unit], then one reading a line"}}
    if binary_readings:
        for media, what in (("application/vnd.apache.arrow.stream", "An Arrow IPC stream (the streaming format)"),
                            ("application/vnd.apache.parquet", "A Parquet file")):
            content[media] = {"schema": {"type": "string", "format": "binary",
                                         "description": f"{what}: {_BINARY_READINGS}"}}
    return {"requestBody": {"required": True, "content": content}}


ENTITY_BODY = json_body(ENTITY_SCHEMA)
BATCH_BODY = json_body({"type": "array", "items": ENTITY_SCHEMA})
PATCH_BODY = json_body(PATCH_SCHEMA)
OBSERVATIONS_BODY = json_body({"type": "array", "items": OBSERVATION_SCHEMA}, csv=True, binary_readings=True)


def answers(status: int, description: str, *media: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for a success status answered with any body in these media types."""
    return {status: {"description": description, "content": {m: {"schema": {}} for m in media}}}


def problem_answers_everywhere(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every operation of an OpenAPI document say that its errors are problem+json, pack routes included.

    FastAPI documents its own 422 body (``HTTPValidationError``, ``application/json``) on every route with
    parameters; this server answers 422 with a problem (``problems.py``), so that entry is replaced. An operation
    that lists no problem answers of its own (a pack's route) gets ``4XX``: any client error is a problem.
    """
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            own = any(PROBLEM_MEDIA in r.get("content", {}) for r in responses.values())
            fastapi_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
            if "HTTPValidationError" in str(fastapi_422.get("schema", {}).get("$ref", "")):
                responses["422"] = problems(422)[422]
            if own:  # every route but /health needs a caller who may: refusals are problems too
                for status in ("401", "403"):
                    responses.setdefault(status, problems(int(status))[int(status)])
            if not own:  # a route that lists no errors of its own (a pack's): any client error is a problem
                responses["4XX"] = {"description": "a client error / 客户端错误",
                                    "content": {PROBLEM_MEDIA: {"schema": PROBLEM_SCHEMA}}}
            elif method in ("post", "put", "patch", "delete") and path.startswith("/api/"):
                # The guard refuses the body types of a cross-site form on every state change (api/guard.py).
                responses.setdefault("415", problems(415)[415])
    return schema
