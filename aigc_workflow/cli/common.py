"""Shared CLI plumbing: settings, database sessions, JSON output and error reporting."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from aigc_workflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from rich.text import Text

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")


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


def literal(value: Any) -> Text:
    """A table cell or line printed as it is: rich markup in user or model text ("[brief]") stays visible."""
    from rich.text import Text

    return Text("" if value is None else str(value))


def print_table(rows: list[dict[str, Any]], columns: list[str], *, fit: dict[str, int] | None = None,
                wide: bool = False) -> None:
    """Print rows as a table of literal cells.

    Without `fit`, long cells wrap inside their column. With `fit` (column -> the narrowest it may get), every
    row is one line that fits the terminal: those columns share the room in proportion to their floors and end
    in "…" where cut.
    `wide`: one line per row however wide that makes it (for --wide; a terminal may wrap it).
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    cells = [[literal(row.get(c)) for c in columns] for row in rows]
    console = Console()
    if fit is None and not wide:
        table = Table(*columns)
        for line in cells:
            table.add_row(*line)
        console.print(table)
        return
    for line in cells:
        for cell in line:
            # One line per row: a newline inside a preview or a reason would break the row in two.
            cell.plain = " ".join(cell.plain.split())
    natural = [max([len(c), *(line[i].cell_len for line in cells)]) for i, c in enumerate(columns)]
    # The compact box puts three characters between columns (padding, rule, padding) and none at the edges.
    room = console.width - 3 * (len(columns) - 1)
    widths = natural if wide else _fitted(natural, [(fit or {}).get(c) for c in columns], room)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, width in zip(columns, widths, strict=True):
        table.add_column(name, width=width, no_wrap=True, overflow="ellipsis")
    for line in cells:
        table.add_row(*line)
    if wide:
        console = Console(width=max(console.width, sum(widths) + 3 * (len(columns) - 1)))
    console.print(table)


def _fitted(natural: list[int], floors: list[int | None], room: int) -> list[int]:
    """Column widths within `room`: columns with a floor start at it and share what is left in proportion to it
    (a column with twice the floor grows twice as fast), never past their natural width; the others keep theirs."""
    widths = [n if f is None else min(n, f) for n, f in zip(natural, floors, strict=True)]
    spare = room - sum(widths)
    while spare > 0:
        growing = [i for i, f in enumerate(floors) if f is not None and widths[i] < natural[i]]
        if not growing:
            break
        widths[min(growing, key=lambda i: widths[i] / floors[i])] += 1  # type: ignore[operator]
        spare -= 1
    while spare < 0:
        # Narrower than the floors allow: every column gives way, widest first. (Left to rich, a table too wide
        # for its fixed widths loses whole columns.)
        shrinkable = [i for i, width in enumerate(widths) if width > 3]
        if not shrinkable:
            break
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1
        spare += 1
    return widths
