"""content_batch with a briefs file mixing text and image briefs: echo text, the real bundled DCGAN, image scorers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from flows.content_batch import ContentBatchConfig, content_batch

pytestmark = pytest.mark.slow  # runs the real DCGAN and NudeNet (about a second each on CPU)

# publish=2: every candidate that passes goes out, so each image draft's publication can be checked.
BRIEFS = [
    BriefSpec(ref="trees", topic="Why cities need trees", keywords=("shade",), channel="blog", publish=2),
    BriefSpec(ref="team-face", modality="image", topic="A friendly face for the team page", channel="web",
              publish=2),
]


@pytest.fixture
def mixed_env(echo_env: Path, db_url: str) -> Path:
    with session_scope(db_url) as session:
        repo.upsert_briefs(BRIEFS, session=session)
    return echo_env


def test_mixed_batch_generates_scores_and_publishes_images_with_lineage(mixed_env: Path, db_url: str, monkeypatch, flow_artifacts) -> None:  # type: ignore[no-untyped-def]
    # CLIP weights cannot be downloaded here: leave CLIP out so the images can pass and be published.
    monkeypatch.setenv("AIGC_IMAGE_SCORERS", '["nsfw", "image_originality"]')
    state = content_batch(ContentBatchConfig(candidates=2, seed=5), return_state=True)
    summary = state.result()
    assert summary["drafts"] == 4 and summary["briefs"] == 2
    assert summary["decisions"] == {"approved": 4}
    assert summary["published"] == 4

    with session_scope(db_url) as session:
        drafts = {(d.brief.ref, d.candidate_index): d for d in repo.list_drafts(session=session)}
        image = drafts[("team-face", 0)]
        assert str(image.modality) == "image" and image.text is None
        assert image.model_version.startswith("bundled:dcgan-faces-64@")
        assert image.prompt == "A friendly face for the team page"
        assert image.params["backend"] == "dcgan" and len(image.params["latent"]) == 100
        assert {s.scorer for s in image.scores} == {"nsfw", "image_originality"}
        assert {s.scorer for s in drafts[("trees", 0)].scores} == {"format"}
        publication = image.publications[0]
        png = Path(image.image_path)
        latent = np.load(png.with_suffix(".npy"))
    assert png.is_file() and png.is_relative_to(mixed_env / "images")
    with Image.open(png) as opened:
        assert opened.size == (64, 64) and opened.mode == "RGB"
        assert json.loads(opened.text["aigc:lineage"])["seed"] == image.seed
    np.testing.assert_array_equal(latent, np.asarray(image.params["latent"], dtype=np.float32))

    # The channel folder is self-contained: markdown links the PNG copied beside it.
    markdown = Path(publication.location)
    assert markdown.parent == mixed_env / "published" / "web"
    assert markdown.read_text().strip() == f"![A friendly face for the team page](draft-{image.id}.png)"
    assert (markdown.parent / f"draft-{image.id}.png").read_bytes() == png.read_bytes()
    lineage = json.loads(markdown.with_suffix(".json").read_text())
    assert lineage["seed"] == image.seed and lineage["params"]["latent"] == image.params["latent"]
    assert lineage["published_image"] == f"draft-{image.id}.png"

    artifacts = flow_artifacts(state.state_details.flow_run_id)
    gallery = artifacts[f"batch-{summary['batch_id']}-images"].data
    assert gallery.count("data:image/png;base64,") == 2

    # Same seed again: nothing regenerated, nothing published twice, and the PNGs are byte-identical.
    before = png.read_bytes()
    again = content_batch(ContentBatchConfig(candidates=2, seed=5))
    assert again["published"] == 4 and png.read_bytes() == before
    with session_scope(db_url) as session:
        assert len(repo.list_drafts(session=session)) == 4


def test_image_drafts_are_held_when_clip_has_no_weights(mixed_env: Path, db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("AIGC_IMAGE_SCORERS", '["clip"]')
    summary = content_batch(ContentBatchConfig(candidates=1, brief_refs=["team-face"]))
    assert summary["decisions"] == {"held": 1} and summary["published"] == 0
    with session_scope(db_url) as session:
        draft = repo.list_drafts(session=session)[0]
        (reason,) = draft.verdict.reasons
    assert reason.startswith("clip: model unavailable")
    assert "AIGC_CLIP_CHECKPOINT" in reason  # says how to provide the weights
