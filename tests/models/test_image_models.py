"""Image models for real: the bundled DCGAN, CLIP through a tiny open_clip checkpoint built on disk, NudeNet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.base import GenerationRequest, derive_seed
from aigc_workflow.generation.image import ImageGenerator, image_prompt
from aigc_workflow.scoring.base import ScoringContext, ScoringItem, score_safely
from aigc_workflow.settings import Settings

pytestmark = pytest.mark.slow

FACE = BriefSpec(ref="face", modality="image", topic="A friendly face for the team page")
SUNSET = BriefSpec(ref="sunset", modality="image", topic="A sunset over the sea", keywords=("orange", "calm"))
# A CLIP small enough to build in a second: one layer per tower, 32 wide, the real 49408-token vocabulary.
TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def requests(brief: BriefSpec, n: int, batch_seed: int = 0) -> list[GenerationRequest]:
    return [GenerationRequest(brief, i, derive_seed(batch_seed, brief.ref, i)) for i in range(n)]


@pytest.fixture
def image_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url="sqlite://", device="cpu")


@pytest.fixture
def faces(image_settings: Settings) -> list[str]:
    generator = ImageGenerator(image_settings)
    return [d.image_path for d in generator.generate(requests(FACE, 3) + requests(SUNSET, 2))]


def test_dcgan_writes_reproducible_64px_pngs_with_their_lineage(image_settings: Settings) -> None:
    generator = ImageGenerator(image_settings)
    assert generator.model_version.startswith("bundled:dcgan-faces-64@")
    drafts = generator.generate(requests(FACE, 6))
    contents = [Path(d.image_path).read_bytes() for d in drafts]
    assert len(set(contents)) == 6  # every seed its own face
    for draft in drafts:
        with Image.open(draft.image_path) as image:
            assert image.size == (64, 64) and image.mode == "RGB"
            lineage = json.loads(image.text["aigc:lineage"])
        assert lineage == {"seed": draft.request.seed, "model_version": generator.model_version,
                           "prompt": image_prompt(FACE)}
        assert draft.text is None and draft.prompt == image_prompt(FACE)
        latent = np.load(Path(draft.image_path).with_suffix(".npy"))
        assert latent.shape == (100,) and draft.params["latent"] == [float(v) for v in latent]
        assert draft.params["latent_source"] == {"mode": "prior"}
    # Each image depends on its own seed only: alone, or in another batch, in another process, it is the same.
    fresh = ImageGenerator(image_settings)
    for index in (0, 4):
        again = fresh.generate([drafts[index].request])[0]
        assert Path(again.image_path).read_bytes() == contents[index]


def test_dcgan_feedback_changes_latents_and_cache_keys(image_settings: Settings) -> None:
    from aigc_workflow.latent_steering import LatentFeedback

    generator = ImageGenerator(image_settings)
    first = generator.generate(requests(FACE, 2))
    feedback = LatentFeedback(good=(tuple(first[0].params["latent"]),), bad=(tuple(first[1].params["latent"]),),
                              good_ids=(1,), bad_ids=(2,))
    steered = generator.with_feedback(feedback)
    assert steered._state is generator._state  # same weights, loaded once
    assert steered.params["steering"]["feedback"] == feedback.fingerprint()
    assert "steering" not in generator.params
    drafts = steered.generate(requests(FACE, 4, batch_seed=9))
    assert {d.params["latent_source"]["mode"] for d in drafts} <= {"near_good", "explore"}
    plain = generator.generate(requests(FACE, 4, batch_seed=9))
    assert all(a.image_path != b.image_path for a, b in zip(drafts, plain, strict=True))


def build_tiny_clip(folder: Path) -> tuple[str, Path]:
    """Register the tiny config under a name, save random weights as a plain state_dict; returns (name, file)."""
    import open_clip
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "aigc-tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model("aigc-tiny-clip")
    weights = folder / "tiny_clip.pt"
    torch.save(model.state_dict(), weights)
    return "aigc-tiny-clip", weights


def test_clip_scores_from_a_local_checkpoint_file_batched_like_one_at_a_time(
    image_settings: Settings, faces: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import open_clip
    import torch

    from aigc_workflow.scoring import clip

    name, weights = build_tiny_clip(tmp_path / "clip")
    settings = image_settings.model_copy(update={"clip_model": name, "clip_checkpoint": weights})
    briefs = [FACE] * 3 + [SUNSET] * 2
    items = [ScoringItem(brief, None, path, i) for i, (brief, path) in enumerate(zip(briefs, faces, strict=True))]
    monkeypatch.setattr(clip, "BATCH", 2)  # 5 images and 2 prompts in batches of 2
    scorer = clip.ClipScorer(settings)
    results = score_safely(scorer, items, ScoringContext())
    assert all(r.error is None for r in results)
    assert results[0].model == f"open_clip:{name}/tiny_clip.pt" and len(results[0].version) == 12

    # The same model loaded by hand, one image and one prompt at a time, gives the same scores.
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=str(weights))
    tokenizer = open_clip.get_tokenizer(name)
    model.eval()
    for item, result in zip(items, results, strict=True):
        with torch.inference_mode():
            image = model.encode_image(preprocess(Image.open(item.image_path).convert("RGB"))[None])
            text = model.encode_text(tokenizer([image_prompt(item.brief)]))
        cosine = float(torch.nn.functional.cosine_similarity(image, text).item())
        assert result.details["cosine"] == pytest.approx(cosine, abs=1e-5)
        assert result.value == pytest.approx(2.5 * max(cosine, 0.0), abs=1e-5)
        assert result.details["prompt"] == image_prompt(item.brief)


def test_clip_loads_an_open_clip_folder(image_settings: Settings, faces: list[str], tmp_path: Path) -> None:
    import shutil

    from aigc_workflow.scoring.clip import ClipScorer

    _, weights = build_tiny_clip(tmp_path / "build")
    folder = tmp_path / "tiny-clip-folder"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP, "preprocess_cfg": {}}))
    shutil.copy(weights, folder / "open_clip_pytorch_model.bin")
    scorer = ClipScorer(image_settings.model_copy(update={"clip_checkpoint": folder}))
    results = score_safely(scorer, [ScoringItem(FACE, None, faces[0], 1)], ScoringContext())
    assert results[0].error is None and 0.0 <= results[0].value <= 2.5
    assert results[0].model == "open_clip:tiny-clip-folder"


def test_clip_without_weights_says_how_to_provide_them(image_settings: Settings, faces: list[str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from aigc_workflow.scoring.clip import ClipScorer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    item = ScoringItem(FACE, None, faces[0], 1)
    for update in ({}, {"clip_checkpoint": tmp_path / "missing.pt"}, {"clip_pretrained": "no-such-tag"}):
        (result,) = score_safely(ClipScorer(image_settings.model_copy(update=update)), [item], ScoringContext())
        assert result.value is None and result.error.startswith("model unavailable")
        assert "AIGC_CLIP_CHECKPOINT" in result.error and "open_clip_config.json" in result.error


def test_nudenet_finds_a_face_and_nothing_explicit_in_a_generated_face(image_settings: Settings, faces: list[str]) -> None:
    from aigc_workflow.scoring.nsfw import NsfwScorer

    scorer = NsfwScorer(image_settings)
    items = [ScoringItem(FACE, None, path, i) for i, path in enumerate(faces[:3])]
    results = score_safely(scorer, items, ScoringContext())
    assert [r.value for r in results] == [0.0, 0.0, 0.0]
    assert results[0].version.startswith("nudenet==3.4.2/320n@")
    labels = {d["class"] for r in results for d in r.details["detections"]}
    assert labels & {"FACE_FEMALE", "FACE_MALE"}


def test_nudenet_holds_only_the_draft_whose_file_is_missing(image_settings: Settings, faces: list[str],
                                                            tmp_path: Path) -> None:
    from aigc_workflow.scoring.nsfw import NsfwScorer

    gone = str(tmp_path / "gone.png")
    items = [ScoringItem(FACE, None, path, i) for i, path in enumerate([faces[0], gone, faces[1]])]
    results = score_safely(NsfwScorer(image_settings), items, ScoringContext())
    assert [r.value for r in results] == [0.0, None, 0.0]
    assert results[1].error.startswith(f"draft 1: image {gone} cannot be read")
