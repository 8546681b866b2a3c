"""Pure parts of the image scorers: the CLIPScore formula, the perceptual hash, the NSFW value, the gallery."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.scoring.base import ScoringContext, ScoringItem, image_problem
from aigc_workflow.scoring.clip import ClipScorer, clip_score, cosines
from aigc_workflow.scoring.image_originality import ImageOriginalityScorer, hamming, phash
from aigc_workflow.scoring.nsfw import nsfw_value, nudity_problems
from aigc_workflow.settings import Settings


def test_clip_score_is_two_and_a_half_times_the_clipped_cosine() -> None:
    images = np.array([[1.0, 0.0], [3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    texts = np.array([[2.0, 0.0], [4.0, 3.0], [-1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(cosines(images, texts), [1.0, 0.96, -1.0, 2**-0.5])
    # Scale does not matter, negative cosines clip to 0 (Hessel et al. 2021, w = 2.5).
    np.testing.assert_allclose(clip_score(images, texts), [2.5, 2.4, 0.0, 2.5 * 2**-0.5])


def picture(seed: int, size: int = 64) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = (int(v) for v in rng.integers(0, size - 16, 2))
        draw.ellipse((x0, y0, x0 + 16, y0 + 24), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return image


def test_phash_matches_imagehash_and_survives_recompression_and_resizing() -> None:
    imagehash = pytest.importorskip("imagehash")
    for seed in range(5):
        image = picture(seed)
        assert phash(image) == int(str(imagehash.phash(image)), 16)
    image = picture(0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=60)
    assert hamming(phash(image), phash(Image.open(buffer))) <= 2
    assert hamming(phash(image), phash(image.resize((160, 160)))) <= 2
    assert hamming(phash(image), phash(picture(1))) >= 14


def test_image_originality_flags_duplicates_in_the_batch_and_of_published_images(tmp_path: Path) -> None:
    paths = []
    for name, seed in (("a", 0), ("b", 1), ("a_copy", 0), ("published", 2), ("c", 2)):
        path = tmp_path / f"{name}.png"
        picture(seed).save(path)
        paths.append(str(path))
    a, b, a_copy, published, c = paths
    brief = BriefSpec(ref="x", topic="x", modality="image")
    items = [ScoringItem(brief, None, path, i) for i, path in enumerate([a, b, a_copy, c])]
    scorer = ImageOriginalityScorer(Settings(home=tmp_path, database_url="sqlite://"))
    results = scorer.score(items, ScoringContext(published_image_paths=(published, str(tmp_path / "gone.png"))))
    values = [r.value for r in results]
    assert values[0] == values[2] == 0.0  # a and its copy: each the other's duplicate
    assert results[0].details["closest"] == {"source": "batch", "index": 2, "hamming": 0}
    assert values[1] > 0.2
    assert values[3] == 0.0 and results[3].details["closest"]["source"] == "published"
    assert results[3].details["missing_published_files"] == 1
    alone = scorer.score(items[1:2], ScoringContext())[0]
    assert alone.value == 1.0 and alone.details["compared_with"] == 0


def test_a_broken_image_holds_only_its_own_draft_and_a_broken_published_one_holds_none(tmp_path: Path) -> None:
    good, other, corrupt, published_corrupt = (tmp_path / f"{n}.png" for n in ("good", "other", "corrupt", "pub"))
    picture(0).save(good)
    picture(1).save(other)
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    published_corrupt.write_bytes(b"truncated")
    brief = BriefSpec(ref="x", topic="x", modality="image")
    items = [ScoringItem(brief, None, str(p), i) for i, p in enumerate([good, corrupt, tmp_path / "gone.png", other])]
    scorer = ImageOriginalityScorer(Settings(home=tmp_path, database_url="sqlite://"))
    results = scorer.score(items, ScoringContext(published_image_paths=(str(published_corrupt),)))
    assert results[0].value is not None and results[3].value is not None
    assert results[0].details["missing_published_files"] == 1  # the broken published file is left out
    assert results[1].value is None and f"draft 1: image {corrupt} cannot be read" in results[1].error
    assert results[2].value is None and "gone.png cannot be read (FileNotFoundError" in results[2].error
    assert image_problem(ScoringItem(brief, None, None, 7)) == "no image for draft 7"


def test_nsfw_value_counts_only_explicit_labels() -> None:
    assert nsfw_value([]) == 0.0
    assert nsfw_value([{"class": "FACE_FEMALE", "score": 0.9}, {"class": "FEET_EXPOSED", "score": 0.8}]) == 0.0
    detections = [{"class": "FEMALE_BREAST_EXPOSED", "score": 0.41}, {"class": "BUTTOCKS_EXPOSED", "score": 0.7}]
    assert nsfw_value(detections) == 0.7


def test_nsfw_problems_name_each_explicit_part_once_most_confident_first() -> None:
    detections = [{"class": "FACE_FEMALE", "score": 0.95}, {"class": "FEMALE_BREAST_EXPOSED", "score": 0.41},
                  {"class": "BUTTOCKS_EXPOSED", "score": 0.7}, {"class": "FEMALE_BREAST_EXPOSED", "score": 0.91}]
    assert nudity_problems(detections) == ["NudeNet detects exposed female breast (confidence 0.91)",
                                           "NudeNet detects exposed buttocks (confidence 0.70)"]
    assert nudity_problems([{"class": "FACE_FEMALE", "score": 0.95}]) == []


def test_image_originality_names_the_image_a_draft_duplicates(tmp_path: Path) -> None:
    paths = []
    for name, seed in (("a", 0), ("a_copy", 0), ("published", 1), ("b", 1)):
        picture(seed).save(tmp_path / f"{name}.png")
        paths.append(str(tmp_path / f"{name}.png"))
    brief = BriefSpec(ref="x", topic="x", modality="image")
    items = [ScoringItem(brief, None, paths[0], 4), ScoringItem(brief, None, paths[1], 5),
             ScoringItem(brief, None, paths[3], 6)]
    scorer = ImageOriginalityScorer(Settings(home=tmp_path, database_url="sqlite://"))
    first, _, copy_of_published = scorer.score(items, ScoringContext(published_image_paths=(paths[2],)))
    [problem] = first.details["problems"]
    assert problem == ("closest to the image of draft 5 of this batch: 0 of 64 perceptual-hash bits differ "
                       "(unrelated images: about 32)")
    assert copy_of_published.details["problems"][0].startswith(f"closest to the published image {paths[2]}: 0 of 64")


def test_clip_problems_say_how_well_the_image_matches_its_prompt(tmp_path: Path) -> None:
    picture(0).save(tmp_path / "a.png")
    scorer = ClipScorer(Settings(home=tmp_path, database_url="sqlite://"))
    scorer._model = object()  # loaded: the embeddings below stand in for the model's
    scorer.embed_images = lambda paths: np.array([[1.0, 0.0]] * len(paths))  # type: ignore[method-assign]
    scorer.embed_texts = lambda texts: np.array([[0.6, 0.8]] * len(texts))  # type: ignore[method-assign]
    brief = BriefSpec(ref="x", topic="A smiling face", keywords=("portrait",), modality="image")
    [result] = scorer.score([ScoringItem(brief, None, str(tmp_path / "a.png"), 1)], ScoringContext())
    assert result.value == 1.5
    assert result.details["problems"] == ["CLIP similarity 0.60 between the image and 'A smiling face, portrait'"]


def test_gallery_embeds_thumbnails_of_image_drafts_only(tmp_path: Path) -> None:
    from aigc_workflow.images import gallery_markdown

    path = tmp_path / "a.png"
    picture(0).save(path)
    rows = [
        {"id": 1, "brief_ref": "face", "image_path": str(path), "verdict": "held", "scores": {"nsfw": 0.0}},
        {"id": 2, "brief_ref": "trees", "image_path": None, "verdict": "approved", "scores": {"format": 1.0}},
    ]
    markdown = gallery_markdown(7, rows)
    assert markdown.count("data:image/png;base64,") == 1 and "| 1 | face | **held** | 0.000 |" in markdown
    assert "trees" not in markdown
    assert "1 more image(s)" in gallery_markdown(7, [rows[0], {**rows[0], "id": 3}], limit=1)
