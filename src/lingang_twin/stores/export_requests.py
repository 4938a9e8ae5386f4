"""Export requests (数据导出审批) in the twin's DuckDB file: the :class:`~lingang_twin.core.exports.ExportRequestStore`
of the embedded store (table ``export_requests``, migration 6).

It shares the store's connection and write lock, so a decision is one transaction like any other write, and a
backup of the twin file carries the approvals with the data they released.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from lingang_twin.core.classification import classifier_for
from lingang_twin.core.errors import ConflictError, NotFoundError, StoreError
from lingang_twin.core.exports import ExportGovernance, ExportRequest, ExportRequestStore, RequestStatus
from lingang_twin.stores.duckdb_store import DuckDBStore

_COLUMNS = ("id", "requester", "reason", "recipient", "legal_basis", "types", "classifications", "requested_at",
            "status", "decided_by", "decided_at", "expires_at", "note")


def _row(row: tuple[Any, ...]) -> ExportRequest:
    d = dict(zip(_COLUMNS, row, strict=True))
    d["types"] = tuple(json.loads(d["types"]))
    d["classifications"] = tuple(json.loads(d["classifications"]))
    return ExportRequest(**d)


class DuckDBExportRequests:
    """Export requests kept in ``store``'s file."""

    def __init__(self, store: DuckDBStore) -> None:
        if store.schema_version < 6:
            raise StoreError("this twin file predates export requests (schema 6); open it writable once "
                             "/ 数据库版本过旧")
        self.store = store

    def add_request(self, request: ExportRequest) -> None:
        """Keep a new request (its id is new: a clash is a ConflictError)."""
        with self.store._tx() as con:
            if con.execute("SELECT 1 FROM export_requests WHERE id = ?", [request.id]).fetchall():
                raise ConflictError(f"export request {request.id} exists already / 申请已存在")
            con.execute(f"INSERT INTO export_requests ({', '.join(_COLUMNS)}) VALUES "
                        f"({', '.join('?' * len(_COLUMNS))})",
                        [request.id, request.requester, request.reason, request.recipient, request.legal_basis,
                         json.dumps(list(request.types)), json.dumps(list(request.classifications)),
                         request.requested_at, request.status, request.decided_by, request.decided_at,
                         request.expires_at, request.note])

    def get_request(self, request_id: str) -> ExportRequest:
        """The request ``request_id`` (NotFoundError if none)."""
        rows = self.store._reader().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM export_requests WHERE id = ?", [request_id]).fetchall()
        if not rows:
            raise NotFoundError("export request", request_id)
        return _row(rows[0])

    def list_requests(self, *, status: str | None = None, requester: str | None = None,
                      limit: int = 1000) -> list[ExportRequest]:
        """Requests, newest first, optionally of one ``status`` or one ``requester``."""
        rows = self.store._reader().execute(
            f"SELECT {', '.join(_COLUMNS)} FROM export_requests WHERE ($status IS NULL OR status = $status) "
            "AND ($requester IS NULL OR requester = $requester) ORDER BY requested_at DESC, id LIMIT $limit",
            {"status": status, "requester": requester, "limit": limit}).fetchall()
        return [_row(r) for r in rows]

    def decide_request(self, request_id: str, *, status: RequestStatus, decided_by: str, decided_at: datetime,
                       expires_at: datetime | None, note: str | None) -> ExportRequest:
        """Record the decision on a pending request in one transaction; ConflictError when it is decided."""
        with self.store._tx() as con:
            rows = con.execute("SELECT status FROM export_requests WHERE id = ?", [request_id]).fetchall()
            if not rows:
                raise NotFoundError("export request", request_id)
            if rows[0][0] != "pending":
                raise ConflictError(f"export request {request_id} is already {rows[0][0]} / 该申请已处理")
            con.execute("UPDATE export_requests SET status = ?, decided_by = ?, decided_at = ?, expires_at = ?, "
                        "note = ? WHERE id = ?", [status, decided_by, decided_at, expires_at, note, request_id])
        return self.get_request(request_id)


def export_requests_for(store: Any) -> ExportRequestStore:
    """The export-request store beside the twin's ``store`` (a DuckDB store keeps them in its own file)."""
    if isinstance(store, DuckDBStore):
        return DuckDBExportRequests(store)
    raise StoreError(f"{type(store).__name__} keeps no export requests / 该存储不支持导出审批")


def governance_for(twin: Any) -> ExportGovernance:
    """The export guard of ``twin``: ``twin.governance`` when the faces set it, else one built now (its
    classifier, :func:`~lingang_twin.core.classification.classifier_for`; requests in its store; the audit log
    ``twin.audit`` looked up at each event, so a sink set later is used) and kept on the twin."""
    found = getattr(twin, "governance", None)
    if isinstance(found, ExportGovernance):
        return found
    made = ExportGovernance(classifier_for(twin), export_requests_for(twin.store),
                            audit=lambda: getattr(twin, "audit", None), clock=twin.clock)
    twin.governance = made
    return made


__all__ = ["DuckDBExportRequests", "export_requests_for", "governance_for"]
