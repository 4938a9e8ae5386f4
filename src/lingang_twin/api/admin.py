"""``/api/v1/admin``: operations on the running twin's file — a consistent backup while the server runs.

A DuckDB file is opened by one process, so an operator next to a live server cannot open it: the server makes the
snapshot itself (:meth:`~lingang_twin.stores.duckdb_store.DuckDBStore.backup`) and sends it back; ``lingang-twin
db backup DEST --server URL`` is the client. They need ``store:admin`` (the administrator) and, besides, answer
only clients on this machine (loopback).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import orjson
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from lingang_twin.api.deps import TwinDep, requires
from lingang_twin.api.problems import ProblemError

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
LOOPBACK = frozenset(("127.0.0.1", "::1", "localhost"))


def _local_only(request: Request) -> None:
    host = request.client.host if request.client else ""
    if host not in LOOPBACK:
        raise ProblemError(403, "Forbidden / 禁止访问", "admin routes answer only clients on the server's own "
                           "machine until accounts exist / 管理接口目前仅限本机访问", "admin-local-only")


@router.post("/backup", summary="A consistent backup of the twin file / 数据库一致性备份",
             response_class=FileResponse,
             responses={200: {"content": {"application/octet-stream": {}},
                              "description": "a DuckDB file holding the whole twin"},
                        403: {"description": "not from this machine, or not an administrator"},
                        501: {"description": "the store cannot make a backup file (e.g. in memory)"}},
             dependencies=[requires("store:admin")])
def backup(request: Request, twin: TwinDep) -> Response:
    """Snapshot the twin under the store's write lock (writes wait, reads go on) into a new DuckDB file and send
    it. The file opens with ``lingang-twin serve --db`` as it is, or goes back with ``lingang-twin db restore``."""
    _local_only(request)
    make = getattr(twin.store, "backup", None)
    store_path = getattr(twin.store, "path", ":memory:")
    if make is None or store_path == ":memory:":
        raise ProblemError(501, "Not implemented / 不支持", "this store has no file to back up / 该存储无法备份",
                           "backup-unsupported")
    # Beside the twin's file: the same file system, which holds the twin, holds its copy.
    folder = Path(tempfile.mkdtemp(prefix=".lingang-backup-", dir=Path(store_path).parent))
    target = folder / "twin-backup.duckdb"
    try:
        count = make(target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(target, media_type="application/octet-stream", filename="lingang-twin-backup.duckdb",
                        headers={"X-Lingang-Entities": str(count)},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


@router.post("/compact", summary="Compact the newest readings now / 立即整理最新读数",
             responses={403: {"description": "not from this machine, or not an administrator"}},
             dependencies=[requires("store:admin")])
def compact(request: Request, twin: TwinDep) -> Response:
    """Rewrite the readings that arrived since the last compaction in (series, time) order now, instead of
    waiting for the store's own trigger (``LINGANG_COMPACT_ROWS``); answers how many were rewritten. One
    transaction: a crash meanwhile leaves the table as it was."""
    _local_only(request)
    run = getattr(twin.store, "compact", None)
    rows = int(run()) if run is not None else 0
    return Response(orjson.dumps({"compacted": rows}), media_type="application/json")
