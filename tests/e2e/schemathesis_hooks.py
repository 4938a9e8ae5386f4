"""Schemathesis hooks for ``test_api_schemathesis.py``: mix real ids of the served twin into generated requests.

Loaded by the ``schemathesis`` command through ``SCHEMATHESIS_HOOKS``; the ids come from ``LINGANG_ST_IDS``
(comma-separated) and the meter that has readings from ``LINGANG_ST_METER``. Random strings alone would only
ever meet 404s and unknown-entity refusals; with real ids the routes' deeper paths (reads, patches, deletes,
ingest into a real series) are fuzzed too. Each hook keeps the generated value as one of its choices.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

IDS = [i for i in os.environ.get("LINGANG_ST_IDS", "").split(",") if i]
METER = os.environ.get("LINGANG_ST_METER", "")
PARENT = os.environ.get("LINGANG_ST_PARENT", "")


def _is(context: Any, method: str, path: str) -> bool:
    op = context.operation
    return op is not None and op.method.upper() == method and op.path == path


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy:
    if not isinstance(path_parameters, dict) or "entity_id" not in path_parameters or not IDS:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters),
                     st.sampled_from(IDS).map(lambda i: {**path_parameters, "entity_id": i}))


@schemathesis.hook
def flatmap_query(context: Any, query: dict[str, Any]) -> st.SearchStrategy:
    if not isinstance(query, dict) or not IDS:
        return st.just(query)
    keys = [k for k in ("entity_id", "under") if k in query]
    if not keys:
        return st.just(query)
    real = st.fixed_dictionaries({k: st.sampled_from(IDS) for k in keys}).map(lambda d: {**query, **d})
    reading = st.just({**query, "entity_id": METER, "attribute": "reading"}) if METER and "entity_id" in keys \
        else st.nothing()
    return st.one_of(st.just(query), real, reading)


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy:
    if _is(context, "POST", "/api/v1/observations") and isinstance(body, list) and METER:
        real = [{**r, "entity_id": METER, "attribute": "reading"} if isinstance(r, dict) else r for r in body]
        return st.one_of(st.just(body), st.just(real))
    if _is(context, "POST", "/api/v1/entities") and isinstance(body, dict) and PARENT:
        # A plausible new building under a real parcel, keeping whatever properties were generated.
        building = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12).map(
            lambda local: {**body, "id": f"urn:ngsi-ld:Building:{local}", "type": "Building",
                           "relationships": {"containedIn": {"object": PARENT}}, "geo": {}})
        return st.one_of(st.just(body), building)
    return st.just(body)
