"""Server settings, read from COSTLAKE_* environment variables.

Settings are operator choices for one deployment; nothing here is per tenant or per source.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from costlake.storage.identity import StorageIdentity


_DURATION = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhd])?")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COSTLAKE_", extra="ignore")

    home: Path = Field(default=Path("~/.costlake"), description="Catalog, lake and demo data live here.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in the home.")
    lake_uri: str | None = Field(default=None, description="Where tenant tables live; default: <home>/lake.")
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO and the like).")
    sync_interval: timedelta = Field(default=timedelta(hours=6))
    initial_backfill_months: int = Field(default=12, ge=1, le=120)
    lake_retention: timedelta = Field(default=timedelta(days=7))
    allowed_local_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    lease_duration: timedelta = Field(default=timedelta(minutes=2), description="How long a sync lease lives without a heartbeat.")
    scheduler_tick: timedelta = Field(default=timedelta(seconds=15))
    log_format: Literal["text", "json"] = Field(default="text", description="serve/worker logs: text lines or JSON objects.")
    max_field_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest text value a sync stores; a bigger one fails the run (1 MiB)."
    )
    query_concurrency: int = Field(default=2, ge=1, le=64, description="Cost queries of one tenant that run at once.")
    query_wait: timedelta = Field(default=timedelta(seconds=30), description="How long a query waits for its turn, then 503.")
    query_cache_entries: int = Field(default=256, ge=0, description="Answers kept per tenant, for its current table version.")
    query_fold_rows: int = Field(
        default=4_000_000, ge=0, description="Rows of day-grain folds of the cost tables a process keeps for queries (0: none)."
    )
    secret_key: SecretStr | None = Field(default=None, description="Encrypts stored secrets; default: <home>/secret.key.")
    # Vendor API hosts. Only the operator sets them (tests point them at local fakes); tenants never can.
    anthropic_base_url: str = "https://api.anthropic.com"
    cursor_base_url: str = "https://api.cursor.com"
    datadog_base_url: str | None = Field(default=None, description="Overrides every Datadog site's host.")
    confluent_base_url: str = "https://api.confluent.cloud"
    aiven_base_url: str = "https://api.aiven.io"
    vendor_timeout: timedelta = Field(default=timedelta(seconds=60), description="Per vendor HTTP request.")
    vendor_max_attempts: int = Field(default=6, ge=1, le=20, description="Tries per vendor request (429, 5xx, network).")
    vendor_max_wait: timedelta = Field(default=timedelta(minutes=2), description="Longest pause between two tries.")
    # Usage metrics, events and digests (costlake.metrics, costlake.digests).
    metric_pull_interval: timedelta = Field(default=timedelta(hours=1), description="How often each metric pull runs.")
    pull_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Hosts (host or host:port) tenants may pull metrics from: Prometheus URLs, PostgreSQL DSNs."
    )
    # Alerts, notifications and digests (costlake.alerts, costlake.notify, costlake.digests): one SMTP server for all mail.
    public_url: str = Field(default="http://127.0.0.1:8080", description="The console's address, for links in messages.")
    alerts_interval: timedelta = Field(default=timedelta(hours=1), description="Every tenant's alerts are evaluated this often.")
    notify_timeout: timedelta = Field(default=timedelta(seconds=10), description="Per notification request.")
    allowed_webhook_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="host[:port] that channels may target although private or loopback."
    )
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "costlake@localhost"
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    slack_webhook_prefix: str = Field(default="https://hooks.slack.com/", description="Slack incoming-webhook URLs must start with it.")

    # The storage identity of the billing source a sync or check works for (never from the environment).
    _storage_identity: Any = PrivateAttr(default=None)

    @field_validator(
        "sync_interval", "lake_retention", "lease_duration", "scheduler_tick", "vendor_timeout", "vendor_max_wait", "metric_pull_interval",
        "alerts_interval", "notify_timeout", "query_wait", mode="before",
    )
    @classmethod
    def _parse_duration(cls, value: object) -> object:
        # Operators write "6h", "30m", "7d" or plain seconds; ISO 8601 ("PT6H") still works.
        if isinstance(value, str):
            match = _DURATION.fullmatch(value.strip())
            if match:
                amount, unit = float(match["amount"]), match["unit"] or "s"
                return timedelta(seconds=amount * _UNIT_SECONDS[unit])
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, home: Path) -> Path:
        return home.expanduser().resolve()

    @field_validator("allowed_local_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        # An env var holds an os.pathsep-separated list ("/data:/exports"); JSON lists also work.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part for part in value.split(":") if part]
        return value

    @field_validator("pull_allowed_hosts", "allowed_webhook_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        # "hooks.internal:8443,127.0.0.1:9000"; JSON lists also work.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @property
    def storage_identity(self) -> StorageIdentity | None:
        return self._storage_identity

    def with_storage_identity(self, identity: StorageIdentity | None) -> Settings:
        """These settings, reading exports as one billing source's own storage identity (None: the server's)."""
        if identity is None and self._storage_identity is None:
            return self
        copy = self.model_copy()
        copy._storage_identity = identity
        return copy

    @cached_property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'catalog.db'}"

    @cached_property
    def lake_root(self) -> str:
        return self.lake_uri or str(self.home / "lake")


def load_settings() -> Settings:
    return Settings()
