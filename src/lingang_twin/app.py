"""Wiring shared by the faces: which packs a twin carries, and how a twin is opened and served."""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from lingang_twin import energy, mobility
from lingang_twin.core.packs import Installed, Pack, configure, install
from lingang_twin.settings import Settings

if TYPE_CHECKING:  # the twin and its store load on first use: ``lingang-twin --help`` does not wait for them
    from lingang_twin.core.accounts import Accounts
    from lingang_twin.core.classification import Classifier
    from lingang_twin.core.twin import Twin

# The built-in packs every face loads (put in dependency order by the core). Explicit on purpose: no import-time
# discovery; a deployment names more in LINGANG_PACKS (:func:`deployment_packs`).
PACKS: list[Pack] = [energy.PACK, mobility.PACK]


def deployment_packs(settings: Settings | None = None) -> list[Pack]:
    """The built-in packs and those the deployment names in ``Settings.packs`` (``LINGANG_PACKS``), each
    ``module:attribute`` of a :class:`~lingang_twin.core.packs.Pack`: how an integrator adds a pack without
    editing the platform. A name that does not load is a ValidationError naming ``packs`` and the rule
    (``pack-name``, ``pack-import``, ``not-a-pack``), raised before anything is opened."""
    import importlib

    from lingang_twin.core.errors import ValidationError

    out = list(PACKS)
    for i, name in enumerate((settings or Settings()).packs):
        module, sep, attribute = name.partition(":")
        if not sep or not module.strip() or not attribute.strip():
            raise ValidationError("packs", "pack-name", f"{name!r} is not 'module:attribute' "
                                  "/ 扩展包须写作 模块:属性", index=i)
        try:
            found = getattr(importlib.import_module(module.strip()), attribute.strip())
        except (ImportError, AttributeError) as err:
            raise ValidationError("packs", "pack-import", f"{name!r} cannot be loaded: {err} "
                                  "/ 无法加载扩展包", index=i) from None
        if not isinstance(found, Pack):
            what = f"{type(found).__name__} {getattr(found, '__name__', '')}".strip()
            raise ValidationError("packs", "not-a-pack", f"{name!r} names {what}, not a "
                                  "lingang_twin.core.packs.Pack / 不是扩展包", index=i)
        out.append(found)
    return out


def open_twin(db: str | Path | None, settings: Settings | None = None, *, compact_rows: int | None = None) -> Twin:
    """Open (or create) the twin in ``db`` with every pack's types registered (``compact_rows``: see
    :class:`~lingang_twin.stores.duckdb_store.DuckDBStore`); ``settings`` (default: from the environment) give its
    future horizon for readings."""
    from lingang_twin.core.twin import Twin
    from lingang_twin.stores import open_store

    settings = settings or Settings()
    horizon = timedelta(hours=settings.future_horizon_hours)
    twin = Twin(open_store(db, compact_rows=compact_rows), future_horizon=horizon)
    try:
        install(twin, deployment_packs(settings))
        configure_governance(twin, settings)
    except BaseException:
        twin.close()
        raise
    return twin


def load_classification(twin: Twin, settings: Settings) -> Classifier:
    """The twin's classifier with the deployment's overrides (``Settings.classification_file``), checked whole
    against the twin's types before any is applied: a bad file is a ValidationError naming the field
    (``classification.<Type>.<attribute>``) and the rule."""
    import json

    from lingang_twin.core.classification import Classifier, parse_overrides
    from lingang_twin.core.errors import ValidationError

    overrides = {}
    if settings.classification_file is not None:
        try:
            raw = json.loads(Path(settings.classification_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValidationError("classification_file", "config-file",
                                  f"{settings.classification_file}: cannot read a JSON object: {err} "
                                  "/ 无法读取分级配置") from None
        overrides = parse_overrides(raw, twin.types)
    return Classifier(twin.types, overrides)


def configure_governance(twin: Twin, settings: Settings) -> None:
    """Give ``twin`` its classifier (``twin.classification``) and its export governance (``twin.governance``:
    classification, approval requests in the twin's store, the audit log at ``twin.audit`` when accounts set
    one). Every face opens the twin through here, so all of them share one guard of what leaves."""
    from lingang_twin.stores.export_requests import governance_for

    twin.classification = load_classification(twin, settings)  # type: ignore[attr-defined]
    governance_for(twin)


def load_pack_configs(packs: list[Pack], settings: Settings) -> Installed:
    """Every pack's configuration from its JSON file (:meth:`Settings.pack_config_file`), validated once by its
    ``config_model`` (:func:`lingang_twin.core.packs.configure`): what the API, the console and the CLI are all
    handed. A file that cannot be read, or a bad value, is a ValidationError naming ``<pack>_config`` and the
    setting, raised before the server starts."""
    import json

    from lingang_twin.core.errors import ValidationError

    raw: dict[str, object] = {}
    for pack in packs:
        path = settings.pack_config_file(pack.name)
        if path is None:
            continue
        try:
            raw[pack.name] = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValidationError(f"{pack.name}_config", "config-file",
                                  f"{path}: cannot read a JSON object: {err}") from None
    return configure(packs, raw)


def warm_up() -> None:
    """Run the ingest path once, before the server answers, on a throwaway in-memory twin: parse a one-line CSV
    and JSON body, store the reading. Writes nothing to the served twin.

    Why: the first large ingest otherwise imports what its path imports lazily — pandas (``pyarrow.compute``
    imports it on a first call with a Python scalar), ``pyarrow.acero`` (``Table.group_by``), the readers — in
    its worker thread, holding the GIL for ~1.4 s in all, and the event loop stalled: ``/health`` took up to 230 ms
    (``benchmarks/bench_health_under_ingest.py``)."""
    from lingang_twin.api import warm_up as warm_readers

    batch = warm_readers()
    scratch = open_twin(None)
    try:
        scratch.upsert([{"id": "urn:ngsi-ld:Meter:warm-up", "type": "Meter",
                         "properties": {"carrier": {"value": "electricity"}, "unit": {"value": "kWh"}}}])
        scratch.append(batch)
    finally:
        scratch.close()
    # Everything imported and built so far lives as long as the server: move it out of the collector's reach.
    # Without this a full collection scans the ~1 M objects of the imported libraries and takes 115–190 ms, and the
    # ingest thread that triggers it holds the GIL meanwhile (the event loop stalls; seen in the benchmark above).
    gc.collect()
    gc.freeze()


def exit_on_sigterm() -> None:
    """Make SIGTERM a graceful stop, as SIGINT is: raise ``SystemExit(0)`` in the main thread, so every
    ``finally`` runs (the live feed stops, the twin checkpoints and closes the DuckDB file, no ``.wal`` is left).

    Why this is needed: uvicorn handles SIGTERM by shutting the server down, and then, to let the default
    behaviour happen, re-raises the signal it captured (``signal.raise_signal`` in ``Server.capture_signals``)
    after restoring the handler it found. With Python's default SIGTERM handler that kills the process on the
    spot (exit 143) before the caller's ``twin.close()``; SIGINT survived only because its default handler
    raises KeyboardInterrupt. With this handler installed first, uvicorn restores it and re-raising reaches it.
    """
    import signal
    import threading

    def _stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    if threading.current_thread() is threading.main_thread():  # as uvicorn: signals belong to the main thread
        signal.signal(signal.SIGTERM, _stop)


def has_accounts(twin: Twin) -> bool:
    """Whether ``twin`` has accounts with someone who can sign in, so that a server reachable from other machines
    asks who is calling (a twin in another store, or a file opened read-only before migration 5, has none)."""
    from lingang_twin.core.errors import TwinError
    from lingang_twin.stores.duckdb_accounts import DuckDBAccountStore
    from lingang_twin.stores.duckdb_store import DuckDBStore

    if not isinstance(twin.store, DuckDBStore):
        return False
    try:
        return DuckDBAccountStore(twin.store).count_users() > 0
    except TwinError:
        return False


def check_exposure(twin: Twin, settings: Settings) -> None:
    """Refuse, before anything is served, an address other machines can reach without accounts (anyone could
    read and change everything), and a wildcard bind without the names clients will use (every request would be
    refused as a foreign Host). A ValidationError naming ``host`` and the rule, in English and Chinese."""
    from lingang_twin.api.guard import is_loopback, is_wildcard_bind
    from lingang_twin.core.errors import ValidationError

    if is_loopback(settings.host):
        return
    if not has_accounts(twin):
        raise ValidationError("host", "accounts-required",
                              f"--host {settings.host} is not a loopback address (other machines can reach it), but "
                              f"{settings.db} has no accounts: anyone could read and change everything. Serve on "
                              "127.0.0.1 behind a reverse proxy (docs/security.md), or create an administrator first "
                              f"(lingang-twin users add admin --role admin --db {settings.db}) / {settings.host} 不是"
                              "本机地址且尚无账户：请在 127.0.0.1 上提供服务（经反向代理对外），或先创建管理员账户")
    if is_wildcard_bind(settings.host) and not settings.allowed_hosts:
        raise ValidationError("host", "allowed-hosts-required",
                              f"--host {settings.host} listens on every interface: name the hosts clients use in "
                              "LINGANG_ALLOWED_HOSTS (e.g. '[\"twin.example.com\"]'); other Host headers are "
                              "refused / 监听所有网卡时须在 LINGANG_ALLOWED_HOSTS 中列出访问域名")


def tls_files(settings: Settings) -> tuple[str | None, str | None]:
    """The certificate and key to serve HTTPS with, both or neither, each a readable file (else a
    ValidationError naming ``tls_cert`` or ``tls_key``)."""
    from lingang_twin.core.errors import ValidationError

    cert, key = settings.tls_cert, settings.tls_key
    if (cert is None) != (key is None):
        missing = "tls_key" if key is None else "tls_cert"
        raise ValidationError(missing, "tls-pair", "--tls-cert and --tls-key go together / 证书与私钥须同时提供")
    for field, path in (("tls_cert", cert), ("tls_key", key)):
        if path is not None and not Path(path).is_file():
            raise ValidationError(field, "file-missing", f"{path}: no such file / 文件不存在")
    return (str(cert) if cert else None, str(key) if key else None)


def serve(twin: Twin, settings: Settings, accounts: Accounts | None = None) -> None:
    """Serve the API and the operations-centre console (``/console``) for ``twin`` until interrupted (blocking),
    signing callers in through ``accounts`` (default: :func:`open_accounts` of ``twin``).

    SIGINT and SIGTERM both stop it gracefully: uvicorn finishes, then ``SystemExit`` / ``KeyboardInterrupt``
    unwinds to the caller, whose ``finally`` closes the twin (see :func:`exit_on_sigterm`)."""
    import uvicorn

    from lingang_twin import console
    from lingang_twin.api import create_app

    installed = load_pack_configs(deployment_packs(settings), settings)  # validated once, handed to both faces alike
    if accounts is None:
        accounts = open_accounts(twin, settings, list(installed.packs))
    check_exposure(twin, settings)
    certfile, keyfile = tls_files(settings)
    app = create_app(twin, settings, installed, authenticator=accounts)
    console.mount(app, twin, settings, installed)  # same process, same twin: one writer of the DuckDB file
    exit_on_sigterm()
    app.state.parse_pool.start()  # the JSON parsing children import now, not during the first large ingest
    warm_up()  # … and so does this process (an import in a worker thread holds the GIL: the loop stalls)
    # No "server: uvicorn" banner (it tells an attacker what to look up); the Date header stays (RFC 9110 wants
    # it). X-Forwarded-* are believed from forwarded_allow_ips only (docs/security.md, Transport and HTTP).
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                server_header=False, date_header=True, proxy_headers=True,
                forwarded_allow_ips=settings.forwarded_allow_ips, ssl_certfile=certfile, ssl_keyfile=keyfile)


# -- accounts (docs/security.md) -------------------------------------------------------------------------------------
SECRET_KEY_SUFFIX = ".secret-key"


def signing_key(settings: Settings) -> bytes:
    """The key that signs access tokens: ``LINGANG_SECRET_KEY``, else the file ``LINGANG_SECRET_KEY_FILE`` names,
    else (development and the demo) a key file beside the DB, ``<db>.secret-key``, created once with mode 0600 from
    256 random bits — never in the repository. An in-memory twin gets a key for this process only. With
    ``LINGANG_ENV=production`` one of the first two is required: a ValidationError naming ``secret_key``."""
    import os
    import secrets

    from lingang_twin.core.accounts import MIN_SECRET_BYTES
    from lingang_twin.core.errors import ValidationError

    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().strip().encode()
        where = "LINGANG_SECRET_KEY"
    elif settings.secret_key_file is not None:
        try:
            key = Path(settings.secret_key_file).read_bytes().strip()
        except OSError as err:
            raise ValidationError("secret_key_file", "file-readable", f"{settings.secret_key_file}: {err} "
                                  "/ 无法读取密钥文件") from None
        where = str(settings.secret_key_file)
    elif settings.env == "production":
        raise ValidationError("secret_key", "secret-required", "production needs LINGANG_SECRET_KEY or "
                              "LINGANG_SECRET_KEY_FILE (at least 32 random bytes, e.g. `openssl rand -hex 32`) "
                              "/ 生产环境须配置令牌签名密钥")
    elif str(settings.db) in ("", ":memory:"):
        return secrets.token_bytes(32)
    else:
        path = Path(f"{settings.db}{SECRET_KEY_SUFFIX}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes().strip()
            where = str(path)
        else:
            key = secrets.token_hex(32).encode()
            with os.fdopen(fd, "wb") as sink:
                sink.write(key + b"\n")
            return key
    if len(key) < MIN_SECRET_BYTES:
        raise ValidationError("secret_key", "secret-length", f"{where}: the signing key must be at least "
                              f"{MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`) / 签名密钥至少 "
                              f"{MIN_SECRET_BYTES} 字节")
    return key


def open_accounts(twin: Twin, settings: Settings | None = None, packs: list[Pack] | None = None) -> Accounts:
    """The :class:`~lingang_twin.core.accounts.Accounts` of ``twin`` (kept in its own DuckDB file), with the
    packs' grants and permissions, the settings' token lifetimes and lock-out, and :func:`signing_key`."""
    from lingang_twin.core.accounts import AccountPolicy, Accounts
    from lingang_twin.core.errors import StoreError
    from lingang_twin.stores.duckdb_accounts import DuckDBAccountStore
    from lingang_twin.stores.duckdb_store import DuckDBStore

    if not isinstance(twin.store, DuckDBStore):
        raise StoreError("accounts are kept in a DuckDB twin file; this store has none / 该存储不支持账户")
    settings = settings or Settings()
    grants: dict[str, set[str]] = {}
    permissions: set[str] = set()
    for pack in packs if packs is not None else deployment_packs(settings):
        permissions |= set(pack.permissions)
        for role, perms in pack.grants.items():
            grants.setdefault(role, set()).update(perms)
    policy = AccountPolicy(access_minutes=settings.access_token_minutes, refresh_hours=settings.refresh_token_hours,
                           lock_after=settings.lock_after, lock_minutes=settings.lock_minutes)
    return Accounts(DuckDBAccountStore(twin.store), signing_key(settings), policy=policy, grants=grants,
                    permissions=permissions)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``: only this machine can connect."""
    import ipaddress

    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def generated_password() -> str:
    """A password for a bootstrap administrator: 96 random bits, URL-safe (16 characters)."""
    import secrets

    return secrets.token_urlsafe(12)


def ensure_admin(accounts: Accounts, *, reset: bool) -> str | None:
    """The demo's and a first ``serve``'s administrator ``admin``: created with a generated password when no user
    exists; with ``reset`` (the demo) its password is replaced by a new generated one on every start (only a hash
    is kept, so a password can be shown only when it is made). Returns the password to print once, or None when
    nothing was made (users exist and ``reset`` is off)."""
    from lingang_twin.core.errors import NotFoundError

    password = generated_password()
    try:
        user = accounts.user("admin")
    except NotFoundError:
        if accounts.has_users() and not reset:
            return None
        accounts.add_user("admin", password, ["admin"], display_name="Administrator / 系统管理员")
        return password
    if not reset:
        return None
    if user.disabled or "admin" not in user.roles:
        accounts.set_roles("admin", ["admin"])
        if user.disabled:
            accounts.set_disabled("admin", False)
    accounts.set_password("admin", password)
    return password
