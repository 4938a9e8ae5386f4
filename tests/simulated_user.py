"""NiceGUI's simulated user, patient: CI is a busy 2-core box, so a page may take seconds to answer a click.

``should_see`` retries every 0.1 s for up to a minute (NiceGUI's default gives up after 0.3 s, which failed on a busy
machine); it returns as soon as the text is there, so a passing test waits no longer than the page needs.
``should_not_see`` keeps NiceGUI's meaning (passes once the text is absent) with the same patience."""

from __future__ import annotations

from typing import Any

from nicegui.testing import User

PATIENCE_RETRIES = 600  # × 0.1 s: a minute for a page to show what a test waits for


class PatientUser(User):
    """A :class:`nicegui.testing.User` whose waits last up to a minute by default."""

    async def should_see(self, target: Any = None, *, kind: Any = None, marker: Any = None,  # type: ignore[override]
                         content: Any = None, retries: int = PATIENCE_RETRIES) -> None:
        await super().should_see(target, kind=kind, marker=marker, content=content, retries=retries)

    async def should_not_see(self, target: Any = None, *, kind: Any = None,  # type: ignore[override]
                             marker: Any = None, content: Any = None, retries: int = PATIENCE_RETRIES) -> None:
        await super().should_not_see(target, kind=kind, marker=marker, content=content, retries=retries)
