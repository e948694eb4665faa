"""Server settings, read from COSTLAKE_* environment variables.

Settings are operator choices for one deployment; nothing here is per tenant or per source.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from typing import Annotated

from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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

    @field_validator("sync_interval", "lake_retention", "lease_duration", "scheduler_tick", mode="before")
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

    @cached_property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'catalog.db'}"

    @cached_property
    def lake_root(self) -> str:
        return self.lake_uri or str(self.home / "lake")


def load_settings() -> Settings:
    return Settings()
