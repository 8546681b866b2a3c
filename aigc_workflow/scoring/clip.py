"""CLIP similarity (open_clip): CLIPScore = 2.5 * max(cos(image, prompt), 0), as in Hessel et al. 2021."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_workflow.generation.image import image_prompt
from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem, image_problem
from aigc_workflow.scoring.excerpts import quote

if TYPE_CHECKING:
    import numpy as np

    from aigc_workflow.settings import Settings

WEIGHT = 2.5  # Hessel et al. rescale cosines, which rarely exceed 0.4, to roughly [0, 1]
BATCH = 32


def cosines(image_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
    """Row-wise cosine of paired embeddings (any scale; they are L2-normalised here)."""
    import numpy as np

    images = image_embeddings / np.linalg.norm(image_embeddings, axis=1, keepdims=True)
    texts = text_embeddings / np.linalg.norm(text_embeddings, axis=1, keepdims=True)
    return (images * texts).sum(axis=1)


def clip_score(image_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
    """Row-wise CLIPScore of paired embeddings: 2.5 * max(cos, 0)."""
    import numpy as np

    return WEIGHT * np.maximum(cosines(image_embeddings, text_embeddings), 0.0)


def how_to_provide(settings: Settings) -> str:
    return (
        f"download the open_clip weights for {settings.clip_model}/{settings.clip_pretrained} once on a machine with "
        "a network (they are cached under ~/.cache/huggingface and found offline afterwards), or set "
        "AIGC_CLIP_CHECKPOINT to a local weights file for AIGC_CLIP_MODEL (open_clip_pytorch_model.bin or "
        ".safetensors) or to an open_clip folder holding open_clip_config.json and its weights"
    )


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _in_cache(cfg: dict[str, Any]) -> bool:
    """Whether open_clip would find this pretrained tag's weights without a download."""
    if cfg.get("file"):
        return Path(cfg["file"]).is_file()
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo_id, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        return any(isinstance(try_to_load_from_cache(repo_id, name), str) for name in names)
    url = cfg.get("url", "")
    return bool(url) and (Path.home() / ".cache" / "clip" / os.path.basename(url)).is_file()


class ClipScorer:
    """value in [0, 2.5], in practice about [0, 1]: how well an image matches its brief; higher is better."""

    name = "clip"
    modality = "image"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: Any = None
        self._preprocess: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self.model_name = settings.clip_model
        self.version = "unknown"

    def load(self) -> None:
        if self._model is not None:
            return
        try:
            import open_clip
        except ImportError as error:  # pragma: no cover - a declared dependency
            raise ModelUnavailable(f"open_clip is not installed ({error}): pip install open-clip-torch") from error
        from aigc_workflow.models.embeddings import resolve_device
        from aigc_workflow.models.specs import file_sha256, folder_sha256

        settings = self.settings
        checkpoint = settings.clip_checkpoint
        if checkpoint is not None:
            checkpoint = Path(checkpoint).expanduser()
            if not checkpoint.exists():
                raise ModelUnavailable(f"AIGC_CLIP_CHECKPOINT {checkpoint} does not exist; {how_to_provide(settings)}")
            if checkpoint.is_dir():
                # An open_clip folder brings its own config, so custom architectures need no registration.
                name, pretrained = f"local-dir:{checkpoint.resolve()}", None
                self.model_name, self.version = f"open_clip:{checkpoint.name}", folder_sha256(checkpoint)[:12]
            else:
                name, pretrained = settings.clip_model, str(checkpoint)
                self.model_name = f"open_clip:{settings.clip_model}/{checkpoint.name}"
                self.version = file_sha256(checkpoint)[:12]
        else:
            name, pretrained = settings.clip_model, settings.clip_pretrained
            if open_clip.get_pretrained_cfg(name, pretrained) == {}:
                known = ", ".join(open_clip.list_pretrained_tags_by_model(name)) or "none"
                raise ModelUnavailable(
                    f"open_clip knows no pretrained tag {pretrained!r} for {name!r} (known: {known}); "
                    f"{how_to_provide(settings)}"
                )
            self.model_name, self.version = f"open_clip:{name}/{pretrained}", pretrained
            if not _in_cache(open_clip.get_pretrained_cfg(name, pretrained)) and _offline():
                # Fail in milliseconds: building the model first and letting the hub client retry takes seconds.
                raise ModelUnavailable(
                    f"CLIP weights {self.model_name} are not in the local cache and HF_HUB_OFFLINE is set; "
                    f"{how_to_provide(settings)}"
                )
        self._device = resolve_device(settings.device)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained, device=self._device)
            tokenizer = open_clip.get_tokenizer(name)
        except Exception as error:  # noqa: BLE001 - offline downloads fail in many ways; all mean "no weights"
            raise ModelUnavailable(
                f"CLIP weights {self.model_name} could not be loaded ({type(error).__name__}: {error}); "
                f"{how_to_provide(settings)}"
            ) from error
        model.eval()
        self._model, self._preprocess, self._tokenizer = model, preprocess, tokenizer

    def embed_images(self, paths: Sequence[str]) -> np.ndarray:
        import numpy as np
        import torch
        from PIL import Image

        chunks = []
        for start in range(0, len(paths), BATCH):
            tensors = []
            for path in paths[start : start + BATCH]:
                with Image.open(path) as image:
                    tensors.append(self._preprocess(image.convert("RGB")))
            with torch.inference_mode():
                chunks.append(self._model.encode_image(torch.stack(tensors).to(self._device)).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np
        import torch

        chunks = []
        for start in range(0, len(texts), BATCH):
            tokens = self._tokenizer(list(texts[start : start + BATCH])).to(self._device)
            with torch.inference_mode():
                chunks.append(self._model.encode_text(tokens).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        problems = [image_problem(item) for item in items]
        live = [i for i, problem in enumerate(problems) if problem is None]
        prompts = [image_prompt(item.brief) for item in items]
        # Candidates share their brief's prompt: encode every distinct prompt once.
        distinct = list(dict.fromkeys(prompts[i] for i in live))
        text_vectors = dict(zip(distinct, self.embed_texts(distinct), strict=True)) if distinct else {}
        image_vectors = self.embed_images([items[i].image_path for i in live]) if live else None
        cosine_of: dict[int, float] = {}
        if live:
            import numpy as np

            texts = np.stack([text_vectors[prompts[i]] for i in live])
            cosine_of = dict(zip(live, cosines(image_vectors, texts).tolist(), strict=True))
        results = []
        for index, item in enumerate(items):
            if index not in cosine_of:
                results.append(ScoreResult(self.name, None, self.model_name, self.version, error=problems[index]))
                continue
            cosine = cosine_of[index]
            details = {"prompt": prompts[index], "cosine": round(cosine, 6),
                       "problems": [f"CLIP similarity {cosine:.2f} between the image and {quote(prompts[index])}"]}
            value = WEIGHT * max(cosine, 0.0)
            results.append(ScoreResult(self.name, round(value, 6), self.model_name, self.version, details))
        return results
