"""Findings and the alerts they raise (发现与告警): what every pack's checks produce, and one way to store them.

A :class:`Finding` is one problem a check found: its ``kind`` (the check's machine name, e.g. ``water_leak``), its
subject (``entity_id``, the meter or station it concerns), the readings it affects (``start`` … ``end``), its
``severity`` (one of :data:`SEVERITIES`), a sentence in 中文 and English, and the numbers behind it (``evidence``).

An alert follows the Smart Data Model ``Alert``: ``category`` (``anomaly``), ``subCategory`` (the finding's kind),
``severity``, ``description`` (中文) and ``descriptionEn``, ``dateIssued``, ``validFrom`` / ``validTo`` (the
affected readings), ``status`` (``open`` when raised) and the ``alertSource`` relationship to the subject. The
finding's numbers travel in ``evidence``.

The id is derived from kind, subject and start, so checking the same period again raises nothing new: an alert that
exists already is left exactly as it is (an operator may have acknowledged or closed it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from lingang_twin.core.jsonable import jsonable
from lingang_twin.core.types import NamedProperties

if TYPE_CHECKING:
    from lingang_twin.core.twin import Twin

ALERT_CATEGORY = "anomaly"
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high"), "critical": ("严重", "critical")}
"""Severity → (中文, English)."""


@dataclass(frozen=True)
class Finding:
    """One problem of ``entity_id`` (the subject) affecting the readings with ``start <= observed_at < end``.

    ``kind`` is the check's name (a pack lists its kinds), ``severity`` one of :data:`SEVERITIES`; ``evidence``
    holds the numbers behind it (made JSON-able when stored)."""

    kind: str
    entity_id: str
    start: datetime
    end: datetime
    severity: str
    detail_zh: str
    detail_en: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """The entity the finding is about (its ``entity_id``)."""
        return self.entity_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"kind": self.kind, "entity_id": self.entity_id, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "severity": self.severity, "detail_zh": self.detail_zh,
                "detail_en": self.detail_en, "evidence": self.evidence}


class AlertProperties(NamedProperties):
    """An ``Alert`` (FIWARE Smart Data Model); open like every type, its attributes are those of
    :func:`alert_entity`."""


class FindingOut(BaseModel):
    """A :class:`Finding` as JSON answers carry it (the one response schema of every face and pack that answers
    findings): kind, subject, the readings it affects (``start <= observed_at < end``, ISO 8601), severity, a
    sentence in 中文 and English, and the numbers behind it. Open: answers may carry more."""

    model_config = ConfigDict(extra="allow")

    kind: str
    entity_id: str
    start: str
    end: str
    severity: str
    detail_zh: str
    detail_en: str
    evidence: dict[str, Any]


def register_alert_type(twin: Twin) -> None:
    """Register the ``Alert`` type on ``twin`` (idempotent)."""
    if "Alert" not in twin.types:
        twin.register_type("Alert", AlertProperties, series={}, label=("告警", "Alert"), smart_data_model="Alert")


def alert_id(finding: Finding) -> str:
    """The deterministic id of the alert of ``finding`` (kind + subject + start)."""
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

    Alerts that exist already (same kind, subject and start) are not written again, so re-running a check does not
    duplicate or reopen anything. All new alerts are written in one all-or-nothing upsert. The ``Alert`` type is
    registered first if the twin does not know it yet.
    """
    findings = list(findings)
    register_alert_type(twin)
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


__all__ = ["ALERT_CATEGORY", "SEVERITIES", "SEVERITY_LABELS", "AlertProperties", "Finding", "alert_entity",
           "alert_id", "raise_alerts", "register_alert_type"]
