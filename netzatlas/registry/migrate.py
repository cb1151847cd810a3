"""Schema migrations with alembic, configured in code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from netzatlas.config import get_settings
from netzatlas.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlalchemy_url(url: str) -> str:
    """A libpq URL as SQLAlchemy wants it (the psycopg 3 driver)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def alembic_config(url: str, srid: int | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    cfg.attributes["srid"] = srid or get_settings().storage_srid
    return cfg


def reachable(url: str) -> None:
    """DatabaseUnavailable (a message, not a traceback) when the database cannot be connected to."""
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        psycopg.connect(libpq, connect_timeout=15).close()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database: {str(exc).strip()}",
            hint="start the embedded one with `netzatlas db start` or check NETZATLAS_DATABASE_URL",
        ) from None


def upgrade(url: str, revision: str = "head", srid: int | None = None) -> None:
    """Bring the database schema up to ``revision``."""
    reachable(url)
    command.upgrade(alembic_config(url, srid), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://x/y")).get_current_head()


def is_current(url: str) -> bool:
    return current_revision(url) == head_revision()
