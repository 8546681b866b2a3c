"""Toxicity: alt-profanity-check (offline default) or a local detoxify checkpoint, loaded once per process."""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_workflow.scoring.base import ModelUnavailable, ScoreResult, ScoringContext, ScoringItem
from aigc_workflow.scoring.excerpts import quote, sentences

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 16
MAX_TOKENS = 512

# The base model each detoxify variant was fine-tuned from: its config.json and tokenizer files
# must sit beside the checkpoint (or be in a warm Hugging Face cache) to load without a network.
DETOXIFY_BASES = {
    "original": "bert-base-uncased",
    "unbiased": "roberta-base",
    "multilingual": "xlm-roberta-base",
}


@dataclass(frozen=True)
class ToxicityBackend:
    """A loaded toxicity model: `predict` maps texts to one {label: probability} per text."""

    model: str
    version: str
    labels: tuple[str, ...]
    predict: Callable[[list[str]], list[dict[str, float]]]


def _load_classic() -> ToxicityBackend:
    try:
        from profanity_check import predict_prob
    except ImportError as error:
        raise ModelUnavailable(
            "alt-profanity-check is not installed: pip install 'alt-profanity-check==1.9.1'"
        ) from error

    def predict(texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        return [{"profanity": float(p)} for p in predict_prob(texts)]

    version = importlib.metadata.version("alt-profanity-check")
    return ToxicityBackend("alt-profanity-check", version, ("profanity",), predict)


def how_to_provide_checkpoint(variant: str) -> str:
    """Instructions for putting a detoxify checkpoint where this offline machine can load it."""
    try:
        from detoxify.detoxify import MODEL_URLS

        url = MODEL_URLS[variant]
    except (ImportError, KeyError):
        url = f"the {variant!r} checkpoint from https://github.com/unitaryai/detoxify/releases"
    base = DETOXIFY_BASES.get(variant, "bert-base-uncased")
    return (
        f"On a machine with network, download {url} and put it in a folder together with config.json and the "
        f"tokenizer files of {base!r} (e.g. huggingface_hub.snapshot_download({base!r}, "
        f"allow_patterns=['*.json', '*.txt', '*.model'], local_dir=...)); then set "
        f"AIGC_DETOXIFY_CHECKPOINT=/that/folder (or the .ckpt file inside it; detoxify_checkpoint in aigc.toml). "
        f"Or keep AIGC_TOXICITY_BACKEND=classic, which works offline."
    )


def missing_checkpoint_message(variant: str, configured: Path | None) -> str:
    problem = "no checkpoint is configured" if configured is None else f"checkpoint {str(configured)!r} does not exist"
    return (
        f"the detoxify back-end needs a local checkpoint and {problem} (detoxify downloads its weights and "
        f"tokenizer at run time, which these machines cannot do). " + how_to_provide_checkpoint(variant)
    )


def _resolve_checkpoint(path: Path) -> tuple[Path, Path | None]:
    """(checkpoint file, folder with config.json + tokenizer or None); a folder may hold both."""
    folder = path if path.is_dir() else path.parent
    if path.is_dir():
        found = sorted(path.glob("*.ckpt")) or sorted(path.glob("*.pt")) or sorted(path.glob("*.pth"))
        if len(found) != 1:
            raise ModelUnavailable(f"{path} must hold exactly one detoxify checkpoint (*.ckpt), found {len(found)}")
        path = found[0]
    return path, folder if (folder / "config.json").is_file() else None


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()[:16]


def _torch_load(path: Path) -> dict[str, Any]:
    import pickle

    import torch

    try:
        # Tensors and plain data only: a full unpickle would run whatever code the file names.
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ModelUnavailable(
            f"checkpoint {path} holds pickled objects beyond tensors and plain data, which the engine will not "
            f"unpickle (that runs code from the file); re-save it as {{'config': dict, 'state_dict': tensors}} "
            f"({str(error).splitlines()[0]})"
        ) from error


def _load_detoxify(variant: str, checkpoint: Path | None, device: str) -> ToxicityBackend:
    if checkpoint is None or not checkpoint.exists():
        raise ModelUnavailable(missing_checkpoint_message(variant, checkpoint))
    import detoxify
    import torch
    from detoxify.detoxify import get_model_and_tokenizer

    ckpt_file, local_dir = _resolve_checkpoint(checkpoint)
    try:
        if local_dir is not None:
            # detoxify.load_checkpoint always calls config_class.from_pretrained(<hub id>) even when given
            # huggingface_config_path, which needs the network; pointing model_type at the local folder
            # makes the same loader read config, weights and tokenizer from disk only.
            loaded = _torch_load(ckpt_file)
            if "config" not in loaded or "state_dict" not in loaded:
                raise ModelUnavailable(f"{ckpt_file} is not a detoxify checkpoint (needs 'config' and 'state_dict')")
            args = dict(loaded["config"]["arch"]["args"])
            base = args.get("model_type", "?")
            args["model_type"] = str(local_dir)
            model, tokenizer = get_model_and_tokenizer(
                **args, state_dict=loaded["state_dict"], huggingface_config_path=str(local_dir)
            )
            renames = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
            labels = tuple(renames.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"])
        else:
            # No local config: detoxify's own loader, which works offline only with a warm HF cache. It unpickles
            # in full (weights_only=False); the restricted load first proves the file holds nothing that runs.
            _torch_load(ckpt_file)
            loaded_model = detoxify.Detoxify(variant, checkpoint=str(ckpt_file), device="cpu")
            model, tokenizer, labels = loaded_model.model, loaded_model.tokenizer, tuple(loaded_model.class_names)
            base = getattr(model.config, "_name_or_path", "") or DETOXIFY_BASES.get(variant, "?")
    except OSError as error:
        raise ModelUnavailable(
            f"detoxify checkpoint {ckpt_file} loaded, but its base model's config/tokenizer did not ({error}); "
            + how_to_provide_checkpoint(variant)
        ) from error
    model.to(device).eval()
    max_length = min(int(getattr(tokenizer, "model_max_length", MAX_TOKENS) or MAX_TOKENS), MAX_TOKENS)

    @torch.no_grad()
    def predict(texts: list[str]) -> list[dict[str, float]]:
        out: list[dict[str, float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            chunk = texts[start:start + BATCH_SIZE]
            inputs = tokenizer(chunk, return_tensors="pt", truncation=True, padding=True, max_length=max_length)
            scores = torch.sigmoid(model(**inputs.to(model.device))[0]).cpu().tolist()
            out.extend({label: float(p) for label, p in zip(labels, row, strict=True)} for row in scores)
        return out

    return ToxicityBackend(f"detoxify:{base}", _file_sha(ckpt_file), labels, predict)


@lru_cache(maxsize=4)
def load_backend(backend: str, variant: str, checkpoint: str | None, device: str) -> ToxicityBackend:
    """One loaded model per configuration and process, shared by the toxicity and bias scorers."""
    if backend == "classic":
        return _load_classic()
    if backend == "detoxify":
        return _load_detoxify(variant, Path(checkpoint).expanduser() if checkpoint else None, device)
    raise ModelUnavailable(f"unknown toxicity back-end {backend!r}; use 'classic' or 'detoxify'")


def backend_for(settings: Settings) -> ToxicityBackend:
    from aigc_workflow.models.embeddings import resolve_device

    checkpoint = str(settings.detoxify_checkpoint) if settings.detoxify_checkpoint else None
    device = resolve_device(settings.device)
    return load_backend(settings.toxicity_backend, settings.detoxify_variant, checkpoint, device)


def toxicity_probabilities(texts: Sequence[str], settings: Settings | None = None) -> list[float]:
    """Max-over-labels toxicity per text, from the same loaded model the ToxicityScorer uses."""
    if settings is None:
        from aigc_workflow.settings import get_settings

        settings = get_settings()
    return [max(probs.values()) for probs in backend_for(settings).predict(list(texts))]


@dataclass(frozen=True)
class Reading:
    """What the toxicity model made of one text: {label: probability} ({} when only identity terms were left)."""

    probabilities: dict[str, float]
    masked: int  # identity descriptors taken out before scoring
    attack: bool  # the hate detector read the unmasked text as an attack, so it was scored as well


def toxicity_problem(probabilities: dict[str, float], parts: Sequence[tuple[str, Reading]]) -> str:
    """The label the value comes from, and the sentence that label is highest in: "insult 0.91, highest in ..."."""
    label = max(probabilities, key=lambda name: probabilities[name])
    problem = f"{label.replace('_', ' ')} {probabilities[label]:.2f}"
    scored = [(reading.probabilities.get(label, 0.0), sentence) for sentence, reading in parts]
    if scored:
        problem += f", highest in {quote(max(scored)[1])}"
    return problem


class ToxicityScorer:
    """value = max label probability in [0, 1]; higher is worse. details: probability per label."""

    name = "toxicity"
    modality = "text"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._backend: ToxicityBackend | None = None

    def load(self) -> None:
        if self._backend is None:
            self._backend = backend_for(self.settings)

    def score(self, items: Sequence[ScoringItem], context: ScoringContext) -> list[ScoreResult]:
        self.load()
        backend = self._backend
        assert backend is not None
        texts = [(item.text or "").strip() for item in items]
        whole = self._read(texts)
        # A draft that reads as toxic at all, and has several sentences, has each read too, to quote the one
        # its score comes from; read apart from the drafts, so their own values do not depend on it.
        split = [parts if _worth_quoting(reading) and len(parts := sentences(text)) > 1 else []
                 for text, reading in zip(texts, whole, strict=True)]
        by_sentence = iter(self._read([sentence for parts in split for sentence in parts]) if any(split) else [])
        results = []
        for text, reading, parts in zip(texts, whole, split, strict=True):
            own = [(sentence, next(by_sentence)) for sentence in parts]
            if not text:
                # An empty draft says nothing toxic; the format scorer fails it.
                results.append(ScoreResult(self.name, 0.0, backend.model, backend.version, {"empty_text": True}))
                continue
            if not reading.probabilities:  # the text was nothing but identity terms
                results.append(ScoreResult(self.name, 0.0, backend.model, backend.version,
                                           {"identity_terms_masked": reading.masked}))
                continue
            details: dict[str, Any] = dict(reading.probabilities)
            if reading.masked:
                details.update(identity_terms_masked=reading.masked, unmasked_scored_as_attack=reading.attack)
            details["problems"] = [toxicity_problem(reading.probabilities, own)]
            value = max(reading.probabilities.values())
            results.append(ScoreResult(self.name, value, backend.model, backend.version, details))
        return results

    def _read(self, texts: list[str]) -> list[Reading]:
        """Label probabilities per text, as the scorer counts them (with identity descriptors masked where benign)."""
        backend = self._backend
        assert backend is not None
        masked = [0] * len(texts)
        scored = texts
        attacks: list[bool] = [False] * len(texts)
        if backend.model == "alt-profanity-check":
            # The classic model is a bag of words that learned identity words as insults ("I am a gay man and
            # proud" scored 0.71). Naming a group is not profanity: score the text without the descriptors,
            # but only where that is benign. Where the hate detector reads the full text as an attack on a
            # group, masking would remove the target ("All Muslims should die" -> "All should die"), so both
            # forms are scored and the stricter counts.
            from aigc_workflow.filters.hate_detector import detector_for
            from aigc_workflow.scoring.bias import mask_identity_terms

            pairs = [mask_identity_terms(text) for text in texts]
            scored, masked = [p[0] for p in pairs], [p[1] for p in pairs]
            with_terms = [text for text, count in zip(texts, masked, strict=True) if count]
            if with_terms:
                detector, _ = detector_for(self.settings)
                hits = iter(p > 0.5 for p in detector.predict(with_terms))
                attacks = [bool(count) and next(hits) for count in masked]
        unmasked = iter(backend.predict([text for text, attack in zip(texts, attacks, strict=True) if attack]))
        predictions = iter(backend.predict([text for text in scored if text]))
        readings = []
        for masked_count, scored_text, attack in zip(masked, scored, attacks, strict=True):
            probs = {label: round(p, 6) for label, p in next(predictions).items()} if scored_text else {}
            if attack:
                full = {label: round(p, 6) for label, p in next(unmasked).items()}
                probs = {label: max(p, probs.get(label, 0.0)) for label, p in full.items()}
            readings.append(Reading(probs, masked_count, attack))
        return readings


# Below this a draft's toxicity needs no quote (the default bound is 0.5); above it a reviewer sees which
# sentence it comes from, at the cost of reading each sentence too.
QUOTE_FROM = 0.2


def _worth_quoting(reading: Reading) -> bool:
    return bool(reading.probabilities) and max(reading.probabilities.values()) >= QUOTE_FROM
