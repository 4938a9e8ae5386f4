"""The entity list pages through every entity (page size, total, previous / next) with a last-seen column, and
reads in Chinese — over the demo twin, each figure checked against the twin read another way."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from nicegui import ui
from nicegui.testing import User

from lingang_twin.console import Console
from lingang_twin.core.twin import SHANGHAI

pytestmark = pytest.mark.asyncio


def page_ids(user: User) -> list[str]:
    grid = user.find(marker="entities-grid").elements.pop()
    return [unquote(e.props["href"]).rsplit("/entity/", 1)[-1] for e in grid.descendants()
            if isinstance(e, ui.link)]


async def test_paging_through_every_entity(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    twin = console.twin
    everything = sorted(twin.query_all(), key=lambda e: (e.type, e.id))  # the order, worked out here
    total = len(everything)
    assert total == twin.store.count_entities() > 1000
    await user.open("/entities")
    await user.should_see(f"共 {total} 个，显示第 1–50 个")
    pages = -(-total // 50)
    await user.should_see(f"第 1 / {pages} 页")
    assert page_ids(user) == [e.id for e in everything[:50]]
    user.find(marker="page-next").click()
    await user.should_see(f"共 {total} 个，显示第 51–100 个")
    assert page_ids(user) == [e.id for e in everything[50:100]]
    user.find(marker="page-prev").click()
    await user.should_see("显示第 1–50 个")
    # A link to the last page at another size: the remainder, and no next page.
    await user.open(f"/entities?page={-(-total // 200)}&size=200")
    first = (total - 1) // 200 * 200
    await user.should_see(f"共 {total} 个，显示第 {first + 1}–{total} 个")
    assert page_ids(user) == [e.id for e in everything[first:]]
    assert not user.find(marker="page-next").elements.pop().enabled
    # A hand-edited link with nonsense gets the first page at the default size, not an error.
    await user.open("/entities?page=abc&size=7")
    await user.should_see(f"共 {total} 个，显示第 1–50 个")
    # A search pages too: the meters, by type name.
    meters = [e.id for e in everything if e.type == "Meter"]
    await user.open("/entities?q=Meter&page=2&size=25")
    await user.should_see(f"共 {len(meters)} 个，显示第 26–50 个")
    assert page_ids(user) == meters[25:50]


async def test_last_seen_is_the_newest_reading_of_any_series(console_user: tuple[User, Console]) -> None:
    user, console = console_user
    twin = console.twin
    await user.open("/entities?type=OffStreetParking")
    await user.should_see("最近观测")
    ids = page_ids(user)
    assert len(ids) == 7
    grid = user.find(marker="entities-grid").elements.pop()
    labels = [e.text for e in grid.descendants() if isinstance(e, ui.label)]  # type: ignore[attr-defined]
    for entity_id in ids:
        # Oracle: every raw reading of every series of the entity, newest taken here.
        newest = max(max(twin.read(entity_id, attribute).column("observed_at").to_pylist())
                     for attribute in twin.store.series_of(entity_id))
        assert f"{newest.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" in labels, entity_id
    # An entity without any series says so.
    await user.open("/entities?type=Zone")
    await user.should_see("无观测")


async def test_types_and_properties_read_in_chinese(console_user: tuple[User, Console]) -> None:
    user, _ = console_user
    await user.open("/entities?type=Building&size=25")
    await user.should_see("建筑")
    grid = user.find(marker="entities-grid").elements.pop()
    labels = {e.text for e in grid.descendants() if isinstance(e, ui.label)}  # type: ignore[attr-defined]
    assert "建筑" in labels and "Building" not in labels
    await user.open("/entity/urn:ngsi-ld:OffStreetParking:chuangjing")
    await user.should_see("车位总数")  # totalSpotNumber, a word the mobility pack brings
    user.find("English").click()
    await user.should_see("Total spots")
    await user.open("/entities?type=Building&size=25")
    await user.should_see("Building")
