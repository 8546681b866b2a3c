"""`aigc drafts`: drafts with their scores, verdict and lineage."""

from __future__ import annotations

import json
from typing import Any

import typer

from aigc_workflow.cli.common import JsonOption, db_session, fail, print_json, print_table

app = typer.Typer(help="Drafts: scores, verdicts, publications and lineage.", no_args_is_help=True)

LIST_COLUMNS = ["draft", "brief", "verdict", "main reason", "preview"]
# The narrowest each text column may get so that a row stays one line in an 80-column terminal.
LIST_FLOORS = {"brief": 8, "main reason": 20, "preview": 16}


def list_row(row: dict[str, Any]) -> dict[str, Any]:
    """One line of `aigc drafts list`: why a rejected or held draft stopped, or how an approved one ranked."""
    reasons = row["reasons"] if row["verdict"] in ("rejected", "held") else []
    return {
        "draft": row["id"],
        "brief": row["brief_ref"],
        "verdict": row["verdict"] or "-",
        "main reason": reasons[0] if reasons else (row["rank_reason"] or ""),
        "preview": row["text"] or row["image_path"] or "",
    }


@app.command("list")
def list_(
    batch: int = typer.Option(None, "--batch", help="Only the drafts created by this batch."),
    wide: bool = typer.Option(False, "--wide", help="Every score, the choice, all reasons and publications."),
    json_out: bool = JsonOption,
) -> None:
    """List drafts: verdict, the main reason and a preview (--wide: every score; `show` for one in full)."""
    from aigc_workflow.db import repo
    from aigc_workflow.report import draft_json, table_rows

    with db_session() as session:
        rows = [draft_json(d) for d in repo.list_drafts(session=session, batch_id=batch)]
    if json_out:
        print_json(rows)
        return
    if wide:
        # The artifact's layout: one column per scorer, then the choice (chosen, alt N: an approved alternate).
        flat = table_rows(rows)
        print_table(flat, list(flat[0]) if flat else ["draft", "brief", "verdict"], wide=True)
        return
    print_table([list_row(row) for row in rows], LIST_COLUMNS, fit=LIST_FLOORS)


@app.command()
def show(draft_id: int = typer.Argument(..., help="Draft id."), json_out: bool = JsonOption) -> None:
    """Show one draft in full: lineage, verdict, every score with its details, reviews, prompt, text as published."""
    from aigc_workflow.db import repo
    from aigc_workflow.report import draft_json

    with db_session() as session:
        draft = repo.draft_with_lineage(draft_id, session=session)
        if draft is None:
            fail(f"no draft with id {draft_id}")
        data = draft_json(draft)
        published = [{"id": p.id, "channel": p.channel, "location": p.location, "text": p.text,
                      "review_id": p.review_id} for p in draft.publications]
    if json_out:
        print_json(data)
        return
    # typer.echo writes text as it is: nothing in a draft, a prompt or a note is read as markup.
    echo = typer.echo
    echo(f"draft {data['id']} (batch {data['batch_id']}, brief {data['brief_ref']}, "
         f"candidate {data['candidate_index']}, {data['modality']}, created {data['created_at']})")
    echo(f"model {data['model_version']}  seed {data['seed']}  params {json.dumps(data['params'])}")
    echo(f"verdict: {data['verdict'] or 'not gated'}")
    for reason in data["reasons"]:
        echo(f"  - {reason}")
    if data["rank_reason"]:
        echo(f"ranking: {data['rank_reason']}")
    echo("scores:" if data["scores"] else "scores: none")
    for name, value in sorted(data["scores"].items()):
        details = dict(data["score_details"][name])
        model, version, error = details.pop("model"), details.pop("version"), details.pop("error")
        echo(f"  {name:<13} {'error: ' + error if error else _value(value)}  ({model} {version})")
        for key, detail in details.items():
            echo(f"      {key}: {detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)}")
    echo("reviews:" if data["reviews"] else "reviews: none")
    for review in data["reviews"]:
        edited = "; edited the text" if review["edited_text"] is not None else ""
        note = f"; note: {review['note']}" if review["note"] else ""
        echo(f"  #{review['id']} {review['created_at']} {review['reviewer']}: {review['decision']} "
             f"(gate: {review['gate_decision']}){edited}{note}")
    echo("publications:" if published else "publications: none")
    for publication in published:
        echo(f"  #{publication['id']} on {publication['channel']}: {publication['location']}")
    echo("\n--- prompt ---")
    echo(data["prompt"])
    for label, text in _texts(data, published):
        echo(f"\n--- {label} ---")
        echo(text)


def _value(value: float | None) -> str:
    return "no value" if value is None else f"{value:.3f}"


def _texts(data: dict[str, Any], published: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, text) to print: what was published, or would be, and the model's original when a person edited it."""
    original = data["text"] if data["text"] is not None else f"(image) {data['image_path']}"
    reviews = {review["id"]: review for review in data["reviews"]}
    if published:
        where = ", ".join(f"#{p['id']} on {p['channel']}" for p in published)
        review = reviews.get(published[0]["review_id"])
        if review is not None and review["edited_text"]:
            kind = "caption" if data["text"] is None else "text"
            return [(f"published {kind} ({where}), edited by {review['reviewer']} in review #{review['id']}",
                     published[0]["text"] or ""),
                    ("original draft, as the model wrote it", original)]
        text = published[0]["text"]
        return [(f"text as published ({where})", original if text is None else text)]
    latest = data["reviews"][-1] if data["reviews"] else None
    if latest is not None and latest["edited_text"]:
        return [(f"edited by {latest['reviewer']} in review #{latest['id']} (not published)", latest["edited_text"]),
                ("original draft, as the model wrote it", original)]
    return [("text (not published)", original)]
