"""The whole loop on the bundled model: publish, rate, fine-tune, evaluate, promote, roll back, draft again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.cli.main import app
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from flows.content_batch import ContentBatchConfig, content_batch
from flows.finetune import FinetuneConfig, finetune

pytestmark = pytest.mark.slow

# publish=2: both candidates of each brief may go out, so there are enough publications to rate for a run.
BRIEFS = [
    BriefSpec(ref="trees", topic="Why cities should plant more street trees", publish=2),
    BriefSpec(ref="sleep", topic="Three simple habits for better sleep", publish=2),
    BriefSpec(ref="cycling", topic="The benefits of cycling to work", publish=2),
    BriefSpec(ref="reading", topic="Why children should read every day", publish=2),
]


SMALL_WRITER = "bundled:smollm2-135m-instruct"
DEFAULT_WRITER = "bundled:qwen2.5-coder-1.5b-instruct"


# The loop on the small writer (transformers), and on the default writer: llama.cpp drafts, a PEFT adapter
# trained on its dequantised weights, converted to a GGUF LoRA, and both sides of the evaluation on llama.cpp.
# The default writer's loop converts 1.5B weights and trains them on a CPU: about 10 minutes on 2 idle cores.
@pytest.fixture(params=[SMALL_WRITER, pytest.param(DEFAULT_WRITER, marks=pytest.mark.timeout(2400))],
                ids=["small-writer", "default-writer"])
def writer(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def loop_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str, model_cache: Path,
             writer: str) -> Iterator[Path]:
    """One database is enough here: the database layer is tested on both elsewhere; this tests the loop."""
    from aigc_workflow import workers
    from aigc_workflow.settings import get_settings

    # Small numbers keep the loop to about a minute on two CPU cores; the code paths are the real ones.
    for key, value in {
        "AIGC_HOME": str(tmp_path / "home"),
        "AIGC_MODEL_CACHE": str(model_cache),
        "AIGC_TEXT_MODEL": writer,
        "AIGC_DATABASE_URL": sqlite_url,
        "AIGC_TEXT_SCORERS": '["toxicity", "format"]',
        "AIGC_GENERATION__MAX_NEW_TOKENS": "24",
        "AIGC_FINETUNE__SFT_STEPS": "2",
        "AIGC_FINETUNE__PREFERENCE_STEPS": "1",
        "AIGC_FINETUNE__BATCH_SIZE": "2",
        "AIGC_FINETUNE__EVAL_BRIEFS": "2",
        "AIGC_FINETUNE__EVAL_MAX_NEW_TOKENS": "16",
        "AIGC_FINETUNE__LEARNING_RATE": "0.01",
        "AIGC_FINETUNE__FILTERS_REPORT_LIMIT": "20",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    workers.clear()
    with session_scope(sqlite_url) as session:
        repo.upsert_briefs(BRIEFS, session=session)
    yield tmp_path / "home"
    get_settings.cache_clear()
    workers.clear()


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_feedback_flows_back_into_the_generator(loop_env: Path, sqlite_url: str, tmp_path: Path, writer: str,
                                                flow_artifacts) -> None:  # type: ignore[no-untyped-def]
    assert finetune(FinetuneConfig())["status"] == "skipped"  # no feedback yet: nothing changes
    assert json.loads(cli("models", "list", "--json")) == []

    first = content_batch(ContentBatchConfig(candidates=2, seed=1))
    assert first["published"] >= 6, first
    publications = [p["id"] for d in json.loads(cli("drafts", "list", "--json")) for p in d["publications"]]
    ratings = [{"publication_id": pid, "rating": 5 if i % 2 == 0 else 1, "rater": "panel"}
               for i, pid in enumerate(publications)]
    ratings_file = tmp_path / "ratings.json"
    ratings_file.write_text(json.dumps(ratings))
    cli("ratings", "import", str(ratings_file))

    state = finetune(FinetuneConfig(), return_state=True)
    result = state.result()
    assert result["status"] in ("promoted", "candidate"), result
    artifacts = flow_artifacts(state.state_details.flow_run_id)
    assert f"finetune-evaluation-{result['version_id']}" in artifacts
    quality = artifacts[f"finetune-{result['run_id']}-filter-quality"].data
    assert "toxicity" in quality and "AUC" in quality
    version = json.loads(cli("models", "show", str(result["version_id"]), "--json"))
    training = version["metrics"]["training"]
    assert training["sft"]["steps"] == 2 and training["kto"]["steps"] == 1
    assert training["max_lora_weight_change"] > 0  # the adapter's weights moved
    evaluation = version["metrics"]["evaluation"]
    assert evaluation["briefs"] and len(evaluation["briefs"]) == 2
    assert evaluation["candidate"]["drafts"] == evaluation["incumbent"]["drafts"] == 2
    assert Path(version["path"], "adapter_model.safetensors").is_file()
    if writer == DEFAULT_WRITER:
        assert Path(version["path"], ".lora.gguf").is_file(), "the version drafts through llama.cpp"

    cli("models", "promote", str(result["version_id"]))
    listed = {v["id"]: v for v in json.loads(cli("models", "list", "--json"))}
    assert listed[result["version_id"]]["status"] == "promoted"
    assert set(listed[result["version_id"]]) >= {"id", "name", "status", "parent", "metrics"}

    second = content_batch(ContentBatchConfig(candidates=1, seed=2, brief_refs=["trees"]))
    drafts = json.loads(cli("drafts", "list", "--batch", str(second["batch_id"]), "--json"))
    assert drafts and all(d["model_version"].startswith(f"registry:{version['name']}@") for d in drafts)

    assert "no earlier text version" in cli("models", "rollback")
    assert json.loads(cli("models", "show", str(result["version_id"]), "--json"))["status"] == "retired"
    third = content_batch(ContentBatchConfig(candidates=1, seed=3, brief_refs=["trees"]))
    drafts = json.loads(cli("drafts", "list", "--batch", str(third["batch_id"]), "--json"))
    assert all(d["model_version"].startswith(f"{writer}@") for d in drafts)
