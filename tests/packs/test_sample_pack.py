"""A new pack is one folder and no face changes for it: the sample pack (tests/packs/sample_pack, the one
docs/packs.md builds) is installed next to the real ones and shows up everywhere — its tile on the overview, its
layer on the map, its route, its CLI command, its check (listed and run by the generic checks faces), its words
in both languages — with its one setting validated once and handed to each face alike. Also: packs in
dependency order, a missing or circular ``requires`` refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from console_fixtures import simulated_console
from fastapi.testclient import TestClient
from sample_pack import PACK as SAMPLE
from sample_pack import SampleConfig

from lingang_twin.api import create_app
from lingang_twin.app import PACKS, deployment_packs
from lingang_twin.console.pages.map import TwinMap
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.packs import Pack, configure, install, ordered
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings
from lingang_twin.stores.duckdb_store import DuckDBStore

HIVES = [{"id": f"urn:ngsi-ld:Beehive:h{i}", "type": "Beehive",
          "properties": {"name": f"蜂房{i}", "colonies": 3 + i},
          "geo": {"location": {"type": "Point", "coordinates": [121.92 + i / 1000, 30.91]}}} for i in range(2)]
COLONIES = 3 + 4


@pytest.fixture
def hive_db(tmp_path: Path) -> Path:
    path = tmp_path / "hives.duckdb"
    twin = Twin(DuckDBStore(path))
    install(twin, [*PACKS, SAMPLE])
    twin.upsert(HIVES)
    twin.close()
    return path


def test_config_is_validated_once_and_refused_with_the_setting_named() -> None:
    installed = configure([*PACKS, SAMPLE], {"sample": {"kg_per_colony": 30}})
    assert installed.config("sample") == SampleConfig(kg_per_colony=30)
    assert installed.config("energy") is None  # nothing given: the pack's own fallback
    with pytest.raises(ValidationError) as bad:
        configure([SAMPLE], {"sample": {"kg_per_colony": -1}})
    assert bad.value.field.startswith("sample_config")
    with pytest.raises(ValidationError, match="not loaded"):
        configure([SAMPLE], {"nosuch": {}})


def test_packs_install_in_dependency_order_and_refuse_missing_or_circular() -> None:
    def pack(name: str, *requires: str) -> Pack:
        return Pack(name, (name, name), lambda twin: None, requires=requires)

    a, b, c = pack("a", "b"), pack("b", "c"), pack("c")
    assert [p.name for p in ordered([a, b, c])] == ["c", "b", "a"]
    with pytest.raises(ValidationError, match="requires pack 'c'"):
        ordered([a, b])
    with pytest.raises(ValidationError, match="cycle: x → y → x"):
        ordered([pack("x", "y"), pack("y", "x")])


def test_its_route_answers_with_the_deployments_setting(hive_db: Path) -> None:
    twin = Twin(DuckDBStore(hive_db))
    install(twin, [*PACKS, SAMPLE])
    with TestClient(create_app(twin, packs=[*PACKS, SAMPLE], configs={"sample": {"kg_per_colony": 10}})) as c:
        r = c.get("/api/v1/sample/honey")
        assert r.status_code == 200 and r.json() == {"kg": COLONIES * 10.0}
        assert "/api/v1/sample/honey" in c.get("/openapi.json").json()["paths"]
    twin.close()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process, with the sample pack importable (as an installed pack would be)."""
    path = os.pathsep.join([str(Path(__file__).parent), str(Path(__file__).parents[2] / "src")])
    return subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": path, **env})


def test_its_cli_command_runs_under_the_cli(hive_db: Path) -> None:
    """A deployment adds the pack by naming it (LINGANG_PACKS), with its setting in LINGANG_<PACK>_CONFIG: the CLI
    mounts its command group and hands it the validated setting — no face and no platform file edited."""
    config = hive_db.with_name("sample.json")
    config.write_text('{"kg_per_colony": 2}', encoding="utf-8")
    result = _cli(["sample", "honey", "--db", str(hive_db)],
                  {"LINGANG_PACKS": '["sample_pack:PACK"]', "LINGANG_SAMPLE_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f'{{"kg": {COLONIES * 2.0}}}'


@pytest.mark.parametrize(("value", "rule", "says"), [
    ("sample_pack", "pack-name", "is not 'module:attribute'"),
    ("no_such_module:PACK", "pack-import", "cannot be loaded"),
    ("sample_pack:NOPE", "pack-import", "cannot be loaded"),
    ("sample_pack:SampleConfig", "not-a-pack", "SampleConfig, not a lingang_twin.core.packs.Pack"),
])
def test_a_pack_name_that_does_not_load_is_refused_naming_the_setting(value: str, rule: str, says: str) -> None:
    with pytest.raises(ValidationError) as err:
        deployment_packs(Settings(packs=["sample_pack:PACK", value]))
    assert (err.value.field, err.value.rule, err.value.index) == ("packs", rule, 1) and says in str(err.value)


def test_the_cli_refuses_a_bad_pack_name_in_one_line() -> None:
    result = _cli(["--help"], {"LINGANG_PACKS": '["sample_pack:SampleConfig"]'})
    assert result.returncode == 2
    assert "item 0: packs: " in result.stderr and "not a lingang_twin.core.packs.Pack" in result.stderr
    assert "Traceback" not in result.stderr


def test_its_check_is_listed_and_runs_on_the_api_and_the_cli(hive_db: Path) -> None:
    import json

    twin = Twin(DuckDBStore(hive_db))
    install(twin, [*PACKS, SAMPLE])
    twin.upsert([{"id": "urn:ngsi-ld:Beehive:empty", "type": "Beehive", "properties": {"name": "空房", "colonies": 0}}])
    start, end = "2026-05-01T00:00:00+08:00", "2026-05-02T00:00:00+08:00"
    with TestClient(create_app(twin, packs=[*PACKS, SAMPLE])) as c:
        listed = {d["name"]: d for d in c.get("/api/v1/checks").json()["data"]}
        assert listed["empty_hives"]["pack"] == "sample"
        assert listed["empty_hives"]["label"] == {"zh": "空蜂房", "en": "Empty beehives"}
        assert listed["empty_hives"]["window"]["hours"] == 24 and not listed["empty_hives"]["window"]["wholeDays"]
        assert listed["meter_quality"]["pack"] == "energy"  # the real packs' checks stay beside it
        r = c.post("/api/v1/checks/empty_hives:run", params={"start": start, "end": end})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [(f["kind"], f["entity_id"], f["start"]) for f in body["findings"]] == [
            ("empty_hive", "urn:ngsi-ld:Beehive:empty", start)]
        assert body["pack"] == "sample" and body["alerts"] is None
    twin.close()

    deployment = {"LINGANG_PACKS": '["sample_pack:PACK"]'}  # as a deployment adds the pack
    listed_cli = _cli(["checks", "list"], deployment)
    assert listed_cli.returncode == 0, listed_cli.stderr
    assert "empty_hives\tsample\t空蜂房 / Empty beehives\t最近 24 小时 / the last 24 h" in listed_cli.stdout
    ran = _cli(["checks", "run", "empty_hives", "--db", str(hive_db), "--start", start, "--end", end], deployment)
    assert ran.returncode == 0, ran.stderr
    assert [f["entity_id"] for f in json.loads(ran.stdout)["findings"]] == ["urn:ngsi-ld:Beehive:empty"]


@pytest.mark.asyncio
async def test_its_tile_layer_and_words_on_the_console_in_both_languages(hive_db: Path) -> None:
    twin = Twin(DuckDBStore(hive_db))
    install(twin, [*PACKS, SAMPLE])
    installed = configure([*PACKS, SAMPLE], {"sample": {"kg_per_colony": 10}})
    try:
        async with simulated_console(twin, installed) as (user, _):
            await user.open("/")
            await user.should_see("蜂群")  # the tile's title …
            await user.should_see("2 个蜂房，年产蜜约 70 kg")  # … and its figures, with the deployment's setting
            label = next(iter(user.find(marker="colonies").elements))
            assert label.text == f"{COLONIES}"  # type: ignore[attr-defined]
            await user.open("/map")
            await user.should_see("蜂房")  # the layer's toggle
            leaflet = user.find(TwinMap).elements.pop()
            assert isinstance(leaflet, TwinMap)
            hives = {p["id"]: p for p in leaflet.overlays["hives"]}
            assert hives["urn:ngsi-ld:Beehive:h1"]["label"] == "蜂房1：4 群"
            await user.open("/entity/urn:ngsi-ld:Beehive:h0")
            await user.should_see("蜂群数")  # its property's words
            user.find("English").click()
            await user.should_see("Colonies", retries=600)
            await user.open("/")
            await user.should_see("Bee colonies")
            await user.should_see("2 hives, about 70 kg of honey a year")
    finally:
        twin.close()
