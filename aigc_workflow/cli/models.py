"""`aigc models` and `aigc finetune`: the model registry, bundled model preparation and fine-tuning."""

from __future__ import annotations

import typer

from aigc_workflow.cli.common import JsonOption, db_session, fail, print_json, print_table, settings

app = typer.Typer(help="Model versions: list, show, promote, roll back; prepare bundled models.",
                  no_args_is_help=True)


@app.command("list")
def list_(kind: str = typer.Option(None, "--kind", help="Only this kind (text, image, bias)."),
          json_out: bool = JsonOption) -> None:
    """List model versions with their status, parent and metrics."""
    from aigc_workflow.models import registry

    with db_session() as session:
        rows = [registry.version_json(v) for v in registry.list_versions(session=session, kind=kind)]
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
def promote(version: str = typer.Argument(..., help="Version id or name.")) -> None:
    """Make a version the one content batches use (the previous one is retired)."""
    from aigc_workflow.models import registry

    with db_session() as session:
        try:
            promoted = registry.promote(version, session=session)
        except registry.RegistryError as error:
            fail(str(error))
        typer.echo(f"promoted {promoted.name} (id {promoted.id})")


@app.command()
def rollback(kind: str = typer.Option("text", "--kind", help="Which kind of model to roll back.")) -> None:
    """Retire the promoted version and restore the one promoted before it."""
    from aigc_workflow.models import registry

    with db_session() as session:
        try:
            restored = registry.rollback(kind, session=session)
        except registry.RegistryError as error:
            fail(str(error))
        typer.echo(f"restored {restored.name} (id {restored.id})" if restored else
                   f"no earlier {kind} version: batches use the base model {settings().text_model}")


@app.command()
def prepare() -> None:
    """Ready the bundled models once: join and verify the writer's GGUF (or convert it), build the hate detector."""
    import time

    from aigc_workflow.generation import text_backend
    from aigc_workflow.models.convert import ensure_bundled_text_model
    from aigc_workflow.models.specs import parse_spec, resolve_text_model

    started = time.perf_counter()
    config = settings()
    spec = parse_spec(config.text_model)
    if spec.kind != "bundled":
        typer.echo(f"{config.text_model} is not a bundled model: nothing to prepare for it")
    else:
        resolved = resolve_text_model(config.text_model, config)  # joins and checks a split GGUF
        if text_backend(config) == "llama.cpp":
            path = resolved.gguf_path
        else:
            path = ensure_bundled_text_model(config, spec.name)
        typer.echo(f"bundled text model {resolved.version} ready at {path} ({time.perf_counter() - started:.1f} s)")
    if config.hate_classifier:
        typer.echo(f"hate detector: the configured {config.hate_classifier}")
        return
    from aigc_workflow.filters.harm_data import HarmDataError
    from aigc_workflow.filters.hate_detector import ensure_hate_detector

    started = time.perf_counter()
    try:
        folder = ensure_hate_detector(progress=lambda line: typer.echo(line))
    except HarmDataError as error:
        fail(str(error))
    typer.echo(f"hate detector ready at {folder} ({time.perf_counter() - started:.1f} s)")


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

    with run_settings():
        result = finetune_flow(FinetuneConfig(sft_steps=sft_steps, preference_steps=preference_steps))
    if json_out:
        print_json(result)
    elif result["status"] == "skipped":
        typer.echo(result["message"])
    else:
        typer.echo(f"candidate {result['version_id']}: {result['status']} ({'; '.join(result['reasons'])})")
