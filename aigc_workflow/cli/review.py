"""`aigc review`: the Prefect UI's review, from a terminal."""

from __future__ import annotations

import getpass

import typer

from aigc_workflow.cli.common import fail, print_json, settings


def _ids(value: str | None) -> set[int]:
    try:
        return {int(part) for part in (value or "").split(",") if part.strip()}
    except ValueError:
        fail(f"draft ids must be comma-separated integers, got {value!r}")


def review(
    batch: int = typer.Option(None, "--batch", help="Review this batch (default: every batch awaiting review)."),
    reviewer: str = typer.Option(None, "--reviewer", help="Your name (default: the login name)."),
    approve: str = typer.Option(None, "--approve", help="Approve these draft ids (comma-separated), no prompts."),
    reject: str = typer.Option(None, "--reject", help="Reject these draft ids (comma-separated), no prompts."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON result per batch (prompts go to stderr)."),
) -> None:
    """Review drafts waiting for a person: approve, reject or edit each, then publish what was approved."""
    from aigc_workflow import batch as stages
    from aigc_workflow.db.models import BatchStatus
    from aigc_workflow.review import ReviewInput, record_reviews
    from aigc_workflow.reviewing import awaiting_batches

    config = settings()
    reviewer = reviewer or getpass.getuser()
    scripted = approve is not None or reject is not None
    approve_ids, reject_ids = _ids(approve), _ids(reject)
    both = sorted(approve_ids & reject_ids)
    if both:
        fail(f"draft(s) {', '.join(map(str, both))} given to both --approve and --reject; decide once")
    batches = awaiting_batches(config, batch)
    if not batches and not scripted:
        if json_out:
            print_json([])
        else:
            typer.echo("nothing is waiting for review")
        return
    # Checked before anything is recorded: a mistyped id must not be ignored while the others go through.
    waiting_anywhere = {item.draft_id for waiting in batches for item in waiting.items}
    stray = sorted((approve_ids | reject_ids) - waiting_anywhere)
    if stray:
        where = f" in batch {batch}" if batch is not None else ""
        fail(f"draft(s) {', '.join(map(str, stray))} are not waiting for review{where}")
    # With --json, stdout carries only the JSON: the drafts and the questions go to stderr.
    def say(line: str) -> None:
        typer.echo(line, err=json_out)

    results = []
    for waiting in batches:
        decisions = []
        for item in waiting.items:
            if scripted:
                if item.draft_id in approve_ids | reject_ids:
                    choice = "approve" if item.draft_id in approve_ids else "reject"
                    decisions.append(ReviewInput(item.draft_id, choice))
                continue
            say(f"\n--- draft {item.draft_id} (batch {waiting.batch_id}, brief {item.brief_ref}) ---")
            say(item.text or item.image_path or "")
            say("scores: " + ", ".join(f"{k}={'error' if v is None else f'{v:.2f}'}"
                                       for k, v in sorted(item.scores.items())))
            say(f"gate: {item.verdict} ({'; '.join(item.reasons)})")
            if item.rank is not None:
                # A brief's candidates are alternatives: approving an alternate publishes it as well as (or,
                # with the chosen one rejected, instead of) the chosen draft.
                say(f"ranking: {item.rank_reason or item.choice}")
            choice = ""
            while choice not in {"a", "r", "e", "s"}:  # anything else asks again: a typo must never publish
                choice = typer.prompt("[a]pprove, [r]eject, [e]dit and approve, [s]kip",
                                      default=item.suggested[0], err=json_out).strip().lower()[:1]
            if choice == "s":
                continue
            edited = typer.prompt("edited text", err=json_out) if choice == "e" else None
            note = typer.prompt("note (optional)", default="", show_default=False, err=json_out) or None
            decisions.append(ReviewInput(item.draft_id, "reject" if choice == "r" else "approve", edited, note))
        record_reviews(config, reviewer, decisions)
        published = stages.publish_approved(config, waiting.draft_ids, waiting.review_mode)
        remaining = len(waiting.items) - len(decisions)
        if remaining == 0:
            from aigc_workflow.report import batch_rows, summarize

            summary = summarize(batch_rows(config, waiting.draft_ids))
            stages.finish_batch(config, waiting.batch_id, BatchStatus.SUCCEEDED, summary)
        results.append({
            "batch_id": waiting.batch_id,
            "reviewer": reviewer,
            "approved": [d.draft_id for d in decisions if d.decision == "approve"],
            "rejected": [d.draft_id for d in decisions if d.decision == "reject"],
            "edited": [d.draft_id for d in decisions if d.edited_text is not None],
            "published": published,
            "still_waiting": remaining,
            "status": str(BatchStatus.SUCCEEDED if remaining == 0 else BatchStatus.AWAITING_REVIEW),
        })
        if not json_out:
            typer.echo(f"batch {waiting.batch_id}: {len(decisions)} reviewed, {len(published)} published, "
                       f"{remaining} still waiting")
    if json_out:
        print_json(results)
