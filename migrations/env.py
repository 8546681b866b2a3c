"""Alembic environment: runs migrations against the URL the engine is configured with."""

from __future__ import annotations

from alembic import context
from aigc_workflow.db import models  # noqa: F401  (registers every table on Base.metadata)
from aigc_workflow.db.base import Base
from aigc_workflow.db.session import get_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from aigc_workflow.settings import get_settings

    return get_settings().db_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with get_engine(_url()).connect() as connection:
        # Batch mode lets SQLite alter tables by copy-and-move; compare_type catches column type drift.
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
