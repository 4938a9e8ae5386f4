"""Alerts from data-quality findings (告警): one FIWARE ``Alert`` entity per :class:`~.quality.Finding`.

An alert follows the Smart Data Model ``Alert``: ``category`` (``anomaly``), ``subCategory`` (the finding's kind,
e.g. ``water_leak``), ``severity``, ``description`` (中文) and ``descriptionEn``, ``dateIssued``, ``validFrom`` /
``validTo`` (the affected readings), ``status`` (``open`` when raised) and the ``alertSource`` relationship to the
meter (or station). The finding's numbers travel in ``evidence``.

The id is derived from kind, meter and start, so checking the same period again raises nothing new: an alert that
exists already is left exactly as it is (an operator may have acknowledged or closed it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lingang_twin.core.twin import Twin
from lingang_twin.energy.jsonable import jsonable
from lingang_twin.energy.quality import Finding

ALERT_CATEGORY = "anomaly"


def alert_id(finding: Finding) -> str:
    """The deterministic id of the alert of ``finding`` (kind + meter + start)."""
    key = f"{finding.kind}|{finding.entity_id}|{finding.start.astimezone(UTC).isoformat()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return f"urn:ngsi-ld:Alert:{finding.kind.replace('_', '-')}-{digest}"


def alert_entity(finding: Finding, issued: datetime) -> dict[str, Any]:
    """The ``Alert`` entity (as a mapping for :meth:`Twin.upsert`) of one finding."""
    return {
        "id": alert_id(finding),
        "type": "Alert",
        "properties": {
            "category": ALERT_CATEGORY,
            "subCategory": finding.kind,
            "severity": finding.severity,
            "description": finding.detail_zh,
            "descriptionEn": finding.detail_en,
            "dateIssued": issued.astimezone(UTC).isoformat(),
            "validFrom": finding.start.isoformat(),
            "validTo": finding.end.isoformat(),
            "status": "open",
            "evidence": {"value": jsonable(finding.evidence)},  # a bare mapping would read as a property
        },
        "relationships": {"alertSource": finding.entity_id},
    }


def raise_alerts(twin: Twin, findings: Iterable[Finding], *, now: datetime | None = None) -> list[str]:
    """Store one open ``Alert`` per finding and return their ids, in the order of ``findings``.

    Alerts that exist already (same kind, meter and start) are not written again, so re-running a check does not
    duplicate or reopen anything. All new alerts are written in one all-or-nothing upsert.
    """
    findings = list(findings)
    issued = now or datetime.now(UTC)
    ids = [alert_id(f) for f in findings]
    existing = twin.existing(sorted(set(ids)))
    new: dict[str, dict[str, Any]] = {}
    for f, i in zip(findings, ids, strict=True):
        if i not in existing and i not in new:
            new[i] = alert_entity(f, issued)
    if new:
        twin.upsert(list(new.values()))
    return ids


__all__ = ["ALERT_CATEGORY", "alert_entity", "alert_id", "raise_alerts"]
