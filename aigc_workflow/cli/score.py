"""`aigc score`: score any text with every text scorer and show the gate's verdict."""

from __future__ import annotations

import typer

from aigc_workflow.cli.common import JsonOption, database_errors, db_session, print_json, settings


def score(
    text: str = typer.Argument(..., help="The text to score."),
    topic: str = typer.Option(None, "--topic", "-t", help="Brief topic to measure relevance against."),
    facts: list[str] = typer.Option(
        [], "--fact", "-f",
        help="A statement the text may rely on, as in a brief's facts (repeatable); names and figures that "
             "neither the topic nor a fact supports are unsupported."),
    channel: str = typer.Option(None, "--channel", help="Use this channel's gate thresholds."),
    language: str = typer.Option("en", "--language", help="The brief's language (ISO 639-1: en, de, es, ...)."),
    json_out: bool = JsonOption,
) -> None:
    """Score TEXT with every text scorer, so a team can try its filters."""
    from pydantic import ValidationError

    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.gate import decide
    from aigc_workflow.scoring.base import ScoringContext, ScoringItem, score_safely
    from aigc_workflow.db.repo import published_texts
    from aigc_workflow.workers import get_scorers

    config = settings()
    # Without a topic there is nothing to be relevant to: scoring the text against itself would say ~1.0.
    # Without a topic or a fact there is nothing to ground a claim in (every name and figure would be unsupported)
    # and nothing the text must state.
    skipped = [n for n in config.text_scorers
               if (n == "relevance" and not topic) or (n in {"groundedness", "coverage"} and not (topic or facts))]
    names = [n for n in config.text_scorers if n not in skipped]
    try:
        brief = BriefSpec(ref="cli", topic=topic or "(no topic given)", facts=tuple(facts), language=language)
    except ValidationError as error:
        problem = error.errors()[0]
        hint = {"facts": "--fact", "language": "--language"}.get(str(problem["loc"][0]), "--topic")
        raise typer.BadParameter(problem["msg"].removeprefix("Value error, "), param_hint=hint) from None
    item = ScoringItem(brief, text=text)
    context = ScoringContext()
    if "originality" in names:
        with database_errors(), db_session() as session:
            # Originality compares against what is already published, as in a batch.
            context = ScoringContext(published_texts=tuple(published_texts(session=session)))
    results = {}
    for scorer in get_scorers(names, config):
        results[scorer.name] = score_safely(scorer, [item], context)[0]
    bounds = {k: v for k, v in config.gate_for(channel or config.default_channel).items() if k in names}
    verdict = decide(results, bounds, names)
    if json_out:
        print_json({
            "scores": {name: r.value for name, r in results.items()},
            "details": {name: {"model": r.model, "version": r.version, "error": r.error, **r.details}
                        for name, r in results.items()},
            "verdict": verdict.decision,
            "reasons": list(verdict.reasons),
            "skipped": skipped,
        })
        return
    for name in skipped:
        typer.echo(f"{name:<12} skipped (give --topic{' or --fact' if name != 'relevance' else ''} to measure it)")
    for name, result in results.items():
        shown = f"error: {result.error}" if result.error else f"{result.value:.3f}"
        typer.echo(f"{name:<12} {shown}")
    typer.echo(f"verdict: {verdict.decision} ({'; '.join(verdict.reasons)})")
