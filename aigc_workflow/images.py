"""Image helpers: small PNG thumbnails as data URIs, which the Prefect UI renders inside markdown."""

from __future__ import annotations

import base64
import io
from pathlib import Path

THUMBNAIL_PX = 128


def data_uri(path: str | Path, size: int = THUMBNAIL_PX) -> str:
    """A PNG thumbnail of an image file as a `data:image/png;base64,...` URI (no server needed to show it)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
