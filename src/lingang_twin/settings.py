"""One settings object for the faces (API server, CLI, demo), read from ``LINGANG_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings. Every field can be set as ``LINGANG_<NAME>`` (e.g. ``LINGANG_DB=/data/twin.duckdb``)."""

    model_config = SettingsConfigDict(env_prefix="LINGANG_", extra="ignore")

    db: Path = Field(default=Path("lingang-twin.duckdb"), description="DuckDB file of the twin")
    host: str = Field(default="127.0.0.1", description="address the server listens on")
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024,
                                description="largest request body accepted; larger gets 413 [bytes]")
    max_batch_items: int = Field(default=500_000, ge=1, description="largest batch of entities or readings")
    parse_workers: int = Field(default=2, ge=0, le=64, description="child processes that read large JSON "
                               "readings bodies, so their parsing never stalls other requests; 0: read every "
                               "body in a worker thread")
    parse_offload_bytes: int = Field(default=1024 * 1024, ge=0, description="JSON readings bodies of this size or "
                                     "more are read in a child process (0: every one) [bytes]")
    tile_url: str | None = Field(default=None, description="console map basemap, a Leaflet tile URL template "
                                 "(e.g. https://tiles.example/{z}/{x}/{y}.png); none: vector layers only, offline")
    compact_rows: int = Field(default=2_000_000, ge=0, description="readings that arrive before the newest part "
                              "of the observations table is rewritten in (series, time) order; 0: never by itself")
    future_horizon_hours: float = Field(
        default=24.0, gt=0, le=24 * 366 * 100,
        description="readings stamped more than this past now are refused [h]; widen it to store forecasts")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="names clients use to reach the server (the Host header), besides the "
        "loopback names (localhost, 127.0.0.1, ::1) and the bind address, which are always allowed: e.g. "
        "LINGANG_ALLOWED_HOSTS='[\"twin.example.com\"]'; '*.example.com' allows its subdomains, '*' any name "
        "(only behind a proxy that checks Host itself); any other Host is answered 400 (DNS rebinding)")
    allowed_origins: list[str] = Field(
        default_factory=list, description="origins besides the server's own (scheme://host[:port]) whose browser "
        "pages may send state-changing requests; any other Origin is answered 403 (cross-site request forgery)")
    tls_cert: Path | None = Field(default=None, description="PEM certificate (chain) to serve HTTPS with; "
                                  "needs tls_key")
    tls_key: Path | None = Field(default=None, description="PEM private key of tls_cert")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="comma-separated addresses (or '*') of reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto are believed (the client address rate limits key on)")
    sign_in_per_minute: float = Field(default=10.0, ge=0, description="sign-in attempts allowed per client "
                                      "address and per user name, sustained; 0: unlimited [1/min]")
    sign_in_burst: int = Field(default=10, ge=1, description="sign-in attempts allowed at once before the rate "
                               "applies")
    ingest_per_second: float = Field(default=100.0, ge=0, description="readings batches (POST /api/v1/"
                                     "observations) allowed per API key or user, sustained; the platform itself "
                                     "(no accounts) is not limited; 0: unlimited [1/s]")
    ingest_burst: int = Field(default=200, ge=1, description="ingest batches allowed at once before the rate "
                              "applies")
    env: str = Field(default="development", description="development | production")
    packs: list[str] = Field(
        default_factory=list, description="more packs to load beside the built-in ones, each as 'module:attribute' "
        "of a lingang_twin.core.packs.Pack (e.g. LINGANG_PACKS='[\"beehives:PACK\"]'); see docs/packs.md")
    pack_configs: dict[str, Path] = Field(
        default_factory=dict, description="JSON file of each pack's configuration, by pack name (e.g. "
        "LINGANG_PACK_CONFIGS='{\"energy\": \"energy.json\"}'); LINGANG_<PACK>_CONFIG names one pack's file "
        "(e.g. LINGANG_ENERGY_CONFIG, see README, Energy management)")

    classification_file: Path | None = Field(
        default=None, description="JSON file overriding data grades (数据分级): type → attribute → grade, e.g. "
        "{\"Building\": {\"occupants\": \"personal\"}}; see docs/security.md")
    # -- accounts (docs/security.md) -----------------------------------------------------------------------------
    secret_key: SecretStr | None = Field(default=None, description="the key that signs access tokens (JWT HS256), at "
                                         "least 32 characters; or name a file in LINGANG_SECRET_KEY_FILE. Neither: "
                                         "a key file beside the DB (<db>.secret-key, mode 0600), made on first use")
    secret_key_file: Path | None = Field(default=None, description="file holding the token signing key")
    access_token_minutes: float = Field(default=15.0, gt=0, le=24 * 60, description="lifetime of an access token "
                                        "[min]")
    refresh_token_hours: float = Field(default=12.0, gt=0, le=24 * 90, description="lifetime of a session (its "
                                       "refresh token) [h]")
    lock_after: int = Field(default=20, ge=1, le=1000, description="wrong passwords in a row that lock an account")
    lock_minutes: float = Field(default=15.0, gt=0, le=24 * 60, description="how long a locked account stays "
                                "locked [min]")

    def pack_config_file(self, name: str) -> Path | None:
        """The JSON file of pack ``name``'s configuration: ``pack_configs[name]``, else the file named by
        ``LINGANG_<NAME>_CONFIG``; ``None`` when neither is set. Read for every pack the faces load, so that a new
        pack needs no field here."""
        if name in self.pack_configs:
            return self.pack_configs[name]
        value = os.environ.get(f"LINGANG_{name.upper()}_CONFIG", "").strip()
        return Path(value) if value else None
