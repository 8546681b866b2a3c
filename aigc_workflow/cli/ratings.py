"""`aigc rate`, `aigc ratings` and `aigc api`: feedback on publications, by hand, from a file or over HTTP."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from aigc_workflow.cli.choices import LogLevel
from aigc_workflow.db.models import Thumbs
from aigc_workflow.cli.common import JsonOption, db_session, fail, print_json, print_table, settings

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

app = typer.Typer(help="Ratings: feedback on what was published.", no_args_is_help=True)


def rate(
    publication_id: int = typer.Argument(..., help="Publication id (see GET /publications or `aigc drafts show`)."),
    rating: int = typer.Option(None, "--rating", "-r", help="Stars, 1 (worst) to 5 (best)."),
    thumbs: Thumbs = typer.Option(None, "--thumbs", "-t", help="A thumb up or down."),
    comment: str = typer.Option(None, "--comment", "-c", help="Free text."),
    rater: str = typer.Option(None, "--rater", help="Who is rating."),
    external_id: str = typer.Option(None, "--external-id", help="A unique key: repeating it stores the rating once."),
    json_out: bool = JsonOption,
) -> None:
    """Rate one publication: --rating 1-5, --thumbs up|down, or both."""
    from pydantic import ValidationError

    from aigc_workflow import feedback

    try:
        rating_in = feedback.RatingIn.model_validate(
            {"rating": rating, "thumbs": str(thumbs) if thumbs else None, "comment": comment, "rater": rater,
             "external_id": external_id}
        )
    except ValidationError as error:
        fail("; ".join(_message(item) for item in error.errors()))
    try:
        with db_session() as session:
            stored, created = feedback.submit_rating(publication_id, rating_in, session=session)
            data = feedback.rating_json(stored)
    except (feedback.UnknownPublication, feedback.IdempotencyConflict) as error:
        fail(str(error))
    if json_out:
        print_json({**data, "created": created})
    elif created:
        typer.echo(f"rating {data['id']} stored for publication {publication_id}")
    else:
        typer.echo(f"rating {data['id']} with external id {external_id!r} already stored; nothing written")


def _message(item: ErrorDetails) -> str:
    field = ".".join(str(part) for part in item["loc"])
    message = item["msg"].removeprefix("Value error, ")
    return f"{'--' + field.replace('_', '-') + ': ' if field else ''}{message}"


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV (publication_id,rating,thumbs,rater,comment,external_id) or JSON list."),
    json_out: bool = JsonOption,
) -> None:
    """Import ratings from CSV or JSON: all or nothing; rows whose external_id is stored already are skipped."""
    from aigc_workflow.feedback import RatingsFileError, import_ratings_file

    try:
        with db_session() as session:
            result = import_ratings_file(file, session=session)
    except RatingsFileError as error:
        fail(str(error))
    if json_out:
        print_json({"file": str(file), **result.__dict__})
    else:
        typer.echo(f"{file}: {result.created} created, {result.existing} already stored")


@app.command("list")
def list_(
    publication: int = typer.Option(None, "--publication", "-p", help="Only the ratings of this publication."),
    json_out: bool = JsonOption,
) -> None:
    """List ratings, oldest first."""
    from aigc_workflow.feedback import list_ratings, rating_json

    with db_session() as session:
        rows = [rating_json(r) for r in list_ratings(session=session, publication_id=publication)]
    if json_out:
        print_json(rows)
    else:
        print_table(rows, ["id", "publication_id", "rating", "thumbs", "rater", "comment", "created_at"])


def api(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; loopback unless you mean otherwise."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    log_level: LogLevel = typer.Option(LogLevel.INFO, "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API (OpenAPI schema at /openapi.json, docs at /docs). Needs AIGC_API_TOKEN."""
    import uvicorn

    from aigc_workflow.api import ApiTokenMissing, create_app
    from aigc_workflow.db.migrate import SchemaOutOfDate, ensure_schema

    config = settings()
    try:
        application = create_app(config)
    except ApiTokenMissing as error:
        fail(str(error))
    try:
        ensure_schema(config.db_url)
    except SchemaOutOfDate as error:
        fail(str(error))
    if not _is_loopback(host):
        typer.secho(f"warning: listening on {host}: reads need no token; put TLS in front of it", err=True,
                    fg=typer.colors.YELLOW)
    # The token is never printed: uvicorn logs request lines, not headers.
    uvicorn.run(application, host=host, port=port, log_level=str(log_level))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(root: typer.Typer) -> None:
    """Add `rate`, `ratings` and `api` to the `aigc` app (one line in main.py)."""
    root.command("rate")(rate)
    root.add_typer(app, name="ratings")
    root.command("api")(api)
