"""The README is a test: every shell command in its ```bash blocks runs, exactly as written, against a real
``lingang-twin demo`` process and gives a sensible answer.

Set-up: a demo with :data:`HISTORY_DAYS` of history on a free port, ``$B`` set to its URL, ``lingang-twin`` on
``PATH`` (this checkout's code), each command in its own ``bash -c`` in one temporary directory (so files one
command writes are there for the next, as for a reader). Skipped: the two set-up scripts (``scripts/demo.sh``,
``scripts/test.sh``) and the long-running ``serve`` / ``demo`` lines, whose ``--help`` is run instead.

Every command must exit 0, must not answer with a problem+json (except the one the README shows as bad input), and
must pass the check :data:`CHECKS` names for it; a README command without a check fails the test, so a new line in
the README comes with its check. "Energy today" is compared hour by hour with an oracle computed here from the
main meters' raw readings (sums of interval readings, differences of cumulative ones) — not through the store's
aggregates — and must lie in a range plausible for the district.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

import lingang_twin

README = Path(__file__).resolve().parents[2] / "README.md"
HISTORY_DAYS = 45  # the savings line's baseline starts 40 days ago; everything else needs a few days
SHANGHAI = ZoneInfo("Asia/Shanghai")
SETUP_SCRIPTS = ("bash scripts/demo.sh", "bash scripts/test.sh")
LONG_RUNNING = re.compile(r"^lingang-twin (serve|demo)(\s|$)(?!build)")
# What one hour of the whole district plausibly uses, per carrier [canonical unit / h]: a few km² of labs, offices
# and towers. Summing cumulative register values instead of their deltas gives ~1e9 kWh per hour.
PLAUSIBLE_PER_HOUR = {"electricity": (1e3, 5e5), "water": (1.0, 1e4), "natural_gas": (0.1, 1e4),
                      "diesel": (0.0, 1e3), "hydrogen": (0.0, 1e3)}


def commands(text: str) -> list[str]:
    """The shell commands of the README's ```bash blocks: comment-only lines dropped, lines continued with a
    backslash or inside an open quote joined, as bash would read them."""
    found: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        pending = ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending = f"{pending}\n{line}" if pending else line
            if pending.endswith("\\"):
                continue
            try:
                shlex.split(pending, comments=True)
            except ValueError:  # an open quote: the command goes on on the next line
                continue
            found.append(pending)
            pending = ""
        assert not pending, f"unfinished command in README: {pending!r}"
    return found


@dataclass
class Run:
    """One command's run: what it printed, its exit code, the directory it ran in, the demo's URL."""

    command: str
    stdout: str
    stderr: str
    returncode: int
    cwd: Path
    url: str
    seen: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.stdout)


def is_problem(text: str) -> bool:
    """Whether ``text`` is an RFC 9457 problem document."""
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and {"title", "status"} <= body.keys() and isinstance(body.get("status"), int)


def shanghai_month() -> str:
    return f"{datetime.now(SHANGHAI):%Y-%m}"


def day_just_began() -> bool:
    """Within the first hour of a Shanghai day "today" (and on the 1st, "this month") may hold no reading yet:
    the checks then accept empty figures instead of depending on the hour the suite runs at."""
    return datetime.now(SHANGHAI).hour == 0


# ---- the checks, one per README command (matched by a regular expression on the command) ----

def check_health(r: Run) -> None:
    body = r.json()
    assert body["status"] == "ok" and body["entities"] >= 1500, body


def check_types(r: Run) -> None:
    names = {line.split()[0] for line in r.stdout.splitlines()}
    assert {"District", "Building", "Meter", "Enterprise", "HydrogenStation"} <= names, names
    meter = next(line for line in r.stdout.splitlines() if line.startswith("Meter "))
    assert "'reading'" in meter, meter


def check_labs(r: Run) -> None:
    data = r.json()["data"]
    areas = [e["properties"]["floorArea"]["value"] for e in data]
    assert 1 <= len(data) <= 3 and all(e["properties"]["use"]["value"] == "lab" for e in data), data
    assert areas == sorted(areas, reverse=True), areas


def check_meters_under(r: Run) -> None:
    data = r.json()["data"]
    assert 1 <= len(data) <= 5 and {e["type"] for e in data} == {"Meter"}, data


def check_near(r: Run) -> None:
    body = r.json()
    assert body["count"] >= 1 and body["data"], body


def check_as_of(r: Run) -> None:
    data = r.json()["data"]
    assert len(data) <= 3 and all(e["type"] == "Building" for e in data), data


def check_hourly(r: Run) -> None:
    """"Energy today" (agg=consumption, per carrier and hour) against the oracle from raw readings, and within the
    plausible range."""
    body = r.json()
    assert body["bucket"] == "hour" and body["count"] == len(body["data"]), body
    r.seen.setdefault("hourly", []).append(body)
    total: dict[tuple[str, str], float] = defaultdict(float)
    for answer in r.seen["hourly"]:
        for row in answer["data"]:
            total[(row["group"], _hour(row["bucket"]))] += row["value"]
    if not total and day_just_began():
        return
    assert total, "no readings today"
    oracle = oracle_hourly(r.url)
    latest = max(h for _, h in oracle)
    for (carrier, hour), value in total.items():
        low, high = PLAUSIBLE_PER_HOUR[carrier]
        assert low <= value <= high, (carrier, hour, value)
        if hour < latest:  # the running hour still grows while the live simulator writes
            assert value == pytest.approx(oracle[(carrier, hour)], rel=1e-6, abs=1e-6), (carrier, hour)
    complete = {k for k in oracle if k[1] < latest}
    assert complete <= total.keys(), complete - total.keys()


def _hour(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H")


def oracle_hourly(url: str) -> dict[tuple[str, str], float]:
    """Today's consumption per carrier and Shanghai hour, from the main meters' raw readings: an interval reading
    counts for the hour it closes; a cumulative register counts the rise between consecutive readings (a fall is a
    rollover at ``registerMax``)."""
    midnight = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    auth = {"Authorization": f"Bearer {os.environ.get('LINGANG_README_TOKEN', '')}"}
    meters = httpx.get(f"{url}/api/v1/entities", params={"type": "Meter", "q": "!submeterOf", "limit": 5000},
                       headers=auth, timeout=300).json()["data"]
    info = {m["id"]: (m["properties"]["carrier"]["value"], m["properties"]["register"]["value"],
                      (m["properties"].get("registerMax") or {}).get("value")) for m in meters}
    # CSV without a limit streams every reading (JSON comes in pages).
    raw = httpx.get(f"{url}/api/v1/observations", params={
        "type": "Meter", "q": "!submeterOf", "attribute": "reading", "start": midnight.isoformat(),
        "format": "csv"}, headers=auth, timeout=300).text
    by_meter: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(raw)):
        by_meter[row["entity_id"]].append((datetime.fromisoformat(row["observed_at"]), float(row["value"])))
    assert by_meter, raw[:300]
    out: dict[tuple[str, str], float] = defaultdict(float)
    for mid, rows in by_meter.items():
        carrier, register, register_max = info[mid]
        rows.sort()
        if register == "interval":
            for t, v in rows:
                if t > midnight:
                    out[(carrier, _closing_hour(t))] += v
        else:
            for (_, v0), (t1, v1) in pairwise(rows):
                rise = v1 - v0
                if rise < 0 and register_max:
                    rise += register_max
                out[(carrier, _closing_hour(t1))] += rise
    return out


def _closing_hour(t: datetime) -> str:
    """The Shanghai hour a reading stamped ``t`` closes: (h:00, h+1:00] belongs to hour h."""
    return (t.astimezone(SHANGHAI) - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H")


def check_post(r: Run) -> None:
    body = r.json()
    assert body.get("inserted", 0) + body.get("duplicates", 0) == 1, body


def check_bad_input(r: Run) -> None:
    body = r.json()
    assert is_problem(r.stdout) and body["field"] == "q" and body.get("rule"), body


def check_build(r: Run) -> None:
    assert (r.cwd / "lingang.duckdb").stat().st_size > 1e6 and "built lingang.duckdb" in r.stdout, r.stdout


def check_district_report(r: Run) -> None:
    body = r.json()
    carriers = body["carriers"]
    assert {"electricity", "water", "hydrogen"} <= carriers.keys(), carriers.keys()
    water = carriers["water"]
    assert water["consumption"] > 0 or day_just_began(), water
    assert water["kgco2"] == pytest.approx(0.21 * water["consumption"])
    assert "illustrative" in body["basis"]["co2"]["factors"]["water"]["source"]
    kwh = carriers["electricity"]["consumption"]
    assert carriers["electricity"]["kgco2"] == pytest.approx(0.42 * kwh)  # Shanghai's 0.42 kg/kWh
    assert body["totals"]["kgco2"] == pytest.approx(sum(c["kgco2"] for c in carriers.values()))


def check_pdf_file(name: str) -> Callable[[Run], None]:
    def check(r: Run) -> None:
        path = r.cwd / name.format(month=shanghai_month())
        assert path.read_bytes()[:4] == b"%PDF", path

    return check


def check_tenant_report(r: Run) -> None:
    body = r.json()
    assert body["scope"] == "urn:ngsi-ld:Enterprise:deepharbor-ai", body["scope"]
    assert body["totals"]["kgce"] > 0 or day_just_began(), body["totals"]
    assert body["basis"]["tenant"]["allocations"], body["basis"]


def check_cli_forecast(r: Run) -> None:
    found = r.json()["forecasts"]
    assert found and all(len(f["mean"]) == 24 and f["bucket"] == "hour" for f in found), found
    for f in found:  # the intervals nest around the mean
        assert all(lo95 <= lo80 <= m <= hi80 <= hi95 for lo95, lo80, m, hi80, hi95 in zip(
            f["lower"]["95"], f["lower"]["80"], f["mean"], f["upper"]["80"], f["upper"]["95"], strict=True)), f


def check_account(r: Run) -> None:
    carriers = r.json()["carriers"]
    assert {"electricity", "water"} <= carriers.keys(), carriers
    assert (carriers["electricity"]["consumption"] > 0 and carriers["water"]["kgco2"] > 0) or day_just_began()


def check_tenants(r: Run) -> None:
    body = r.json()
    rows = body if isinstance(body, list) else body.get("tenants", body.get("data"))
    assert len(rows) == 19, str(body)[:500]  # the incubator's 16 tenants and three whole-building firms
    assert all(t["totals"]["kgco2"] > 0 for t in rows) or day_just_began(), str(body)[:500]


def check_quality(r: Run) -> None:
    body = r.json()
    assert body["count"] == len(body["findings"]), body  # the demo injects faults; any number is an answer


def check_week_ahead(r: Run) -> None:
    found = r.json()["forecasts"]
    assert found and all(len(f["mean"]) == 7 and f["bucket"] == "day" for f in found), found
    assert {f["carrier"] for f in found} >= {"electricity", "water"}, found


def check_savings(r: Run) -> None:
    body = r.json()
    # No retrofit happened in the demo: the savings are small, and the G14 band brackets them.
    assert body["nDaysUsed"] == 7 and abs(body["savingsPct"]) < 25, body
    assert body["band"][0] <= body["savingsTotal"] <= body["band"][1], body


def check_geojson(r: Run) -> None:
    body = json.loads((r.cwd / "buildings.geojson").read_text(encoding="utf-8"))
    assert body["type"] == "FeatureCollection" and len(body["features"]) >= 50, len(body["features"])
    r.seen["buildings"] = len(body["features"])


def check_import_geojson(r: Run) -> None:
    assert f"imported {r.seen['buildings']} entities" in r.stdout, r.stdout


def check_export_csv(r: Run) -> None:
    lines = (r.cwd / "readings.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].replace('"', "").startswith("entity_id,attribute,observed_at,value") and len(lines) > 100, lines[:2]
    r.seen["csv_rows"] = len(lines) - 1


def check_import_csv(r: Run) -> None:
    assert f"imported 0 new readings, {r.seen['csv_rows']} already stored" in r.stdout, r.stdout


def check_parquet(r: Run) -> None:
    assert (r.cwd / "meters.parquet").read_bytes()[:4] == b"PAR1"


def check_delete(r: Run) -> None:
    body = r.json()
    assert isinstance(body, dict) and any(isinstance(v, int) for v in body.values()), body


def check_cli_delete(r: Run) -> None:
    assert "delete" in r.stdout.lower(), r.stdout


def check_export_fixed(r: Run) -> None:
    lines = (r.cwd / "fixed.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 1 or day_just_began(), lines[:2]
    r.seen["fixed_rows"] = len(lines) - 1


def check_post_replace(r: Run) -> None:
    body = r.json()
    sent = sum(body.get(k, 0) for k in ("inserted", "duplicates", "replaced", "kept"))
    assert sent == r.seen["fixed_rows"], body  # every row of the file is accounted for


def check_import_fixed(r: Run) -> None:
    assert f"{r.seen['fixed_rows']} already stored" in r.stdout or "replaced" in r.stdout, r.stdout


def check_retire(r: Run) -> None:
    assert '"retired"' in r.stdout, r.stdout[:500]


def check_next_token(r: Run) -> None:
    assert r.stdout.strip() not in ("", "None"), r.stdout


def check_streamed_csv(r: Run) -> None:
    lines = (r.cwd / "meters.csv").read_text(encoding="utf-8").splitlines()
    assert "entity_id" in lines[0] and (len(lines) > 100 or day_just_began()), lines[:2]


def check_backup(r: Run) -> None:
    assert (r.cwd / "backups" / "lingang-2026-12-01.duckdb").stat().st_size > 1e6


def check_restore(r: Run) -> None:
    assert (r.cwd / "lingang.duckdb").stat().st_size > 1e6, r.stdout


def check_me(r: Run) -> None:
    body = r.json()
    assert body["subject"] == "admin" and body["permissions"] == ["*"], body


def check_assignment(r: Run) -> None:
    assert r.stdout == "", r.stdout


CHECKS: list[tuple[str, Callable[[Run], None]]] = [
    (r"^(B|P|TOKEN)=", check_assignment),
    (r"/api/v1/auth/me", check_me),
    (r"\$B/health", check_health),
    (r"/api/v1/types", check_types),
    (r"use==%22lab%22", check_labs),
    (r"type=Meter&under=", check_meters_under),
    (r"georel=near", check_near),
    (r"asOf=", check_as_of),
    (r"/observations\?type=Meter&q=!submeterOf", check_hourly),
    (r"-X POST \$B/api/v1/observations -H 'content-type: application/json'", check_post),
    (r"floorArea>>3", check_bad_input),
    (r"^lingang-twin demo build", check_build),
    (r"energy report .*District.*--format json", check_district_report),
    (r"energy report .*District.*--format pdf", check_pdf_file("energy-lingang-iicz-{month}.pdf")),
    (r"energy report .*Enterprise:deepharbor-ai", check_tenant_report),
    (r"^lingang-twin energy forecast", check_cli_forecast),
    (r"/energy/account\?", check_account),
    (r"/energy/tenants\?", check_tenants),
    (r"/energy/quality\?", check_quality),
    (r"/energy/forecast\?.*week-ahead", check_week_ahead),
    (r"/energy/savings\?", check_savings),
    (r"-o report\.pdf", check_pdf_file("report.pdf")),
    (r"^lingang-twin export buildings\.geojson", check_geojson),
    (r"^lingang-twin import buildings\.geojson", check_import_geojson),
    (r"^lingang-twin export readings\.csv", check_export_csv),
    (r"^lingang-twin import readings\.csv", check_import_csv),
    (r"^lingang-twin export meters\.parquet", check_parquet),
    (r"-X DELETE", check_delete),
    (r"^lingang-twin readings delete", check_cli_delete),
    (r"^lingang-twin export fixed\.csv", check_export_fixed),
    (r"on_conflict=replace", check_post_replace),
    (r"^lingang-twin import fixed\.csv", check_import_fixed),
    (r"-X PATCH", check_retire),
    (r"limit=1000", check_next_token),
    (r"-o meters\.csv", check_streamed_csv),
    (r"lingang-twin db backup", check_backup),
    (r"^lingang-twin db restore", check_restore),
]


def check_for(command: str) -> Callable[[Run], None]:
    """The one check whose pattern matches ``command`` (none, or two, is an error of this test)."""
    matches = [check for pattern, check in CHECKS if re.search(pattern, command, flags=re.S)]
    assert len(matches) == 1, f"{len(matches)} checks match README command {command!r}: give it exactly one"
    return matches[0]


def shell_env(root: Path, url: str, password: str = "", token: str = "") -> dict[str, str]:
    """``lingang-twin`` (this checkout's code, this interpreter) first on PATH, and ``B``, ``P`` (the admin password
    the demo printed) and ``TOKEN`` (an access token got with it), as the README's first lines set them."""
    bindir = root / "bin"
    bindir.mkdir(exist_ok=True)
    src = Path(lingang_twin.__file__).resolve().parents[1]
    wrapper = bindir / "lingang-twin"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={shlex.quote(str(src))}${{PYTHONPATH:+:$PYTHONPATH}} '
                       f'exec {shlex.quote(sys.executable)} -m lingang_twin.cli "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "B": url, "P": password,
            "TOKEN": token}


def admin_password(output: str) -> str:
    """The administrator's password the demo printed ("sign in / 登录: user admin, password …")."""
    found = re.search(r"user admin, password (\S+)", output)
    assert found, output[-3000:]
    return found.group(1)


def test_readme_commands_are_found() -> None:
    """The extractor sees the README as bash does: the set-up scripts, continued lines, the two-line POST."""
    found = commands(README.read_text(encoding="utf-8"))
    assert [c for c in found if c.startswith(SETUP_SCRIPTS)] == [
        "bash scripts/demo.sh     # prints the console URL, installs, builds the IICZ demo twin, streams telemetry, "
        "serves it", "bash scripts/test.sh     # install everything the tests need, then ruff, mypy and the whole test "
        "suite"]
    post = [c for c in found if "-X POST $B/api/v1/observations" in c]
    assert len(post) == 1 and post[0].count("\n") == 1, post
    assert all(not c.rstrip().endswith("\\") for c in found)
    for command in found:
        if not command.startswith(SETUP_SCRIPTS) and not LONG_RUNNING.match(command):
            check_for(command)
    text = "```bash\necho 'a\nb' \\\n  c\n# note\nd\n```\n"
    assert commands(text) == ["echo 'a\nb' \\\n  c", "d"]


def test_every_readme_command_works_on_the_demo(server_factory: Callable[..., Any], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A real ``lingang-twin demo`` with a short history (the e2e ``server_factory`` stops it afterwards)."""
    root = tmp_path
    # A token for the whole run (a reader signs in again after 15 minutes; this run may take longer on a busy box).
    server = server_factory(root / "lingang-demo.duckdb", ("demo", "--days", str(HISTORY_DAYS)),
                            env={"LINGANG_ACCESS_TOKEN_MINUTES": "240"})
    server.start(timeout=1800)  # the build runs first; a busy 2-core box may take minutes
    password = admin_password(server.output())
    signed = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": "admin", "password": password})
    assert signed.status_code == 200, signed.text
    token = signed.json()["access_token"]
    monkeypatch.setenv("LINGANG_README_TOKEN", token)  # the oracle reads the demo as the README does: signed in
    env = shell_env(root, server.url, password, token)
    work = root / "work"
    work.mkdir()
    seen: dict[str, Any] = {}
    ran = 0
    for command in commands(README.read_text(encoding="utf-8")):
        if command.startswith(SETUP_SCRIPTS):
            continue
        if LONG_RUNNING.match(command):  # serve / demo run until stopped: their help must work
            sub = command.split()[1]
            proc = subprocess.run(["lingang-twin", sub, "--help"], cwd=work, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 0 and "Usage" in proc.stdout, (command, proc.stderr)
            continue
        check = check_for(command)
        proc = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                              timeout=1800)
        run = Run(command, proc.stdout, proc.stderr, proc.returncode, work, server.url, seen)
        assert proc.returncode == 0, (command, proc.stdout[-1000:], proc.stderr[-2000:])
        if check is not check_bad_input:
            assert not is_problem(proc.stdout), (command, proc.stdout[:1000])
        check(run)
        ran += 1
    assert ran >= 25, ran
    assert len(seen.get("hourly", [])) == 1  # "energy today" (agg=consumption) was run and checked
    assert "Traceback" not in server.output(), server.output()[-3000:]


def test_demo_sh_prints_the_console_url_first(tmp_path: Path) -> None:
    """scripts/demo.sh names the console's URL (with the port it will be given) before the slow install."""
    script = (Path(__file__).resolve().parents[2] / "scripts" / "demo.sh").read_text(encoding="utf-8")
    head = script[:script.index("source scripts/_setup.sh")]
    # Run only the part before the install, with the arguments a user might give.
    proc = subprocess.run(["bash", "-c", head, "demo.sh", "--days", "3", "--port=8123", "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith("http://0.0.0.0:8123/console"), proc.stdout
