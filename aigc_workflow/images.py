"""Image helpers: small PNG thumbnails as data URIs (the Prefect UI renders them in markdown), and galleries."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

THUMBNAIL_PX = 128


def data_uri(path: str | Path, size: int = THUMBNAIL_PX) -> str:
    """A PNG thumbnail of an image file as a `data:image/png;base64,...` URI (no server needed to show it)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        factor = size // max(image.size)
        if factor >= 2:
            # Small images (the 64 px GAN faces) are enlarged by whole pixels: a reviewer sees them, unblurred.
            image = image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
        image.thumbnail((size, size))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


GALLERY_LIMIT = 48  # data URIs make the artifact heavy; beyond this the table artifact still lists every draft


def gallery_markdown(batch_id: int, rows: Sequence[Mapping[str, Any]], limit: int = GALLERY_LIMIT) -> str:
    """A markdown artifact of a batch's image drafts: thumbnail, brief, verdict and scores, one row each.

    Prefect's table artifacts show cell text only; markdown artifacts render images, so thumbnails live here.
    """
    images = [row for row in rows if row.get("image_path")]
    scorers = sorted({name for row in images for name in row["scores"]})
    lines = [
        f"# Images of batch {batch_id}",
        "",
        "| image | draft | brief | verdict | " + " | ".join(scorers) + " |",
        "|---|---|---|---|" + "---|" * len(scorers),
    ]
    for row in images[:limit]:
        try:
            thumb = f"![draft {row['id']}]({data_uri(row['image_path'])})"
        except OSError:
            thumb = "(file missing)"
        scores = " | ".join(_fmt(row["scores"][name]) if name in row["scores"] else "–" for name in scorers)
        lines.append(f"| {thumb} | {row['id']} | {row['brief_ref']} | **{row['verdict']}** | {scores} |")
    if len(images) > limit:
        lines += ["", f"{len(images) - limit} more image(s) not shown; `aigc drafts list --batch {batch_id}` lists all."]
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "error" if value is None else f"{value:.3f}"
