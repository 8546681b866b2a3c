"""Shared CLI plumbing: settings, database sessions, JSON output and error reporting."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from sqlalchemy.orm import Session

from aigc_workflow.settings import Settings, get_settings

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def settings() -> Settings:
    try:
        return get_settings()
    except Exception as error:  # noqa: BLE001 - a bad env var or aigc.toml is the user's to fix
        fail(f"invalid configuration: {error}")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextmanager
def db_session() -> Iterator[Session]:
    """A session on the configured database, its schema brought to head (SQLite) or checked (others)."""
    from aigc_workflow.db.migrate import SchemaOutOfDate, ensure_schema
    from aigc_workflow.db.session import session_scope

    url = settings().db_url
    try:
        ensure_schema(url)
    except SchemaOutOfDate as error:
        fail(str(error))
    with session_scope(url) as session:
        yield session


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a database that went away into one clear line naming it (password hidden), not a traceback."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as error:
        url = make_url(settings().db_url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(f"database {url} failed: {reason}. Nothing stored is lost: when it is back, run the same "
             "command again; stored drafts are reused and nothing is published twice.")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)
