"""Enumerated property values and type names in the page's language (issue 9: the Chinese console showed
``use: office``, carriers, end uses and the map's type names in English). The expected words are written out
here, not read from the console's tables, so a missing or wrong entry fails."""

from __future__ import annotations

import re

import pytest
from nicegui import ui
from nicegui.testing import User

from lingang_twin.console import Console
from lingang_twin.console.pages.map import TwinMap

pytestmark = pytest.mark.asyncio


def _labels(user: User) -> set[str]:
    return {el.text for el in user.find(ui.label).elements}


def _office_building(console: Console) -> str:
    return console.twin.query(types=["Building"], q='use=="office"', limit=1).entities[0].id


async def test_entity_page_values_in_chinese_then_english(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    office = _office_building(console)
    await user.open(f"/entity/{office}")
    await user.should_see("用途")  # the property's name …
    await user.should_see("办公")  # … and its value
    assert "office" not in _labels(user)
    user.find("English").click()  # the header's language switch reloads the page
    await user.should_see("Office", retries=600)
    assert "办公" not in _labels(user)


async def test_meter_and_car_park_values_from_the_core_and_the_packs(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    twin = console.twin
    meter = twin.query(types=["Meter"], q='carrier=="electricity";endUse=="main";register=="cumulative"',
                       limit=1).entities[0]
    await user.open(f"/entity/{meter.id}")
    await user.should_see("总表")  # endUse main
    shown = _labels(user)
    assert {"电", "累计读数"} <= shown, shown  # carrier, register
    assert not {"electricity", "main", "cumulative"} & shown
    # A car park's categories come from the mobility pack's words (Pack.words), item by item.
    park = twin.query(types=["OffStreetParking"], limit=1).entities[0]
    assert park.value("category") == ["public", "feeCharged", "parkingGuidance"]
    await user.open(f"/entity/{park.id}")
    await user.should_see("公共, 收费, 停车诱导")
    await user.should_see("小汽车")  # allowedVehicleType car
    # Free text is never looked up: a name stays as written.
    await user.should_see(park.value("name"))


async def test_map_types_and_uses_in_the_page_language(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    office = _office_building(console)
    for lang, building, use, ev, h2 in (("zh", "建筑", "办公", "充电站", "加氢站"),
                                         ("en", "Building", "Office", "EV charging station",
                                          "Hydrogen refuelling station")):
        response = await user.http_client.get(f"/data/map.geojson?lang={lang}")
        props = {f["properties"]["id"]: f["properties"] for f in response.json()["features"]}
        assert props[office]["typeName"] == building and props[office]["use"] == use
        assert props[office]["type"] == "Building"  # the code stays for the page's colours and areas
        zone = next(p for p in props.values() if p["type"] == "Zone")
        assert zone["typeName"] == ("功能片区" if lang == "zh" else "Zone")
        if lang == "en":
            user.find("English").click()
            await user.should_see("District map", retries=600)
        else:
            await user.open("/map")
            await user.should_see("孪生地图")
        leaflet = user.find(TwinMap).elements.pop()
        assert isinstance(leaflet, TwinMap)
        labels = [p["label"] for p in leaflet.overlays["stations"]]
        assert labels and all(label.endswith(f" · {ev}") or label.endswith(f" · {h2}") for label in labels), labels
        assert any(label.endswith(f" · {h2}") for label in labels)


LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("path", ["/3d", "/map"])
async def test_3d_and_map_pages_speak_one_language(console_user: tuple[User, Console], path: str) -> None:
    """Every label of the 3D and map pages (legend, counts, layer names, navigation) is in the page's language:
    no English word in Chinese, no Chinese character in English (building names are not labels here)."""
    user, _ = console_user
    await user.open(path)
    await user.should_see("运营")  # the phase legend
    english = {t for t in _labels(user) if LATIN_WORD.search(t.replace("kWh", ""))}
    assert not english, english
    user.find("English").click()
    await user.should_see("Operation", retries=600)
    chinese = {t for t in _labels(user) if CJK.search(t)}
    assert not chinese, chinese
