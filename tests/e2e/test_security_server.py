"""The HTTP shell of issue 12 on a real ``lingang-twin serve`` process: no server banner, the security headers on
the API and the console, the Host check, the console websocket's Origin check, HTTPS with ``--tls-cert`` /
``--tls-key`` (a self-signed certificate made here), and ``serve`` refusing a public address without accounts."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from lingang_fixtures import lingang_layout
from lingang_twin.app import open_twin

SOCKET = "/console/_nicegui_ws/socket.io/?EIO=4&transport="


def seed(db: Path) -> None:
    twin = open_twin(db)
    twin.upsert(lingang_layout())
    twin.close()


def handshake(port: int, path: str, origin: str | None, host: str = "127.0.0.1") -> str:
    """The status line the server answers a websocket upgrade with (101 accepted, 403 refused)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_served_answers_have_headers_and_no_banner(tmp_path: Path, server_factory: Callable[..., Any]) -> None:
    seed(tmp_path / "e2e.duckdb")
    server = server_factory(tmp_path / "e2e.duckdb").start()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        r = http.get("/health")
        assert r.status_code == 200
        assert "server" not in r.headers and "uvicorn" not in str(r.headers).lower()  # no banner
        assert "date" in r.headers  # RFC 9110's Date stays
        assert (r.headers["x-content-type-options"], r.headers["x-frame-options"],
                r.headers["referrer-policy"]) == ("nosniff", "DENY", "no-referrer")
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        page = http.get("/console/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert f"connect-src 'self' ws://127.0.0.1:{server.port}" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY" and "server" not in page.headers
        # DNS rebinding: the attacker's name pointed at 127.0.0.1.
        r = http.get("/api/v1/entities", headers={"host": "evil.example"})
        assert r.status_code == 400 and r.json()["rule"] == "host-not-allowed" and "server" not in r.headers
        # The console's socket.io allows every origin itself; the guard does not (cross-site websocket hijack).
        r = http.get(f"{SOCKET}polling", headers={"origin": "http://evil.example"})
        assert r.status_code == 403 and r.json()["rule"] == "cross-origin"
        assert http.get(f"{SOCKET}polling", headers={"origin": server.url}).status_code == 200
    assert " 403 " in handshake(server.port, f"{SOCKET}websocket", "http://evil.example")
    # A websocket refused before it is accepted is answered 403 by uvicorn, whatever the reason (here the Host).
    assert " 403 " in handshake(server.port, f"{SOCKET}websocket", None, host="evil.example")
    assert " 101 " in handshake(server.port, f"{SOCKET}websocket", server.url)


def test_serve_refuses_a_public_address_without_accounts(tmp_path: Path) -> None:
    seed(tmp_path / "twin.duckdb")
    run = subprocess.run([sys.executable, "-m", "lingang_twin.cli", "serve", "--db", str(tmp_path / "twin.duckdb"),
                          "--host", "0.0.0.0", "--port", "1"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no accounts" in run.stderr and "127.0.0.1" in run.stderr and "账户" in run.stderr, run.stderr
    assert "serving" not in run.stdout


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_serve_over_https_with_tls_cert_and_key(tmp_path: Path, server_factory: Callable[..., Any]) -> None:
    pytest.importorskip("cryptography")
    seed(tmp_path / "e2e.duckdb")
    cert, key = self_signed(tmp_path)
    server = server_factory(tmp_path / "e2e.duckdb", ("serve", "--tls-cert", str(cert), "--tls-key", str(key)))
    server.url = f"https://127.0.0.1:{server.port}"
    # Server.start polls over plain HTTP: start the process and poll over HTTPS here, trusting only our certificate.
    trust = ssl.create_default_context(cafile=str(cert))
    cmd_started = _start(server)
    with httpx.Client(base_url=server.url, verify=trust, timeout=60) as https:
        deadline = time.monotonic() + 90
        while True:
            assert server.proc.poll() is None, server.output()[-2000:]
            try:
                r = https.get("/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, server.output()[-2000:]
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["entities"] is None  # anonymous: no count
        assert r.headers["strict-transport-security"] == "max-age=31536000"  # HTTPS: browsers stay on it
        # The administrator the first start printed signs in over HTTPS, as a user would (the password travels
        # encrypted), and reads the twin with the token.
        signed = https.post("/api/v1/auth/token", data={"username": "admin", "password": server.admin_password()})
        assert signed.status_code == 200, signed.text
        auth = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        assert https.get("/health", headers=auth).json()["entities"] == len(lingang_layout())
        assert https.get("/api/v1/entities", params={"limit": 1}, headers=auth).json()["count"] >= 1
    assert cmd_started and f"https://127.0.0.1:{server.port}" in server.output()
    with pytest.raises(httpx.TransportError):  # plain HTTP to the TLS port is not served
        httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10)
    with pytest.raises(httpx.ConnectError):  # and an unknown certificate is not trusted by default
        httpx.get(f"{server.url}/health", timeout=10)


def _start(server: Any) -> bool:
    """Start ``server``'s process without waiting for plain-HTTP /health (as ``Server.start`` would)."""
    import os

    cmd = [sys.executable, "-m", "lingang_twin.cli", *server.args, "--db", str(server.db), "--port", str(server.port)]
    server.log = server.db.with_suffix(f".{server.port}.log")
    with server.log.open("wb") as sink:
        server.proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1", **server.env})
    return True
