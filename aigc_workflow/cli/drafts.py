"""`aigc drafts`: drafts with their scores, verdict and lineage."""

from __future__ import annotations

import typer

from aigc_workflow.cli.common import JsonOption, db_session, fail, print_json, print_table

app = typer.Typer(help="Drafts: scores, verdicts, publications and lineage.", no_args_is_help=True)


@app.command("list")
def list_(
    batch: int = typer.Option(None, "--batch", help="Only the drafts created by this batch."),
    json_out: bool = JsonOption,
) -> None:
    """List drafts with their scores, verdicts and choice (chosen, alt N: an approved alternate, or -)."""
    from aigc_workflow.db import repo
    from aigc_workflow.report import draft_json, table_rows

    with db_session() as session:
        rows = [draft_json(d) for d in repo.list_drafts(session=session, batch_id=batch)]
    if json_out:
        print_json(rows)
        return
    flat = table_rows(rows)
    columns = list(flat[0]) if flat else ["draft", "brief", "verdict"]
    print_table(flat, [c for c in columns if c != "reasons"])


@app.command()
def show(draft_id: int = typer.Argument(..., help="Draft id."), json_out: bool = JsonOption) -> None:
    """Show one draft in full: text, prompt, model version, seed, scores, verdict, ranking, reviews, publications."""
    from aigc_workflow.db import repo
    from aigc_workflow.report import draft_json

    with db_session() as session:
        draft = repo.draft_with_lineage(draft_id, session=session)
        if draft is None:
            fail(f"no draft with id {draft_id}")
        data = draft_json(draft)
    if json_out:
        print_json(data)
        return
    typer.echo(f"draft {data['id']} (batch {data['batch_id']}, brief {data['brief_ref']}, "
               f"candidate {data['candidate_index']})")
    typer.echo(f"model {data['model_version']}  seed {data['seed']}  params {data['params']}")
    typer.echo(f"verdict: {data['verdict']}  ({'; '.join(data['reasons'])})")
    if data["rank_reason"]:
        typer.echo(f"ranking: {data['rank_reason']}")
    for name, value in sorted(data["scores"].items()):
        error = data["score_details"][name].get("error")
        typer.echo(f"  {name:<12} {'error: ' + error if error else f'{value:.3f}'}")
    for publication in data["publications"]:
        typer.echo(f"published #{publication['id']} on {publication['channel']}: {publication['location']}")
    typer.echo("")
    typer.echo(data["text"] or data["image_path"] or "")
