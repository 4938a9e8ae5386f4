"""``lingang-twin export --recipient`` and ``lingang-twin exports request|approve|reject|list``, run as real
processes over a DuckDB file. The CLI acts as ``cli:<OS user>``: the OS user (LOGNAME) is who asks and who
approves, and they must differ."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from governance_fixtures import PLATE, Clock, ListAuditSink, open_governed


def run(*args: str, user: str = "alice", check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOGNAME": user, "USER": user}
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def db(tmp_path: Path) -> Path:
    open_governed(tmp_path, ListAuditSink(), Clock()).close()
    return tmp_path / "twin.duckdb"


def test_request_approve_by_someone_else_then_export(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet.geojson"
    refused = run("export", str(out), "--db", str(db), "--type", "Vehicle", "--recipient", "Acme GmbH", check=False)
    assert refused.returncode == 2 and "approv" in refused.stderr and not out.exists()

    asked = run("exports", "request", "--db", str(db), "--recipient", "Acme GmbH", "--reason", "fleet study",
                "--legal-basis", "standard-contract", "--type", "Vehicle", "--classification", "personal").stdout
    request_id = re.search(r"exp-[0-9a-f]{12}", asked).group(0)  # type: ignore[union-attr]
    own = run("exports", "approve", request_id, "--db", str(db), check=False)
    assert own.returncode == 2 and "own" in own.stderr
    assert "approved" in run("exports", "approve", request_id, "--db", str(db), "--days", "7", user="bob").stdout
    listed = run("exports", "list", "--db", str(db), "--status", "approved").stdout
    assert request_id in listed and "cli:bob" in listed

    run("export", str(out), "--db", str(db), "--type", "Vehicle", "--recipient", "Acme GmbH", "--approval",
        request_id)
    props = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert props["vehiclePlateIdentifier"] == PLATE  # the machine's operator holds every permission


def test_a_bad_request_exits_2_naming_the_field(db: Path) -> None:
    proc = run("exports", "request", "--db", str(db), "--recipient", "Acme", "--reason", "x", "--legal-basis",
               "because", "--type", "Vehicle", "--classification", "personal", check=False)
    assert proc.returncode == 2 and "legal_basis" in proc.stderr
    assert run("exports", "list", "--db", str(db)).stdout.strip() == ""


def test_help_has_an_example() -> None:
    for sub in ("request", "approve", "reject", "list"):
        assert "Example" in run("exports", sub, "--help").stdout
