"""Opening the catalog: engine, sessions and Alembic migrations applied on start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from costlake.settings import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
POOL_SIZE, POOL_OVERFLOW = 16, 16


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE changed: the compare-and-set that claims leases and locks across processes."""
    return cast(CursorResult[Any], result).rowcount


class Catalog:
    """One engine and session factory per process; sessions are short and per operation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()


def _tune_sqlite(engine: Engine) -> None:
    # WAL lets the API read while a sync writes; busy_timeout waits for the writer instead of failing.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def open_catalog(settings: Settings) -> Catalog:
    """Create the home when needed, connect, and bring the schema up to date."""
    url = settings.catalog_url
    # Enough pooled connections for the API's worker threads: past the pool, each session would open (and tune) a
    # connection of its own and close it again, which under concurrent requests cost more than the queries.
    pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        _tune_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, **pool)
    catalog = Catalog(engine)
    catalog.migrate()
    return catalog
