"""`aigc score`: score any text with every text scorer and show the gate's verdict."""

from __future__ import annotations

import typer

from aigc_workflow.cli.common import JsonOption, print_json, settings


def score(
    text: str = typer.Argument(..., help="The text to score."),
    topic: str = typer.Option(None, "--topic", "-t", help="Brief topic to measure relevance against."),
    channel: str = typer.Option(None, "--channel", help="Use this channel's gate thresholds."),
    json_out: bool = JsonOption,
) -> None:
    """Score TEXT with every text scorer, so a team can try its filters."""
    from aigc_workflow.briefs import BriefSpec
    from aigc_workflow.gate import decide
    from aigc_workflow.scoring.base import ScoringContext, ScoringItem, score_safely
    from aigc_workflow.workers import get_scorers

    config = settings()
    item = ScoringItem(BriefSpec(ref="cli", topic=topic or text[:2000]), text=text)
    results = {}
    for scorer in get_scorers(config.text_scorers, config):
        results[scorer.name] = score_safely(scorer, [item], ScoringContext())[0]
    verdict = decide(results, config.gate_for(channel or config.default_channel), config.text_scorers)
    if json_out:
        print_json({
            "scores": {name: r.value for name, r in results.items()},
            "details": {name: {"model": r.model, "version": r.version, "error": r.error, **r.details}
                        for name, r in results.items()},
            "verdict": verdict.decision,
            "reasons": list(verdict.reasons),
        })
        return
    for name, result in results.items():
        shown = f"error: {result.error}" if result.error else f"{result.value:.3f}"
        typer.echo(f"{name:<12} {shown}")
    typer.echo(f"verdict: {verdict.decision} ({'; '.join(verdict.reasons)})")
