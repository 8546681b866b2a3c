"""Image safety: an NSFW score from NudeNet's bundled ONNX detector (the highest explicit-exposure confidence)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem, image_problem

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

REQUIREMENT = "nudenet==3.4.2"
# Labels that make an image unsafe to publish; faces, feet, covered parts and a bare male chest do not.
EXPLICIT = frozenset({
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
})
BATCH = 8


def nsfw_value(detections: Sequence[dict[str, Any]]) -> float:
    """The highest confidence of any explicit detection, 0 when there is none."""
    return max((float(d["score"]) for d in detections if d["class"] in EXPLICIT), default=0.0)


def nudity_problems(detections: Sequence[dict[str, Any]]) -> list[str]:
    """Each explicit part NudeNet found, once, most confident first: "NudeNet detects exposed female breast (0.91)"."""
    best: dict[str, float] = {}
    for detection in detections:
        if detection["class"] in EXPLICIT:
            best[detection["class"]] = max(best.get(detection["class"], 0.0), float(detection["score"]))
    ranked = sorted(best.items(), key=lambda item: -item[1])
    return [f"NudeNet detects {_part(label)} (confidence {score:.2f})" for label, score in ranked]


def _part(label: str) -> str:
    """"FEMALE_BREAST_EXPOSED" -> "exposed female breast"."""
    return "exposed " + label.removesuffix("_EXPOSED").lower().replace("_", " ")


class NsfwScorer:
    """value in [0, 1]: NudeNet's confidence that the image shows explicit nudity; lower is safer."""

    name = "nsfw"
    modality = "image"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._detector: Any = None
        self._version = "unknown"

    def load(self) -> None:
        if self._detector is not None:
            return
        try:
            from nudenet import NudeDetector
        except ImportError as error:
            raise ModelUnavailable(
                f"the NudeNet detector is not installed ({error}); install it with: "
                f"pip install --no-deps '{REQUIREMENT}' onnxruntime opencv-python-headless"
            ) from error
        from aigc_workflow.models.bundled import bundled_file
        from aigc_workflow.models.specs import file_sha256

        weights = bundled_file("nudenet", "320n.onnx")
        self._detector = NudeDetector(model_path=str(weights))
        self._version = f"{REQUIREMENT}/320n@{file_sha256(weights)[:12]}"

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        # NudeNet reads with OpenCV, which fails on an unreadable file without naming it: check first.
        problems = [image_problem(item) for item in items]
        readable = [item.image_path for item, problem in zip(items, problems, strict=True) if problem is None]
        detections = dict(zip(readable, self._detector.detect_batch(readable, batch_size=BATCH), strict=True))
        results = []
        for item, problem in zip(items, problems, strict=True):
            if problem is not None:
                results.append(ScoreResult(self.name, None, "nudenet", self._version, error=problem))
                continue
            found = sorted(detections[item.image_path], key=lambda d: -d["score"])
            details = {"detections": [{"class": d["class"], "score": round(float(d["score"]), 4)} for d in found[:8]],
                       "problems": nudity_problems(found)}
            results.append(ScoreResult(self.name, round(nsfw_value(found), 6), "nudenet", self._version, details))
        return results
