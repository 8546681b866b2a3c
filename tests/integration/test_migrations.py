"""Migrations: they go up and down on SQLite and PostgreSQL, and match the ORM models exactly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aigc_workflow.db import migrate
from aigc_workflow.db.base import Base
from aigc_workflow.db.session import get_engine

TABLES = {
    "briefs", "batches", "drafts", "scores", "verdicts", "reviews",
    "publications", "ratings", "model_versions", "finetune_runs", "batch_drafts",
}


def tables(url: str) -> set[str]:
    return set(sa.inspect(get_engine(url)).get_table_names()) - {"alembic_version"}


def test_migrations_go_down_to_nothing_and_back_up(db_url: str) -> None:
    assert migrate.current_revision(db_url) == migrate.head_revision(db_url)
    assert tables(db_url) == TABLES
    migrate.downgrade(db_url, "base")
    assert tables(db_url) == set()
    assert migrate.current_revision(db_url) is None
    migrate.upgrade(db_url)
    assert tables(db_url) == TABLES


def test_autogenerate_finds_no_drift_between_models_and_migrations(db_url: str) -> None:
    with get_engine(db_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_ensure_schema_upgrades_embedded_sqlite_but_asks_before_touching_postgres(tmp_path, postgres_url) -> None:
    import pytest

    fresh = f"sqlite:///{tmp_path / 'new.db'}"
    migrate.ensure_schema(fresh)
    assert migrate.current_revision(fresh) == migrate.head_revision(fresh)
    migrate.downgrade(postgres_url, "base")
    with pytest.raises(migrate.SchemaOutOfDate, match="run `aigc db upgrade`"):
        migrate.ensure_schema(postgres_url)


def test_0004_gives_stored_briefs_no_facts_and_keeps_their_hash(db_url: str) -> None:
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.db import repo
    from aigc_workflow.db.session import session_scope

    migrate.downgrade(db_url, "0003")
    assert "facts" not in {c["name"] for c in sa.inspect(get_engine(db_url)).get_columns("briefs")}
    spec = BriefSpec(ref="old", topic="Stored before facts", keywords=("k",))
    with get_engine(db_url).begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO briefs (ref, modality, topic, keywords, avoid, content_hash, created_at, updated_at) "
            "VALUES ('old', 'text', 'Stored before facts', '[\"k\"]', '[]', :digest, :now, :now)"
        ), {"digest": spec.content_hash(), "now": "2026-12-01 00:00:00+00:00"})
    migrate.upgrade(db_url)
    with session_scope(db_url) as session:
        (brief,) = repo.list_briefs(session=session)
        assert brief.facts == []
        assert repo.brief_to_spec(brief) == spec
        assert repo.brief_to_spec(brief).content_hash() == brief.content_hash
    migrate.downgrade(db_url, "0003")
    assert "facts" not in {c["name"] for c in sa.inspect(get_engine(db_url)).get_columns("briefs")}
    migrate.upgrade(db_url)
