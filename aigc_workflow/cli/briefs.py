"""`aigc brief`: import and list briefs."""

from __future__ import annotations

from pathlib import Path

import typer

from aigc_workflow.cli.common import JsonOption, db_session, fail, print_json, print_table

app = typer.Typer(help="Briefs: what the team asks for.", no_args_is_help=True)


def brief_json(brief) -> dict:  # type: ignore[no-untyped-def]
    from aigc_workflow.db.repo import brief_to_spec

    return {"id": brief.id, **brief_to_spec(brief).model_dump(mode="json")}


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="A YAML list of briefs or a CSV with a header row."),
    json_out: bool = JsonOption,
) -> None:
    """Import briefs from YAML or CSV: all or nothing; re-importing duplicates nothing."""
    from aigc_workflow.briefs import BriefFileError, load_briefs
    from aigc_workflow.db.repo import upsert_briefs

    try:
        specs = load_briefs(file)
    except BriefFileError as error:
        fail(str(error))
    with db_session() as session:
        result = upsert_briefs(specs, session=session)
    if json_out:
        print_json({"file": str(file), **result.__dict__})
    else:
        typer.echo(f"{file}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")


@app.command("list")
def list_(json_out: bool = JsonOption) -> None:
    """List every brief."""
    from aigc_workflow.db.repo import list_briefs

    with db_session() as session:
        rows = [brief_json(b) for b in list_briefs(session=session)]
    if json_out:
        print_json(rows)
        return
    columns = ["id", "ref", "modality", "channel", "topic"]
    if any(row["facts"] for row in rows):
        # One cell per brief, facts as the CSV column writes them; briefs without facts list as before.
        columns.append("facts")
        rows = [{**row, "facts": "; ".join(row["facts"]) or None} for row in rows]
    print_table(rows, columns)
