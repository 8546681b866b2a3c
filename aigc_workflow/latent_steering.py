"""Feedback steering for latent-space generators: sample new latents near well-rated ones, away from bad ones."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GOOD_MIN_MEAN = 4.0  # a mean star rating of 4-5 is "well rated"
BAD_MAX_MEAN = 2.0  # 1-2 is "badly rated"; 3 is neutral and steers nothing


@dataclass(frozen=True)
class LatentFeedback:
    """Latents of rated images of one model: `good` ones to sample near, `bad` ones to stay away from."""

    good: tuple[tuple[float, ...], ...] = ()
    bad: tuple[tuple[float, ...], ...] = ()
    good_ids: tuple[int, ...] = ()  # the draft each good latent came from, for lineage
    bad_ids: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.good or self.bad)

    def fingerprint(self) -> str:
        """Changes whenever the latents change; part of the generator's params, so of every cache key."""
        digest = hashlib.sha256()
        for label, latents in (("good", self.good), ("bad", self.bad)):
            digest.update(label.encode())
            for latent in latents:
                digest.update(np.asarray(latent, dtype=np.float32).tobytes())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SteeringConfig:
    """How strongly feedback steers.

    spread: 0..1, how far a new latent strays from its good anchor (0 = a copy, 1 = independent of it).
    explore: share of latents drawn fresh from the prior even when good latents exist, so the generator
        keeps finding new kinds of good images instead of collapsing onto the first ones.
    repel: a candidate closer than repel * sqrt(2 * dim) to a bad latent (two independent prior draws are
        about sqrt(2 * dim) apart) is rejected, as is one nearer a bad latent than a good one.
    tries: candidates drawn before keeping the one farthest from every bad latent.
    """

    spread: float = 0.5
    explore: float = 0.25
    repel: float = 0.75
    tries: int = 16


@dataclass(frozen=True)
class SteeredLatent:
    latent: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def classify(summary: Mapping[str, Any]) -> str | None:
    """'good', 'bad' or None from a rating summary (count, mean, thumbs_up, thumbs_down).

    Stars decide when there are any; without stars, the thumbs majority does.
    """
    mean = summary.get("mean")
    if mean is not None:
        if mean >= GOOD_MIN_MEAN:
            return "good"
        if mean <= BAD_MAX_MEAN:
            return "bad"
        return None
    up, down = summary.get("thumbs_up", 0), summary.get("thumbs_down", 0)
    if up > down:
        return "good"
    if down > up:
        return "bad"
    return None


def prior_latent(seed: int, dim: int) -> np.ndarray:
    """The latent a seed gives without feedback: standard normal, from numpy's stable PCG64 stream."""
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


def _nearest(z: np.ndarray, latents: np.ndarray) -> tuple[float, int]:
    if len(latents) == 0:
        return math.inf, -1
    distances = np.linalg.norm(latents - z, axis=1)
    index = int(distances.argmin())
    return float(distances[index]), index


def sample_latent(
    seed: int, dim: int, feedback: LatentFeedback | None = None, config: SteeringConfig | None = None
) -> SteeredLatent:
    """One latent for one seed: the prior draw without feedback, else a steered draw, reproducible per seed.

    Near a good anchor a, z = sqrt(1 - s^2) a + s e with e ~ N(0, I): when a itself came from the prior,
    z has the prior's distribution too (variance (1 - s^2) + s^2 = 1), so the GAN sees in-distribution
    inputs, and z stays about s * sqrt(2 * dim) from its anchor instead of sqrt(2 * dim).
    """
    if not feedback:
        return SteeredLatent(prior_latent(seed, dim), {"mode": "prior"})
    config = config or SteeringConfig()
    good = np.asarray(feedback.good, dtype=np.float64).reshape(-1, dim)
    bad = np.asarray(feedback.bad, dtype=np.float64).reshape(-1, dim)
    rng = np.random.default_rng(seed)
    radius = config.repel * math.sqrt(2 * dim)
    keep = math.sqrt(max(0.0, 1.0 - config.spread**2))
    best: tuple[float, np.ndarray, dict[str, Any]] | None = None
    for attempt in range(max(1, config.tries)):
        # Draw the same amount of randomness on every attempt, so attempt k is the same for a given seed.
        explore_draw, anchor_draw, noise = rng.random(), rng.integers(0, max(len(good), 1)), rng.standard_normal(dim)
        if len(good) and explore_draw >= config.explore:
            anchor = int(anchor_draw)
            z = keep * good[anchor] + config.spread * noise
            info: dict[str, Any] = {"mode": "near_good", "anchor_draft_id": _id(feedback.good_ids, anchor)}
        else:
            z = noise
            info = {"mode": "explore"}
        bad_distance, bad_index = _nearest(z, bad)
        good_distance, _ = _nearest(z, good)
        if bad_distance >= radius and not (len(good) and bad_distance < good_distance):
            info["attempts"] = attempt + 1
            return SteeredLatent(z.astype(np.float32), info)
        if best is None or bad_distance > best[0]:
            best = (bad_distance, z, {**info, "nearest_bad_draft_id": _id(feedback.bad_ids, bad_index)})
    assert best is not None
    # Every candidate sat near a bad latent: keep the one farthest from all of them.
    return SteeredLatent(best[1].astype(np.float32), {**best[2], "attempts": config.tries, "fallback": True})


def _id(ids: Sequence[int], index: int) -> int | None:
    return ids[index] if 0 <= index < len(ids) else None


def share_near(latents: np.ndarray, anchors: np.ndarray, radius: float) -> float:
    """The share of latents within `radius` of any anchor (how many new images resemble the well-rated ones)."""
    if len(latents) == 0 or len(anchors) == 0:
        return 0.0
    distances = np.linalg.norm(latents[:, None, :] - anchors[None, :, :], axis=2).min(axis=1)
    return float((distances < radius).mean())
