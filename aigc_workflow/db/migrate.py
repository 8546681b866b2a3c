"""Alembic driven from code: upgrade, downgrade and current revision for a database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from aigc_workflow.db.session import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Escape '%' for configparser interpolation (URLs may carry encoded passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


class SchemaOutOfDate(RuntimeError):
    """The database is not at the head revision and will not be migrated implicitly."""


def ensure_schema(url: str) -> None:
    """Bring the embedded SQLite database to head on first use; ask before touching any other database."""
    current, head = current_revision(url), head_revision(url)
    if current == head:
        return
    if url.startswith("sqlite"):
        upgrade(url)
        return
    raise SchemaOutOfDate(
        f"database {get_engine(url).url.render_as_string(hide_password=True)} is at revision {current or 'none'}, "
        f"the code expects {head}: run `aigc db upgrade`"
    )
