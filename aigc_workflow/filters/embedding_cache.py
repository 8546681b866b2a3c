"""Sentence embeddings cached on disk under AIGC_HOME, keyed by model version and text hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from aigc_workflow.models.embeddings import Embedder
    from aigc_workflow.settings import Settings


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def cache_path(settings: Settings, embedder: Embedder) -> Path:
    # Embeddings from another model version are different vectors: one file per version.
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{embedder.spec}-{embedder.version}")
    return settings.home / "cache" / "embeddings" / f"{safe}.npz"


def embed_cached(texts: Sequence[str], settings: Settings, embedder: Embedder | None = None) -> np.ndarray:
    """Embed `texts` with the configured sentence model, computing only what the cache lacks.

    Embedding thousands of sentences on a 2-core CPU takes minutes; evaluation and rebuilding the
    classifier re-read the same labelled sentences, so they pay that once per model version.
    """
    import numpy as np

    if embedder is None:
        from aigc_workflow.models.embeddings import load_embedder, resolve_device

        embedder = load_embedder(settings.embedding_model, resolve_device(settings.device))
    path = cache_path(settings, embedder)
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:  # plain arrays only: no pickle
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    keys = [_key(text) for text in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        by_key = dict(zip(keys, texts, strict=True))
        vectors = embedder.embed([by_key[k] for k in missing], batch_size=64)
        known.update(zip(missing, vectors, strict=True))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        all_keys = list(known)
        np.savez(tmp, keys=np.array(all_keys), vectors=np.stack([known[k] for k in all_keys]).astype(np.float32))
        tmp.replace(path)  # a crash mid-write never leaves a truncated cache
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([known[k] for k in keys]).astype(np.float32)
