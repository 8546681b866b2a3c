"""Ratings of published images, turned into the latents that steer the next GAN batch."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aigc_workflow.db import repo
from aigc_workflow.db.session import session_scope
from aigc_workflow.feedback import empty_summary, rating_summaries
from aigc_workflow.latent_steering import LatentFeedback, classify
from aigc_workflow.settings import Settings

MAX_PER_CLASS = 256  # the most recent rated latents per class: enough to steer, small enough to pass around


def _merge(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for a draft published to several channels: stars weighted by their count."""
    merged = empty_summary()
    stars = 0.0
    starred = 0
    for summary in summaries:
        merged["count"] += summary["count"]
        merged["thumbs_up"] += summary["thumbs_up"]
        merged["thumbs_down"] += summary["thumbs_down"]
        if summary["mean"] is not None:
            # count includes thumbs-only ratings; weighting by it is close enough for a good/bad split.
            stars += summary["mean"] * summary["count"]
            starred += summary["count"]
    merged["mean"] = stars / starred if starred else None
    return merged


def latent_feedback(settings: Settings, model_version: str) -> LatentFeedback:
    """Latents of well-rated (4-5 stars, or thumbs up) and badly rated (1-2, or thumbs down) images of a model."""
    with session_scope(settings.db_url) as session:
        rows = repo.rated_image_publications(model_version, session=session)
        summaries = rating_summaries([pid for pid, _, _ in rows], session=session)
    per_draft: dict[int, list[dict[str, Any]]] = defaultdict(list)
    latents: dict[int, list[float]] = {}
    for pid, draft_id, params in rows:
        latent = params.get("latent")
        if not latent:
            continue  # not a latent-space draft (a diffusion image): nothing to steer with
        per_draft[draft_id].append(summaries[pid])
        latents[draft_id] = latent
    good: list[tuple[int, tuple[float, ...]]] = []
    bad: list[tuple[int, tuple[float, ...]]] = []
    for draft_id, found in per_draft.items():
        label = classify(_merge(found))
        if label == "good" and len(good) < MAX_PER_CLASS:
            good.append((draft_id, tuple(latents[draft_id])))
        elif label == "bad" and len(bad) < MAX_PER_CLASS:
            bad.append((draft_id, tuple(latents[draft_id])))
    # Sorted by draft id: the same ratings give the same feedback, so the same latents for the same seeds.
    good.sort()
    bad.sort()
    return LatentFeedback(
        good=tuple(latent for _, latent in good), bad=tuple(latent for _, latent in bad),
        good_ids=tuple(i for i, _ in good), bad_ids=tuple(i for i, _ in bad),
    )
