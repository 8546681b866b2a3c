"""Image originality: perceptual-hash near-duplicates of published images or of other images in the batch."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_workflow.scoring.base import ScoreResult, ScoringContext, ScoringItem, image_problem

if TYPE_CHECKING:
    import numpy as np

    from aigc_workflow.settings import Settings

HASH_SIZE = 8  # 8 x 8 = 64 bits
HIGHFREQ_FACTOR = 4  # hash a 32 x 32 thumbnail's DCT
BITS = HASH_SIZE * HASH_SIZE
VERSION = "phash-dct-8x8/v1"
CACHE_LIMIT = 20_000
log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> np.ndarray:
    import numpy as np

    # Unnormalised DCT-II (as scipy.fftpack.dct): X_k = 2 sum_n x_n cos(pi k (2n + 1) / 2N).
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    return 2.0 * np.cos(math.pi * k * (2 * j + 1) / (2 * n))


def phash(image: Any) -> int:
    """The 64-bit perceptual hash of an image (a path or a PIL image), as imagehash.phash computes it.

    Grey 32 x 32 thumbnail, 2-D DCT, the top-left 8 x 8 low frequencies, one bit per coefficient above
    their median: robust to resizing, recompression and small edits, sensitive to what the image shows.
    """
    import numpy as np
    from PIL import Image

    size = HASH_SIZE * HIGHFREQ_FACTOR
    if isinstance(image, (str, Path)):
        with Image.open(image) as opened:
            grey = opened.convert("L").resize((size, size), Image.Resampling.LANCZOS)
    else:
        grey = image.convert("L").resize((size, size), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    matrix = _dct_matrix(size)
    dct = matrix @ pixels @ matrix.T
    low = dct[:HASH_SIZE, :HASH_SIZE]
    bits = (low > np.median(low)).flatten()
    return int("".join("1" if bit else "0" for bit in bits), 2)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def similarity(a: int, b: int) -> float:
    """1 for identical hashes, about 0.5 for unrelated images, 0 for exact opposites."""
    return 1.0 - hamming(a, b) / BITS


def _draft_name(item: ScoringItem) -> str:
    return f"draft {item.draft_id}" if item.draft_id is not None else "another draft"


class ImageOriginalityScorer:
    """value = min Hamming distance / 64 to any published image or other image of the batch; higher is better.

    0 means a perceptual duplicate; unrelated images sit near 0.5 (about 32 of 64 bits differ).
    """

    name = "image_originality"
    modality = "image"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Published images come back on every batch; their hashes change only when the file does.
        self._cache: dict[tuple[str, int, int], int] = {}

    def load(self) -> None:
        import PIL  # noqa: F401 - fail early (and hold) when Pillow is missing

    def _hash(self, path: str) -> int | None:
        try:
            stat = Path(path).stat()
        except OSError:
            return None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._cache:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            try:
                self._cache[key] = phash(path)
            except (OSError, SyntaxError, ValueError) as error:
                # A broken published file counts as missing; it must not hold every future image draft.
                log.warning("published image %s cannot be read (%s); left out of comparisons", path, error)
                return None
        return self._cache[key]

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        own = {item.image_path for item in items}
        # A draft is never its own duplicate, even when an earlier run of this batch already published it.
        published = [(i, p) for i, p in enumerate(context.published_image_paths) if p not in own]
        published_hashes = [(i, h) for i, p in published if (h := self._hash(p)) is not None]
        problems = [image_problem(item) for item in items]
        hashes = [phash(item.image_path) if problem is None else None for item, problem in zip(items, problems, strict=True)]
        results = []
        for index, (item, mine) in enumerate(zip(items, hashes, strict=True)):
            if mine is None:
                results.append(ScoreResult(self.name, None, VERSION, VERSION, error=problems[index]))
                continue
            candidates = [(hamming(mine, h), "published", i) for i, h in published_hashes]
            candidates += [(hamming(mine, h), "batch", j) for j, h in enumerate(hashes) if j != index and h is not None]
            details: dict[str, Any] = {"phash": f"{mine:016x}", "compared_with": len(candidates),
                                       "missing_published_files": len(published) - len(published_hashes)}
            if not candidates:
                results.append(ScoreResult(self.name, 1.0, VERSION, VERSION, {**details, "closest": None}))
                continue
            distance, source, other = min(candidates)
            details["closest"] = {"source": source, "index": other, "hamming": distance}
            closest = (f"the published image {context.published_image_paths[other]}" if source == "published"
                       else f"the image of {_draft_name(items[other])} of this batch")
            details["problems"] = [(f"closest to {closest}: {distance} of {BITS} perceptual-hash bits differ "
                                    f"(unrelated images: about {BITS // 2})")]
            results.append(ScoreResult(self.name, round(distance / BITS, 6), VERSION, VERSION, details))
        return results
