"""Ratings steer the GAN: after rating a batch, more new images resemble the well-rated ones, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aigc_workflow import batch
from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from aigc_workflow.feedback import RatingIn, add_rating
from aigc_workflow.generation.image import ImageGenerator
from aigc_workflow.image_feedback import latent_feedback
from aigc_workflow.latent_steering import share_near

pytestmark = pytest.mark.slow

# publish=12: every face of the first batch is published, so each can be rated.
BRIEF = {"ref": "face", "modality": "image", "topic": "A friendly face for the team page", "channel": "web",
         "publish": 12}


def pixels(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=np.float32).reshape(-1) / 255.0


def make_batch(settings, brief_ids: list[int], seed: int, n: int, feedback=None) -> list[int]:  # type: ignore[no-untyped-def]
    generator = ImageGenerator(settings).with_feedback(feedback)
    batch_id, _ = batch.start_batch(settings, brief_refs=["face"], seed=seed, candidates=n, review_mode="auto",
                                    config={})
    planned = batch.plan(settings, brief_ids, batch_seed=seed, candidates=n, model_version=generator.model_version,
                         params=generator.params, modality="image")
    return batch.generate_and_store(settings, generator, batch_id, planned)


def drafts(settings, ids: list[int]) -> list:  # type: ignore[no-untyped-def]
    with session_scope(settings.db_url) as session:
        return [(d.id, np.asarray(d.params["latent"]), d.image_path, d.params) for d in
                repo.list_drafts(session=session, ids=ids)]


def test_well_rated_latents_draw_later_batches_near_them(settings) -> None:  # type: ignore[no-untyped-def]
    from aigc_workflow.briefs import BriefSpec

    with session_scope(settings.db_url) as session:
        repo.upsert_briefs([BriefSpec(**BRIEF)], session=session)
        brief_ids = [b.id for b in repo.list_briefs(session=session)]

    # Batch 1: 12 faces, all published; people rate 3 of them 5 stars (or thumbs up), 3 of them 1 star.
    first = make_batch(settings, brief_ids, seed=0, n=12)
    with session_scope(settings.db_url) as session:
        for draft_id in first:
            repo.save_verdict(draft_id, "approved", ["all checks passed"], {}, session=session)
    batch.publish_approved(settings, first)
    with session_scope(settings.db_url) as session:
        publication = {d.id: d.publications[0].id for d in repo.list_drafts(session=session, ids=first)}
        for draft_id in first[:2]:
            add_rating(publication[draft_id], RatingIn(rating=5), session=session)
        add_rating(publication[first[2]], RatingIn(thumbs="up"), session=session)
        for draft_id in first[3:5]:
            add_rating(publication[draft_id], RatingIn(rating=1), session=session)
        add_rating(publication[first[5]], RatingIn(thumbs="down"), session=session)
        add_rating(publication[first[6]], RatingIn(rating=3), session=session)  # neutral: steers nothing

    generator = ImageGenerator(settings)
    feedback = latent_feedback(settings, generator.model_version)
    assert feedback.good_ids == tuple(first[:3]) and feedback.bad_ids == tuple(first[3:6])
    assert latent_feedback(settings, "bundled:other@0") == type(feedback)()  # ratings of another model: none

    rated = {d[0]: d for d in drafts(settings, first)}
    good_latents = np.stack([rated[i][1] for i in first[:3]])
    good_images = np.stack([pixels(rated[i][2]) for i in first[:3]])
    # "Close" in image space: nearer a good image than 90% of the pairs of faces in the first batch are.
    first_images = np.stack([pixels(rated[i][2]) for i in first])
    gaps = np.linalg.norm(first_images[:, None] - first_images[None], axis=2)
    close = float(np.percentile(gaps[np.triu_indices(len(first), 1)], 10))

    # Batch 2 twice from the same seeds: without feedback, and steered by the ratings.
    plain = drafts(settings, make_batch(settings, brief_ids, seed=1, n=24))
    steered_ids = make_batch(settings, brief_ids, seed=1, n=24, feedback=feedback)
    steered = drafts(settings, steered_ids)
    radius = 0.75 * np.sqrt(200)  # independent 100-d prior latents sit about sqrt(200) = 14.1 apart
    latent_share = [share_near(np.stack([d[1] for d in ds]), good_latents, radius) for ds in (plain, steered)]
    image_share = [share_near(np.stack([pixels(d[2]) for d in ds]), good_images, close) for ds in (plain, steered)]
    print(f"\n[feedback] share near well-rated: latents {latent_share}, images {image_share} (radius {close:.2f})")
    assert latent_share[0] <= 0.1 and latent_share[1] >= 0.5
    assert image_share[1] >= image_share[0] + 0.3
    bad_latents = np.stack([rated[i][1] for i in first[3:6]])
    assert share_near(np.stack([d[1] for d in steered]), bad_latents, radius) == 0.0
    anchors = {d[3]["latent_source"].get("anchor_draft_id") for d in steered} - {None}
    assert anchors <= set(first[:3]) and anchors  # lineage names the well-rated draft each one started from

    # Same seeds and same ratings: the same drafts (nothing regenerated); fresh generation gives the same bytes.
    assert make_batch(settings, brief_ids, seed=1, n=24, feedback=feedback) == steered_ids
    again = ImageGenerator(settings).with_feedback(latent_feedback(settings, generator.model_version))
    with open(steered[0][2], "rb") as handle:
        before = handle.read()
    request = batch.plan(settings, brief_ids, batch_seed=1, candidates=24, model_version=again.model_version,
                         params=again.params, modality="image")[0].request
    regenerated = again.generate([request])[0]
    assert regenerated.image_path == steered[0][2]
    with open(regenerated.image_path, "rb") as handle:
        assert handle.read() == before
