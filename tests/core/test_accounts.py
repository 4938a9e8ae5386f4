"""Accounts: sign-in, lock-out, sessions (refresh rotation, sign-out, expiry), API keys (scopes, expiry, revocation,
shown once) and the hash-chained audit log — against the real DuckDB store, with an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from argon2 import PasswordHasher

from lingang_twin.core.access import SYSTEM, AccessDenied, principal
from lingang_twin.core.accounts import KEY_PREFIX, AccountPolicy, Accounts, sha256_hex
from lingang_twin.core.errors import ConflictError, NotFoundError, ValidationError
from lingang_twin.stores.duckdb_accounts import DuckDBAccountStore
from lingang_twin.stores.duckdb_store import DuckDBStore

SECRET = b"k" * 32
# Real argon2id, cheaper parameters than the default so 20 failures take well under a second.
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
TENANT = "urn:ngsi-ld:Enterprise:deepharbor-ai"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "accounts.duckdb")
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: DuckDBStore, clock: Clock) -> Accounts:
    acc = Accounts(DuckDBAccountStore(store), SECRET, clock=clock, hasher=FAST,
                   policy=AccountPolicy(access_minutes=15, refresh_hours=12, lock_after=20, lock_minutes=15))
    acc.add_user("ada", "correct horse", ["admin"])
    acc.add_user("olga", "operator pw 1", ["operator"])
    acc.add_user("tina", "tenant pw 12", ["enterprise_tenant"], tenant=TENANT)
    return acc


def actions(acc: Accounts) -> list[tuple[str, str, str | None]]:
    return [(r.action, r.outcome, r.actor) for r in acc.audit(limit=1000)]


def test_sign_in_gives_a_token_that_names_the_user(accounts: Accounts) -> None:
    signed = accounts.sign_in("Ada", "correct horse", client="127.0.0.1")
    who = accounts.principal_for_token(signed.access_token)
    assert who.subject == "ada" and who.can("accounts:manage") and who.session == signed.principal.session
    assert signed.expires_in == 15 * 60
    assert ("auth.sign-in", "ok", "ada") in actions(accounts)
    tenant = accounts.principal_for_token(accounts.sign_in("tina", "tenant pw 12").access_token)
    assert tenant.tenant == TENANT and not tenant.can("entities:write")


def test_wrong_password_unknown_user_and_disabled_are_refused_and_audited(accounts: Accounts) -> None:
    with pytest.raises(AccessDenied):
        accounts.sign_in("ada", "wrong horse")
    with pytest.raises(AccessDenied):
        accounts.sign_in("nobody", "whatever1")
    accounts.set_disabled("olga", by=accounts.principal_of(accounts.user("ada")))
    with pytest.raises(AccessDenied):
        accounts.sign_in("olga", "operator pw 1")
    reasons = [(r.actor, r.detail.get("reason")) for r in accounts.audit(action="auth.sign-in-failed")]
    assert reasons == [("ada", "wrong-password"), ("nobody", "unknown-user"), ("olga", "disabled")]
    assert any(r.action == "accounts.disable" and r.actor == "ada" for r in accounts.audit())


def test_twenty_wrong_passwords_lock_the_account_for_a_while(accounts: Accounts, clock: Clock) -> None:
    for _ in range(19):
        with pytest.raises(AccessDenied):
            accounts.sign_in("olga", "guess")
    assert accounts.sign_in("olga", "operator pw 1")  # 19 failures: a success still works and resets the count
    for _ in range(20):
        with pytest.raises(AccessDenied):
            accounts.sign_in("olga", "guess")
    with pytest.raises(AccessDenied, match="locked"):
        accounts.sign_in("olga", "operator pw 1")  # the right password, but locked
    locks = accounts.audit(action="auth.locked")
    assert len(locks) == 1 and locks[0].target == "olga" and locks[0].detail["failures"] == 20
    clock.advance(minutes=16)
    assert accounts.sign_in("olga", "operator pw 1").principal.subject == "olga"


def test_refresh_rotates_and_a_used_refresh_token_is_refused(accounts: Accounts) -> None:
    first = accounts.sign_in("ada", "correct horse")
    second = accounts.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert accounts.principal_for_token(second.access_token).subject == "ada"
    with pytest.raises(AccessDenied, match="already used"):
        accounts.refresh(first.refresh_token)
    # Reuse revokes the whole session: the newest tokens die too.
    with pytest.raises(AccessDenied):
        accounts.refresh(second.refresh_token)
    with pytest.raises(AccessDenied):
        accounts.principal_for_token(second.access_token)
    assert any(r.action == "auth.refresh-reuse" for r in accounts.audit())


def test_sign_out_revokes_the_session(accounts: Accounts) -> None:
    signed = accounts.sign_in("ada", "correct horse")
    assert accounts.principal_for_token(signed.access_token).subject == "ada"  # now cached
    accounts.sign_out(signed.access_token)
    with pytest.raises(AccessDenied):
        accounts.principal_for_token(signed.access_token)
    with pytest.raises(AccessDenied):
        accounts.refresh(signed.refresh_token)
    assert ("auth.sign-out", "ok", "ada") in actions(accounts)


def test_expired_and_tampered_tokens_are_refused(accounts: Accounts, clock: Clock) -> None:
    signed = accounts.sign_in("olga", "operator pw 1")
    claims = jwt.decode(signed.access_token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "ada"}, b"x" * 32, algorithm="HS256")
    with pytest.raises(AccessDenied):
        accounts.principal_for_token(forged)
    header, payload, sig = signed.access_token.split(".")
    with pytest.raises(AccessDenied):
        accounts.principal_for_token(f"{header}.{payload}.{sig[:-2]}AA")
    none_alg = jwt.encode({**claims}, None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(AccessDenied):
        accounts.principal_for_token(none_alg)
    clock.advance(minutes=16)
    with pytest.raises(AccessDenied, match="expired"):
        accounts.principal_for_token(signed.access_token)
    assert accounts.refresh(signed.refresh_token)  # … and the session refreshes it
    clock.advance(hours=13)
    with pytest.raises(AccessDenied):
        accounts.refresh(signed.refresh_token)


def test_role_change_applies_to_issued_tokens(accounts: Accounts) -> None:
    signed = accounts.sign_in("olga", "operator pw 1")
    assert not accounts.principal_for_token(signed.access_token).can("lifecycle:write")
    accounts.set_roles("olga", ["planner"])
    assert accounts.principal_for_token(signed.access_token).can("lifecycle:write")
    change = accounts.audit(action="accounts.role-change")[0]
    assert change.detail["from"] == ["operator"] and change.detail["to"] == ["planner"]


def test_a_key_is_shown_once_and_only_its_hash_is_stored(accounts: Accounts, store: DuckDBStore) -> None:
    created = accounts.create_key("olga", "wall display", permission_scope=["entities:read"])
    assert created.secret.startswith(f"{KEY_PREFIX}{created.key.id}_")
    secret = created.secret.split("_", 2)[2]
    rows = store.con.execute("SELECT * FROM api_keys").fetchall()
    assert rows and all(secret not in str(v) for row in rows for v in row)
    assert rows[0][3] == sha256_hex(secret)
    assert all(secret not in str(r.to_dict()) for r in accounts.audit())
    who = accounts.principal_for_key(created.secret)
    assert who.subject == f"key:{created.key.id}" and who.kind == "key" and who.extra["owner"] == "olga"
    assert who.can("entities:read") and not who.can("checks:run")  # the operator's, narrowed to the scope
    with pytest.raises(AccessDenied):
        accounts.principal_for_key(created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B"))


def test_key_scope_narrows_permissions_and_entities(accounts: Accounts) -> None:
    accounts.add_user("gw", "gateway pw 1", ["integrator"])
    created = accounts.create_key("gw", "building 1 meters", permission_scope=["readings:write"],
                                  entity_scope=["urn:ngsi-ld:Meter:lingang-center-*"])
    who = accounts.principal_for_key(created.secret)
    assert who.can("readings:write") and not who.can("entities:read")
    assert who.in_entity_scope("urn:ngsi-ld:Meter:lingang-center-elec-main")
    assert not who.in_entity_scope("urn:ngsi-ld:Meter:other-elec-main")
    with pytest.raises(ValidationError) as err:
        accounts.create_key("gw", "too much", permission_scope=["accounts:manage"])
    assert err.value.rule == "beyond-owner"
    with pytest.raises(ValidationError) as err:
        accounts.create_key("gw", "typo", permission_scope=["readings:wirte"])
    assert err.value.rule == "permission-choice"


def test_key_expiry_and_revocation(accounts: Accounts, clock: Clock) -> None:
    created = accounts.create_key("olga", "short", expires_at=clock.now + timedelta(days=1))
    assert accounts.principal_for_key(created.secret).subject.startswith("key:")
    clock.advance(days=1, seconds=1)
    with pytest.raises(AccessDenied, match="expired"):
        accounts.principal_for_key(created.secret)
    other = accounts.create_key("olga", "long")
    assert accounts.principal_for_key(other.secret)  # cached
    accounts.revoke_key(other.key.id)
    with pytest.raises(AccessDenied, match="revoked"):
        accounts.principal_for_key(other.secret)
    with pytest.raises(ConflictError):
        accounts.revoke_key(other.key.id)
    assert [r.action for r in accounts.audit(action="keys.")] == ["keys.create", "keys.create", "keys.revoke"]


def test_who_may_manage_keys(accounts: Accounts) -> None:
    tina = accounts.principal_of(accounts.user("tina"))
    olga = accounts.principal_of(accounts.user("olga"))
    mine = accounts.create_key("tina", "my integration", by=tina)  # keys:own
    assert [k.id for k in accounts.list_keys("tina", by=tina)] == [mine.key.id]
    with pytest.raises(AccessDenied):
        accounts.create_key("olga", "not mine", by=tina)
    with pytest.raises(AccessDenied):
        accounts.create_key("olga", "no keys:own", by=olga)
    with pytest.raises(AccessDenied):
        accounts.revoke_key(mine.key.id, by=olga)
    key_principal = accounts.principal_for_key(mine.secret)
    with pytest.raises(AccessDenied):
        accounts.create_key("tina", "a key minting keys", by=key_principal)
    assert accounts.principal_for_key(mine.secret).tenant == TENANT
    accounts.set_disabled("tina")
    with pytest.raises(AccessDenied):
        accounts.principal_for_key(mine.secret)


def test_bad_user_input_names_the_field_and_writes_nothing(accounts: Accounts) -> None:
    before = (len(accounts.list_users()), len(accounts.audit(limit=1000)))
    cases = [(dict(name="x y", password="long enough", roles=["operator"]), "user-name"),
             (dict(name="new", password="", roles=["operator"]), "password-length"),
             (dict(name="new", password="long enough", roles=["wizard"]), "role-choice"),
             (dict(name="new", password="long enough", roles=[]), "roles-required"),
             (dict(name="new", password="long enough", roles=["enterprise_tenant"]), "tenant-required"),
             (dict(name="new", password="long enough", roles=["enterprise_tenant"],
                   tenant="urn:ngsi-ld:Building:x"), "tenant-type"),
             (dict(name="new", password="long enough", roles=["operator"], tenant=TENANT), "tenant-role")]
    for kwargs, rule in cases:
        with pytest.raises(ValidationError) as err:
            accounts.add_user(**kwargs)  # type: ignore[arg-type]
        assert err.value.rule == rule, kwargs
    with pytest.raises(ConflictError):
        accounts.add_user("ada", "another pw", ["operator"])
    with pytest.raises(AccessDenied):
        accounts.add_user("eve", "long enough", ["admin"], by=principal("olga", ["operator"]))
    with pytest.raises(NotFoundError):
        accounts.set_roles("nobody", ["operator"])
    assert (len(accounts.list_users()), len(accounts.audit(limit=1000))) == before


def test_audit_chain_verifies_and_detects_an_edited_record(accounts: Accounts, store: DuckDBStore) -> None:
    accounts.sign_in("ada", "correct horse")
    verdict = accounts.verify_audit()
    assert verdict.ok and verdict.count == len(accounts.audit(limit=1000)) >= 4
    store.con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    verdict = accounts.verify_audit()
    assert not verdict.ok and verdict.bad_seq == 2 and "changed" in (verdict.reason or "")


def test_audit_chain_detects_a_deleted_record_and_a_cut_tail(accounts: Accounts, store: DuckDBStore) -> None:
    for _ in range(3):
        accounts.sign_in("ada", "correct horse")
    n = accounts.verify_audit().count
    store.con.execute("DELETE FROM audit_log WHERE seq = 3")
    verdict = accounts.verify_audit()
    assert not verdict.ok and verdict.bad_seq == 3 and "missing" in (verdict.reason or "")
    store.con.execute("INSERT INTO audit_log SELECT * FROM audit_log WHERE false")  # nothing to restore: re-seed
    store.con.execute("DELETE FROM audit_log WHERE seq >= 3")
    verdict = accounts.verify_audit()
    assert not verdict.ok and verdict.bad_seq == 3 and "removed from the end" in (verdict.reason or "")
    assert n > 3


def test_audit_sink_records_events_of_other_parts(accounts: Accounts) -> None:
    from lingang_twin.core.access import AuditEvent, AuditSink

    assert isinstance(accounts, AuditSink)
    accounts.record(AuditEvent(actor="olga", action="entities.delete", target="urn:ngsi-ld:Alert:1",
                               roles=("operator",), detail={"why": "duplicate"}))
    last = accounts.audit(newest_first=True, limit=1)[0]
    assert (last.action, last.target, last.detail) == ("entities.delete", "urn:ngsi-ld:Alert:1", {"why": "duplicate"})
    assert accounts.verify_audit().ok
    with pytest.raises(AccessDenied):
        accounts.audit(by=principal("olga", ["operator"]))
    assert accounts.audit(by=principal("aud", ["auditor"]), limit=1)


def test_the_signing_key_must_be_long_enough(store: DuckDBStore) -> None:
    with pytest.raises(ValidationError) as err:
        Accounts(DuckDBAccountStore(store), b"short", hasher=FAST)
    assert err.value.field == "secret_key"
    assert SYSTEM.can("accounts:manage")
