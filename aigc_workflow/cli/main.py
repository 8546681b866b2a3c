"""The `aigc` command: one Typer app with a sub-app per area."""

from __future__ import annotations

import os
import warnings

# Model loads draw a "Loading weights" progress bar per model on stderr (transformers follows the Hub's switch);
# a batch loads several, and those bars buried what the run itself says. Set before anything imports the Hub.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# Fine-tuning prepares its datasets with a bar per step ("Tokenizing train dataset", ...): the run's own
# training bar says how far it is.
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
# Libraries' deprecation notices are for their developers, not for a person running a batch.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
# Prefect logs every task's state at INFO; the run's UI and its stored log keep those lines. The terminal shows
# the engine's own progress bars and summary, and Prefect's warnings and errors. Set before Prefect is imported.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
# Nothing about a team's runs leaves the machine: Prefect's client (and other libraries that honour the
# convention) send no usage data, and do not print their notice about it into the first run.
os.environ.setdefault("DO_NOT_TRACK", "1")

import typer

from aigc_workflow import __version__
from aigc_workflow.cli import briefs, db, drafts, filters, models, ratings, server
from aigc_workflow.cli.review import review
from aigc_workflow.cli.run import run
from aigc_workflow.cli.score import score
from aigc_workflow.cli.serve import serve

app = typer.Typer(
    name="aigc",
    help="Content-production workflow engine: generate, score, gate, review, publish, learn from feedback.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(briefs.app, name="brief")
app.add_typer(drafts.app, name="drafts")
app.command()(run)
app.command()(score)
app.command()(review)
app.add_typer(models.app, name="models")
filters.register_models_commands(models.app)  # build-bias
app.add_typer(filters.app, name="filters")
app.command()(models.finetune)
app.command()(serve)
app.add_typer(server.app, name="server")
ratings.register(app)  # rate, ratings, api


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aigc-workflow {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Settings come from AIGC_* environment variables and an optional ./aigc.toml (AIGC_CONFIG names another)."""
