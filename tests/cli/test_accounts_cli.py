"""``lingang-twin users|keys|audit`` and the accounts side of ``serve``, run as real processes: passwords never
as arguments, bad input exit 2 with nothing written, keys shown once, the audit chain verified and its tampering
found, ``serve`` making the first administrator on loopback and refusing a public address without accounts."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

TENANT = "urn:ngsi-ld:Enterprise:deepharbor-ai"


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "lingang_twin.cli", *args], capture_output=True, text=True,
                          input=stdin, env={**os.environ, **(env or {})}, timeout=300)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_users_add_list_disable_and_bad_input(tmp_path: Path) -> None:
    db = tmp_path / "twin.duckdb"
    # bad input before the file exists: exit 2, one line, and no file is made
    for args, stdin, words in (
            (("--role", "wizard"), "long enough\n", "unknown role wizard"),
            (("--role", "operator"), "\n", "at least 8"),
            (("--role", "enterprise_tenant"), "long enough\n", "Enterprise")):
        proc = run("users", "add", "olga", *args, "--password-stdin", "--db", str(db), stdin=stdin, check=False)
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert not db.exists()
    run("users", "add", "ada", "--role", "admin", "--password-stdin", "--db", str(db), stdin="correct horse\n")
    run("users", "add", "tina", "--role", "enterprise_tenant", "--tenant", TENANT, "--password-env", "PW",
        "--db", str(db), env={"PW": "tenant pw 12"})
    before = rows(db, "SELECT count(*) FROM audit_log")[0][0]
    dup = run("users", "add", "ada", "--role", "operator", "--password-stdin", "--db", str(db),
              stdin="another pw\n", check=False)
    assert dup.returncode == 2 and "exists" in dup.stderr
    missing = run("users", "add", "bob", "--role", "operator", "--password-env", "NOPE", "--db", str(db), check=False)
    assert missing.returncode == 2 and "NOPE" in missing.stderr
    no_tty = run("users", "add", "bob", "--role", "operator", "--db", str(db), stdin="", check=False)
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    assert rows(db, "SELECT count(*) FROM audit_log")[0][0] == before
    assert [r[0] for r in rows(db, "SELECT name FROM users ORDER BY name")] == ["ada", "tina"]
    stored = rows(db, "SELECT password_hash FROM users WHERE name = 'ada'")[0][0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    run("users", "disable", "tina", "--db", str(db))
    listed = run("users", "list", "--db", str(db)).stdout.splitlines()
    assert listed == ["ada\tadmin\t-\tenabled", f"tina\tenterprise_tenant\t{TENANT}\tdisabled"]
    assert run("users", "disable", "nobody", "--db", str(db), check=False).returncode == 2
    actors = {r[0] for r in rows(db, "SELECT actor FROM audit_log WHERE action LIKE 'accounts.%'")}
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")


def test_keys_create_list_revoke_and_audit_verify(tmp_path: Path) -> None:
    db = tmp_path / "twin.duckdb"
    run("users", "add", "gw", "--role", "integrator", "--password-stdin", "--db", str(db), stdin="gateway pw\n")
    created = run("keys", "create", "--owner", "gw", "--label", "meters of building 7", "--scope", "readings:write",
                  "--entity", "urn:ngsi-ld:Meter:b7-*", "--expires-days", "30", "--db", str(db))
    key = created.stdout.strip()
    assert re.fullmatch(r"ltk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key), created.stdout
    assert "shown once" in created.stderr
    key_id, secret = key[4:16], key[17:]
    listed = run("keys", "list", "--db", str(db)).stdout
    assert key_id in listed and secret not in listed and "readings:write" in listed and "active" in listed
    assert all(secret not in str(v) for row in rows(db, "SELECT * FROM api_keys") for v in row)
    bad = run("keys", "create", "--owner", "gw", "--label", "x", "--scope", "accounts:manage", "--db", str(db),
              check=False)
    assert bad.returncode == 2 and "beyond" not in bad.stdout and "owner" in bad.stderr
    run("keys", "revoke", key_id, "--db", str(db))
    assert "revoked" in run("keys", "list", "--db", str(db)).stdout
    assert run("keys", "revoke", key_id, "--db", str(db), check=False).returncode == 2

    ok = run("audit", "verify", "--db", str(db))
    assert "intact" in ok.stdout and "3 records" in ok.stdout, ok.stdout
    records = [json.loads(line) for line in run("audit", "list", "--db", str(db)).stdout.splitlines()]
    assert [r["action"] for r in records] == ["keys.revoke", "keys.create", "accounts.user-create"]
    con = duckdb.connect(str(db))
    con.execute("UPDATE audit_log SET detail = '{\"owner\":\"someone else\"}' WHERE seq = 2")
    con.close()
    broken = run("audit", "verify", "--db", str(db), check=False)
    assert broken.returncode == 1 and "record 2" in broken.stderr, broken.stderr
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM audit_log WHERE seq >= 2")
    con.close()
    cut = run("audit", "verify", "--db", str(db), check=False)
    assert cut.returncode == 1 and "record 2" in cut.stderr and "removed" in cut.stderr, cut.stderr


def test_serve_refuses_a_public_address_without_accounts(tmp_path: Path) -> None:
    db = tmp_path / "twin.duckdb"
    proc = run("serve", "--db", str(db), "--host", "0.0.0.0", "--port", "1", check=False)
    assert proc.returncode == 2 and "users add" in proc.stderr and "loopback" in proc.stderr, proc.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_loopback_makes_an_admin_and_prints_its_password_once(tmp_path: Path) -> None:
    db, port = tmp_path / "twin.duckdb", free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen([sys.executable, "-m", "lingang_twin.cli", "serve", "--db", str(db), "--port",
                                   str(port)], stdout=sink, stderr=subprocess.STDOUT,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        found = re.search(r"user admin, password (\S+)", log.read_text())
        assert found, log.read_text()
        r = httpx.post(f"{url}/api/v1/auth/token", data={"username": "admin", "password": found.group(1)})
        assert r.status_code == 200, r.text
        me = httpx.get(f"{url}/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert me.json()["subject"] == "admin"
    finally:
        server.terminate()
        server.wait(timeout=60)
    key_file = Path(f"{db}.secret-key")
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(key_file.read_bytes().strip()) == 64
    assert rows(db, "SELECT count(*) FROM users")[0][0] == 1


@pytest.mark.parametrize("env", [{"LINGANG_SECRET_KEY": "short"}])
def test_a_short_secret_key_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    db = tmp_path / "twin.duckdb"
    proc = run("users", "add", "ada", "--role", "admin", "--password-stdin", "--db", str(db), stdin="long enough\n",
               env=env, check=False)
    assert proc.returncode == 2 and "secret_key" in proc.stderr, proc.stderr
