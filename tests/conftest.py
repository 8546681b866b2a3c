"""Shared fixtures: isolated settings and databases (SQLite and the local PostgreSQL), migrated once."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# No test may reach a model hub: the machines have no network, and the defaults must work offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# An aigc.toml in the developer's working directory must not leak into tests.
os.environ["AIGC_CONFIG"] = "/nonexistent/aigc.toml"

POSTGRES_ADMIN_URL = os.environ.get("AIGC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_available() -> bool:
    import sqlalchemy as sa

    try:
        with sa.create_engine(POSTGRES_ADMIN_URL).connect():
            return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    from aigc_workflow.db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    _dispose(f"sqlite:///{path}")  # closing the last connection folds the WAL into the file we copy
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as TEMPLATE for one fresh database per test."""
    import sqlalchemy as sa

    from aigc_workflow.db.migrate import upgrade

    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
    name = f"aigc_tpl_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    _dispose(url)
    yield name
    _drop(admin, name)


def _dispose(url: str) -> None:
    from aigc_workflow.db.session import get_engine

    get_engine(url).dispose()


def _drop(admin, name: str) -> None:  # type: ignore[no-untyped-def]
    # pre_ping on the admin engines: tests/e2e/test_database_outage.py restarts the server mid-session.
    import sqlalchemy as sa

    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "aigc.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    import sqlalchemy as sa

    name = f"aigc_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    _dispose(url)
    _drop(admin, name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database: each test runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def settings(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    from aigc_workflow.settings import Settings

    return Settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """Settings on SQLite only, for tests whose subject is not the database."""
    from aigc_workflow.settings import Settings

    return Settings(home=tmp_path / "home", database_url=sqlite_url)


@pytest.fixture(autouse=True)
def _fresh_settings_cache() -> Iterator[None]:
    """get_settings() is cached per process; tests that change AIGC_* variables must see a fresh one."""
    from aigc_workflow.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bundled text models readied once per test session, shared through AIGC_MODEL_CACHE.

    SmolLM2 (the fast tests' writer) converted to safetensors (about 25 s), and the default writer's GGUF
    joined from its carrier packages and checked against its pinned sha256 (a few seconds).
    """
    from aigc_workflow.models.convert import ensure_bundled_text_model
    from aigc_workflow.models.specs import resolve_text_model
    from aigc_workflow.settings import Settings

    cache = tmp_path_factory.mktemp("model-cache")
    settings = Settings(home=cache, model_cache=cache)
    ensure_bundled_text_model(settings, "smollm2-135m-instruct")
    resolve_text_model(Settings.model_fields["text_model"].default, settings)
    return cache
