"""The proof of issue 10: schemathesis against the OpenAPI of a real server process over a small twin.

``schemathesis run`` (its own command, as integrators use it) generates requests from the served OpenAPI — bodies
included, with real ids mixed in by ``schemathesis_hooks.py`` — through its examples, coverage, fuzzing and
stateful phases, and checks every answer: no 5xx, every status, content type, header and body as the schema
declares, schema-violating requests refused, unsupported methods answered 405 with ``Allow``. Bounded: at most
``MAX_EXAMPLES`` per operation and phase and ``MAX_TIME`` seconds of generation (a few thousand requests).

Signed in (issue 12): as the administrator the server's first start printed, through the OAuth2 password flow;
the bearer token goes with every request schemathesis sends, the OpenAPI fetch included (``/openapi.json`` is for
``docs:read``). Without it every operation would only meet 401.

One check is left out, ``positive_data_acceptance``: it expects every schema-valid request to succeed, but no
JSON Schema can say that a relationship target must exist or that a type must be registered, so valid-looking
bodies are rightly refused with 422.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest

from lingang_fixtures import M_ELEC, PARCEL, lingang_layout
from lingang_twin.app import open_twin

MAX_EXAMPLES = 40
MAX_TIME = 60  # seconds of generation; the whole test stays near 90 s on a busy 2-core machine
CHECKS_LEFT_OUT = "positive_data_acceptance"
OPERATIONS = r"^/(health|api/v1/(types|entities|observations))"


def seed(db: Path) -> list[str]:
    """The small Lingang layout with two days of hourly readings on one meter; returns every id."""
    twin = open_twin(db)
    layout = lingang_layout()
    twin.upsert(layout)
    cst = timezone(timedelta(hours=8))
    twin.append([{"entity_id": M_ELEC, "attribute": "reading", "value": 100.0 + h,
                  "observed_at": datetime(2026, 11, 1, tzinfo=cst) + timedelta(hours=h)} for h in range(48)])
    twin.close()
    return [e["id"] for e in layout]


@pytest.mark.skipif(shutil.which("schemathesis", path=str(Path(sys.executable).parent)) is None,
                    reason="schemathesis is not installed (pip install -e .[test])")
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path: Path,
                                                                   server_factory: Callable[..., object]) -> None:
    ids = seed(tmp_path / "e2e.duckdb")
    server = server_factory(tmp_path / "e2e.duckdb").start()  # type: ignore[attr-defined]
    auth = server.auth()  # type: ignore[attr-defined]
    junit = tmp_path / "junit.xml"
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{server.url}/openapi.json",
           "--header", f"Authorization: {auth['Authorization']}",
           "--checks", "all", "--exclude-checks", CHECKS_LEFT_OUT, "--continue-on-failure", "--no-shrink",
           "--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_TIME), "--include-path-regex", OPERATIONS,
           "--request-timeout", "30", "--seed", "20261203", "--report", "junit", "--report-junit-path", str(junit)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]),
           "LINGANG_ST_IDS": ",".join(ids), "LINGANG_ST_METER": M_ELEC, "LINGANG_ST_PARENT": PARCEL,
           "NO_COLOR": "1"}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert "Test cases:" in run.stdout, report  # it ran to its summary
    generated = int(run.stdout.split("Test cases:")[1].split("generated")[0].strip().replace(",", ""))
    assert generated >= 500, report  # enough requests to mean something
    assert run.returncode == 0, report
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    failed = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    assert not failed, report
    assert "Traceback" not in server.output(), server.output()[-3000:]  # type: ignore[attr-defined]
