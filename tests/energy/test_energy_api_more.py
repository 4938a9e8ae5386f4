"""The energy routes beyond ``/account``: report (JSON and downloads), quality findings, alerts and intensity —
TestClient over ``create_app(twin, packs=PACKS)`` on a real DuckDB file, answers checked against the library."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from energy_fixtures import BUILDING, CONFIG, DAY, DISTRICT, M_ELEC
from fastapi.testclient import TestClient
from numpy.testing import assert_allclose

from lingang_twin.api import create_app
from lingang_twin.app import PACKS
from lingang_twin.core.findings import alert_id
from lingang_twin.core.twin import Twin
from lingang_twin.energy.efficiency import intensity
from lingang_twin.energy.quality import check_meters

DB = tuple[Path, Twin]
MONTH = f"{DAY:%Y-%m}"
START = "2026-03-01T00:00:00+08:00"
END = "2026-03-04T00:00:00+08:00"


def test_report_json_and_downloads(energy_db: DB) -> None:
    _, twin = energy_db
    app = create_app(twin, packs=PACKS)
    with TestClient(app) as client:
        r = client.get("/api/v1/energy/report", params={"scope": BUILDING, "month": MONTH})
        assert r.status_code == 422 and r.json()["rule"] == "factor-missing"  # water: no factor configured
        client = TestClient(create_app(twin, packs=PACKS, configs={"energy": CONFIG}))  # the deployment's settings
        r = client.get("/api/v1/energy/report", params={"scope": BUILDING, "month": MONTH, "lang": "en"})
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["month"] == MONTH and data["lang"] == "en"
        e = data["account"]["carriers"]["electricity"]
        assert_allclose([e["consumption"], e["kgce"], e["kgco2"]], [1000.0, 122.9, 420.0])
        expected = {"html": ("text/html", b"<"), "xlsx": ("application/vnd.openxmlformats-officedocument."
                                                          "spreadsheetml.sheet", b"PK"),
                    "pdf": ("application/pdf", b"%PDF")}
        for fmt, (media, magic) in expected.items():
            r = client.get("/api/v1/energy/report", params={"scope": BUILDING, "month": MONTH, "format": fmt})
            assert r.status_code == 200, (fmt, r.text[:200])
            assert r.headers["content-type"].startswith(media)
            assert r.headers["content-disposition"] == f'attachment; filename="energy-report-lab-{MONTH}.{fmt}"'
            assert r.content.lstrip().startswith(magic)
        r = client.get("/api/v1/energy/report", params={"scope": BUILDING, "month": MONTH, "format": "html"})
        assert "实验楼" in r.text  # the default language is Chinese
        r = client.get("/api/v1/energy/report", params={"scope": BUILDING, "month": MONTH, "format": "xlsx"})
        assert zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        for params, status, rule in (({"format": "csv"}, 422, "format-unknown"), ({"month": "2026-3"}, 422,
                                                                                 "month-format"),
                                     ({"lang": "fr"}, 422, "lang-unknown")):
            r = client.get("/api/v1/energy/report", params={"scope": BUILDING, "month": MONTH, **params})
            assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
            assert r.json()["rule"] == rule
        r = client.get("/api/v1/energy/report", params={"scope": "urn:ngsi-ld:Building:nope", "month": MONTH})
        assert r.status_code == 404


def test_quality_findings_and_alerts(energy_db: DB) -> None:
    _, twin = energy_db
    from lingang_twin.core.observations import parse_instant

    start, end = parse_instant(START, "start"), parse_instant(END, "end")
    assert start and end
    findings = check_meters(twin, DISTRICT, start, end)
    assert findings, "the fixture's single day leaves gaps in a three-day window"
    with TestClient(create_app(twin, packs=PACKS)) as client:
        r = client.get("/api/v1/energy/quality", params={"scope": DISTRICT, "start": START, "end": END})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == len(findings)
        assert [(f["kind"], f["entity_id"], f["start"]) for f in body["findings"]] == [
            (f.kind, f.entity_id, f.start.isoformat()) for f in findings]
        # A "+" sent unencoded arrives as a space: still understood.
        r = client.get(f"/api/v1/energy/quality?scope={DISTRICT}&start=2026-03-01T00:00:00 08:00&end={END}")
        assert r.status_code == 200 and r.json()["count"] == len(findings)
        r = client.get("/api/v1/energy/quality", params={"scope": DISTRICT, "start": "2026-03-01T00:00:00",
                                                         "end": END})
        assert r.status_code == 422 and r.json()["field"] == "start"
        r = client.get("/api/v1/energy/quality", params={"scope": DISTRICT, "start": END, "end": START})
        assert r.status_code == 422 and r.json()["field"] == "end"
        r = client.get("/api/v1/energy/quality", params={"scope": "urn:ngsi-ld:District:nope", "start": START,
                                                         "end": END})
        assert r.status_code == 404

        r = client.post("/api/v1/energy/quality/alerts", params={"scope": DISTRICT, "start": START, "end": END})
        assert r.status_code == 200, r.text
        ids = r.json()["alerts"]
        assert ids == [alert_id(f) for f in findings]
        alerts = twin.query(types=["Alert"], limit=1000).entities
        assert {a.id for a in alerts} == set(ids)
        assert all(a.target("alertSource") in {f.entity_id for f in findings} for a in alerts)
        r = client.post("/api/v1/energy/quality/alerts", params={"scope": DISTRICT, "start": START, "end": END})
        assert r.json()["alerts"] == ids  # re-running raises nothing new
        assert twin.query(types=["Alert"], limit=1000).total == len(set(ids))


def test_intensity(energy_db: DB) -> None:
    _, twin = energy_db
    twin.upsert([{"id": BUILDING, "type": "Building", "properties": {"name": "实验楼", "floorArea": 2000.0,
                                                                      "use": "office"},
                  "relationships": {"containedIn": DISTRICT}}])
    app = create_app(twin, packs=PACKS)
    with TestClient(app) as client:
        params = {"under": DISTRICT, "start": START, "end": END}
        r = client.get("/api/v1/energy/intensity", params=params)
        assert r.status_code == 422 and r.json()["rule"] == "factor-missing"
        client = TestClient(create_app(twin, packs=PACKS, configs={"energy": CONFIG}))  # the deployment's settings
        r = client.get("/api/v1/energy/intensity", params=params)
        assert r.status_code == 200, r.text
        start, end = DAY.replace(day=1), DAY.replace(day=4)
        table = intensity(twin, start, end, under=DISTRICT, config=CONFIG).to_pylist()
        body = r.json()
        assert_allclose(body["annualise"], 365 / 3)
        assert [b["building"] for b in body["buildings"]] == [row["building"] for row in table]
        lab = next(b for b in body["buildings"] if b["building"] == BUILDING)
        row = next(x for x in table if x["building"] == BUILDING)
        assert_allclose(lab["kgce_per_m2"], row["kgce_per_m2"])
        assert lab["rank_in_use"] == 1
        assert r.json()["buildings"] and client.get("/api/v1/energy/intensity", params={
            "start": START, "end": END}).status_code == 200  # every building of the twin
        r = client.get("/api/v1/energy/intensity", params={**params, "under": "urn:ngsi-ld:Zone:nope"})
        assert r.status_code == 404
        r = client.get("/api/v1/energy/intensity", params={**params, "start": "yesterday"})
        assert r.status_code == 422 and r.json()["field"] == "start"
        r = client.get("/api/v1/energy/account", params={"scope": M_ELEC, "month": MONTH})
        assert r.status_code == 200  # the first route is still there


def test_negative_interval_reading_is_refused_through_the_api(energy_db: DB) -> None:
    """Bad input of the issue: a negative interval reading — 422 naming the field, the rule and the item; the
    batch's other readings are not stored."""
    _, twin = energy_db
    app = create_app(twin, packs=PACKS)
    before = twin.read(M_ELEC, "reading").num_rows
    rows = [{"entity_id": "urn:ngsi-ld:Meter:lab-water", "attribute": "reading",
             "observed_at": "2026-03-05T01:00:00+08:00", "value": 1.5},
            {"entity_id": "urn:ngsi-ld:Meter:lab-water", "attribute": "reading",
             "observed_at": "2026-03-05T02:00:00+08:00", "value": -0.5}]
    with TestClient(app) as client:
        r = client.post("/api/v1/observations", json=rows)
    assert r.status_code == 422
    body = r.json()
    assert (body["field"], body["rule"], body.get("index")) == ("value", "negative-reading", 1)
    assert twin.read("urn:ngsi-ld:Meter:lab-water", "reading", None, None).num_rows == 25  # the fixture's, no more
    assert twin.read(M_ELEC, "reading").num_rows == before


def test_openapi_shows_the_energy_response_schemas(energy_db: DB) -> None:
    """Every JSON route of the pack documents its answer (a named schema, not an untyped object), and the open
    schemas keep what the answers carry beyond the named fields (an account's basis, the report's JSON)."""
    _, twin = energy_db
    app = create_app(twin, packs=PACKS, configs={"energy": CONFIG})  # the deployment's settings, validated once
    with TestClient(app) as client:
        spec = client.get("/openapi.json").json()
        energy = {path: ops for path, ops in spec["paths"].items() if path.startswith("/api/v1/energy/")}
        assert len(energy) == 13, sorted(energy)  # 12, and POST unmetered-loss/alerts (issue 12: a GET never writes)
        for path, ops in energy.items():
            for method, op in ops.items():
                schema = op["responses"]["200"]["content"]["application/json"]["schema"]
                assert "$ref" in schema, (method, path, schema)
        account = spec["components"]["schemas"]["AccountOut"]
        assert {"scope", "carriers", "totals", "basis"} <= set(account["required"])
        r = client.get("/api/v1/energy/account", params={"scope": BUILDING, "month": MONTH})
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["basis"]["main_meters_only"] is True
        assert data["carriers"]["electricity"]["register_resets"] == 0
