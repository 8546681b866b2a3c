"""`aigc db`: apply and inspect schema migrations."""

from __future__ import annotations

import typer

from aigc_workflow.cli.common import JsonOption, print_json, settings

app = typer.Typer(help="Database schema: apply and inspect migrations.", no_args_is_help=True)


def _report(url: str, json_out: bool) -> None:
    """The database's revision and the latest one the code knows, as a line or as JSON."""
    from aigc_workflow.db import migrate

    rev, head = migrate.current_revision(url), migrate.head_revision(url)
    if json_out:
        print_json({"revision": rev, "head": head, "up_to_date": rev == head})
        return
    state = "up to date" if rev == head else "out of date: run `aigc db upgrade`"
    typer.echo(f"{rev or 'none'} (head {head}, {state})")


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision."), json_out: bool = JsonOption) -> None:
    """Apply migrations up to a revision (default: the latest)."""
    from aigc_workflow.db import migrate

    url = settings().db_url
    migrate.upgrade(url, revision)
    if json_out:
        _report(url, json_out)
    else:
        typer.echo(f"database at revision {migrate.current_revision(url)}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision ('base' removes every table)."),
              json_out: bool = JsonOption) -> None:
    """Revert migrations down to a revision."""
    from aigc_workflow.db import migrate

    url = settings().db_url
    migrate.downgrade(url, revision)
    if json_out:
        _report(url, json_out)
    else:
        typer.echo(f"database at revision {migrate.current_revision(url) or 'base'}")


@app.command()
def current(json_out: bool = JsonOption) -> None:
    """Show the database's revision and the latest one the code knows."""
    _report(settings().db_url, json_out)


@app.command()
def revision(message: str = typer.Option(..., "--message", "-m", help="What the schema change does.")) -> None:
    """For developers: write a new migration from the difference between the models and the database."""
    from alembic import command

    from aigc_workflow.db import migrate

    url = settings().db_url
    migrate.ensure_schema(url) if url.startswith("sqlite") else None
    command.revision(migrate.alembic_config(url), message=message, autogenerate=True)
