"""Image drafts: the bundled DCGAN (64x64 faces, feedback-steered latents) or a diffusers text-to-image pipeline."""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.generation.base import GeneratedDraft, GenerationRequest, Generator, cache_key
from aigc_workflow.latent_steering import LatentFeedback, SteeringConfig, sample_latent
from aigc_workflow.models import bundled
from aigc_workflow.models.specs import RegisteredModel, _cached_commit, file_sha256, folder_sha256, parse_spec

if TYPE_CHECKING:
    import numpy as np

    from aigc_workflow.settings import Settings

log = logging.getLogger(__name__)

DCGAN_LATENT_DIM = 100
DCGAN_SIZE = 64
LATENT_SAMPLER = "numpy-pcg64-normal/v1"
_SHORT = 12

# Bundled image models: name -> the weights file inside its carrier package.
BUNDLED_IMAGE_MODELS = {"dcgan-faces-64": bundled.dcgan_faces_weights}


def image_prompt(brief: BriefSpec) -> str:
    """What an image for this brief should show; the diffusers prompt and the text CLIP compares with."""
    prompt = brief.topic.strip()
    if brief.keywords:
        prompt += ", " + ", ".join(brief.keywords)
    return prompt


@dataclass(frozen=True)
class ResolvedImageModel:
    backend: str  # "dcgan" or "diffusers"
    source: str
    version: str
    revision: str | None = None


def resolve_image_model(spec: str) -> ResolvedImageModel:
    """`bundled:dcgan-faces-64`, a Hugging Face id `org/name[@revision]` or a local diffusers folder."""
    parsed = parse_spec(spec)
    if parsed.kind == "bundled":
        if parsed.name not in BUNDLED_IMAGE_MODELS:
            known = ", ".join(f"bundled:{name}" for name in sorted(BUNDLED_IMAGE_MODELS))
            raise ValueError(f"unknown bundled image model {parsed.name!r}; known: {known}")
        weights = BUNDLED_IMAGE_MODELS[parsed.name]()
        return ResolvedImageModel("dcgan", str(weights), f"bundled:{parsed.name}@{file_sha256(weights)[:_SHORT]}")
    if parsed.kind == "local":
        folder = Path(parsed.name)
        if not folder.is_dir():
            raise ValueError(f"image model folder {folder} does not exist")
        return ResolvedImageModel("diffusers", str(folder), f"local:{folder}@{folder_sha256(folder)[:_SHORT]}")
    if parsed.kind == "hub":
        wanted = parsed.revision or "main"
        commit = _cached_commit(parsed.name, wanted)
        return ResolvedImageModel("diffusers", parsed.name, f"{parsed.name}@{commit or wanted}", commit or parsed.revision)
    raise ValueError(f"image model spec {spec!r}: registered image models are not supported yet")


def _pick_device(wanted: str) -> tuple[str, Any]:
    import torch

    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("settings.device is 'cuda' but torch sees no CUDA device")
    if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()):
        # Half precision halves memory and time on GPUs; bf16 where supported keeps fp32's range.
        return "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return "cpu", torch.float32


class ImageGenerator(Generator):
    """Drafts images for briefs; PNGs under AIGC_HOME/images, each with its seed, latent, model and prompt."""

    modality = "image"

    def __init__(
        self, settings: Settings, spec: str | None = None, registered: RegisteredModel | None = None,
        feedback: LatentFeedback | None = None,
    ) -> None:
        if registered is not None:
            raise ValueError("registered image models are not supported yet")
        self.settings = settings
        self.spec = spec or settings.image_model
        self.options = settings.image
        self.feedback = feedback if feedback and self.steers else None
        self._resolved: ResolvedImageModel | None = None
        self._state: dict[str, Any] = {}  # the loaded network or pipeline; shared by with_feedback() copies
        self.load_seconds: float | None = None

    @property
    def resolved(self) -> ResolvedImageModel:
        if self._resolved is None:
            self._resolved = resolve_image_model(self.spec)
        return self._resolved

    @property
    def steers(self) -> bool:
        """Ratings steer the GAN's latents; a diffusion pipeline's noise is left alone."""
        return self.options.feedback_steering and self.resolved.backend == "dcgan"

    @property
    def model_version(self) -> str:
        return self.resolved.version

    @property
    def steering(self) -> SteeringConfig:
        return SteeringConfig(spread=self.options.steering_spread, explore=self.options.steering_explore)

    @property
    def params(self) -> dict[str, Any]:
        if self.resolved.backend == "dcgan":
            params: dict[str, Any] = {"backend": "dcgan", "latent_dim": DCGAN_LATENT_DIM, "size": DCGAN_SIZE,
                                      "sampler": LATENT_SAMPLER}
            if self.feedback:
                # New ratings mean new latents for the same seed: the fingerprint keeps cache keys honest.
                params["steering"] = {"feedback": self.feedback.fingerprint(), "good": len(self.feedback.good),
                                      "bad": len(self.feedback.bad), "spread": self.steering.spread,
                                      "explore": self.steering.explore}
            return params
        return {"backend": "diffusers", "steps": self.options.steps, "guidance_scale": self.options.guidance_scale,
                "size": self.options.size, "noise": "per-image-cpu-generator"}

    def with_feedback(self, feedback: LatentFeedback | None) -> ImageGenerator:
        """A view of this generator (same loaded weights) that steers with these ratings."""
        clone = copy.copy(self)
        clone.feedback = feedback if feedback and self.steers else None
        return clone

    def load(self) -> None:
        if self._state:
            return
        started = time.perf_counter()
        device, dtype = _pick_device(self.settings.device)
        if self.resolved.backend == "dcgan":
            self._state.update(net=_load_dcgan(Path(self.resolved.source), device), device=device)
        else:
            self._state.update(pipe=_load_pipeline(self.resolved, device, dtype), device=device)
        self.load_seconds = time.perf_counter() - started
        log.info("loaded %s on %s in %.2f s", self.model_version, device, self.load_seconds)

    def output_dir(self) -> Path:
        return self.settings.home / "images"

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedDraft]:
        self.load()
        drafts: list[GeneratedDraft] = []
        size = self.options.batch_size
        for start in range(0, len(requests), size):
            chunk = list(requests[start : start + size])
            if self.resolved.backend == "dcgan":
                drafts += self._generate_dcgan(chunk)
            else:
                drafts += self._generate_diffusers(chunk)
        return drafts

    def _path_for(self, request: GenerationRequest) -> Path:
        # Named by the draft's cache key: the same request always writes the same file, never another's.
        key = cache_key(request.brief, self.model_version, request.seed, self.params, request.candidate_index)
        return self.output_dir() / key[:2] / f"{key}.png"

    def _generate_dcgan(self, requests: list[GenerationRequest]) -> list[GeneratedDraft]:
        import numpy as np
        import torch

        steered = [sample_latent(r.seed, DCGAN_LATENT_DIM, self.feedback, self.steering) for r in requests]
        z = torch.from_numpy(np.stack([s.latent for s in steered])).view(len(requests), DCGAN_LATENT_DIM, 1, 1)
        with torch.inference_mode():
            out = self._state["net"](z.to(self._state["device"])).float().cpu()
        # tanh output in [-1, 1] -> 8-bit RGB, channels last.
        pixels = ((out.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        drafts = []
        for request, item, image in zip(requests, steered, pixels, strict=True):
            path = self._path_for(request)
            prompt = image_prompt(request.brief)
            _save_png(image, path, {"seed": request.seed, "model_version": self.model_version, "prompt": prompt})
            np.save(path.with_suffix(".npy"), item.latent)
            params = {**self.params, "latent": [float(v) for v in item.latent], "latent_file": path.name[:-4] + ".npy",
                      "latent_source": item.info}
            drafts.append(GeneratedDraft(request, prompt=prompt, model_version=self.model_version, params=params,
                                         image_path=str(path)))
        return drafts

    def _generate_diffusers(self, requests: list[GenerationRequest]) -> list[GeneratedDraft]:
        import numpy as np
        import torch

        prompts = [image_prompt(r.brief) for r in requests]
        # One CPU generator per image: its noise depends on its seed alone, not on batch-mates or the device.
        generators = [torch.Generator(device="cpu").manual_seed(r.seed) for r in requests]
        result = self._state["pipe"](
            prompt=prompts, generator=generators, num_inference_steps=self.options.steps,
            guidance_scale=self.options.guidance_scale, height=self.options.size, width=self.options.size,
            output_type="np",
        )
        drafts = []
        for request, prompt, image in zip(requests, prompts, result.images, strict=True):
            path = self._path_for(request)
            pixels = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
            _save_png(pixels, path, {"seed": request.seed, "model_version": self.model_version, "prompt": prompt})
            drafts.append(GeneratedDraft(request, prompt=prompt, model_version=self.model_version, params=self.params,
                                         image_path=str(path)))
        return drafts


def _load_dcgan(weights: Path, device: str) -> Any:
    import torch

    # Load the carrier's models.py by path: its package __init__ and inference module pull wandb/matplotlib.
    models_py = bundled.bundled_file("gan_face_generate", "models.py")
    spec = importlib.util.spec_from_file_location("aigc_bundled_dcgan_models", models_py)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.Generator(0, 3, DCGAN_LATENT_DIM, DCGAN_SIZE)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state["netG_state_dict"])
    return net.to(device).eval()


def _load_pipeline(resolved: ResolvedImageModel, device: str, dtype: Any) -> Any:
    try:
        from diffusers import DiffusionPipeline
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise RuntimeError("diffusion models need the `diffusers` package: pip install diffusers") from error
    pipe = DiffusionPipeline.from_pretrained(resolved.source, revision=resolved.revision, torch_dtype=dtype)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _save_png(pixels: np.ndarray, path: Path, lineage: dict[str, Any]) -> None:
    """Write atomically, with the lineage in a tEXt chunk so the file says where it came from."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    info.add_text("aigc:lineage", json.dumps(lineage, sort_keys=True))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        Image.fromarray(pixels).save(tmp, format="PNG", pnginfo=info)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
