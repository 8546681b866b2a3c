"""`aigc db`: apply and inspect schema migrations."""

from __future__ import annotations

import typer

from aigc_workflow.cli.common import settings

app = typer.Typer(help="Database schema: apply and inspect migrations.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to a revision (default: the latest)."""
    from aigc_workflow.db import migrate

    url = settings().db_url
    migrate.upgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision(url)}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision ('base' removes every table).")) -> None:
    """Revert migrations down to a revision."""
    from aigc_workflow.db import migrate

    url = settings().db_url
    migrate.downgrade(url, revision)
    typer.echo(f"database at revision {migrate.current_revision(url) or 'base'}")


@app.command()
def current() -> None:
    """Show the database's revision and the latest one the code knows."""
    from aigc_workflow.db import migrate

    url = settings().db_url
    rev, head = migrate.current_revision(url), migrate.head_revision(url)
    state = "up to date" if rev == head else "out of date: run `aigc db upgrade`"
    typer.echo(f"{rev or 'none'} (head {head}, {state})")


@app.command()
def revision(message: str = typer.Option(..., "--message", "-m", help="What the schema change does.")) -> None:
    """For developers: write a new migration from the difference between the models and the database."""
    from alembic import command

    from aigc_workflow.db import migrate

    url = settings().db_url
    migrate.ensure_schema(url) if url.startswith("sqlite") else None
    command.revision(migrate.alembic_config(url), message=message, autogenerate=True)
