"""The bias classifier: a small logistic/MLP head on sentence embeddings; train, save (safetensors+JSON), load."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from aigc_workflow.filters.datasets import Example
    from aigc_workflow.settings import Settings

FORMAT = "aigc-bias-classifier/1"
WEIGHTS_FILE = "classifier.safetensors"
META_FILE = "classifier.json"
# Measured (README, Filter quality): RedditBias's "unbiased" comments still talk about stereotypes, so a
# head trained on them alone flags 91% of neutral identity statements. Neutral statements about groups
# (HolisticBias, BOLD) as extra negatives, weighted up, plus a threshold set on their out-of-fold false
# alarms, cut that to a few percent while keeping recall on biased comments.
IDENTITY_WEIGHT = 6.0
MAX_IDENTITY_FALSE_ALARM = 0.1


def _sigmoid(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass
class BiasClassifier:
    """Dense layers (ReLU between, sigmoid on the last) over unit-length sentence embeddings.

    `logit_shift` moves the calibrated decision point to 0.5, so the gate's `max = 0.5` means the
    threshold chosen at build time (the lowest giving the target precision on out-of-fold predictions).
    """

    layers: list[tuple[np.ndarray, np.ndarray]]  # (weight [out, in], bias [out])
    logit_shift: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        import numpy as np

        hidden = np.asarray(vectors, dtype=np.float32)
        for index, (weight, bias) in enumerate(self.layers):
            hidden = hidden @ weight.T + bias
            if index < len(self.layers) - 1:
                hidden = np.maximum(hidden, 0.0)
        return hidden[:, 0] - self.logit_shift

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        return _sigmoid(self.logits(vectors))

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for weight, bias in self.layers:
            digest.update(weight.tobytes())
            digest.update(bias.tobytes())
        digest.update(repr(self.logit_shift).encode())
        return "sha256:" + digest.hexdigest()[:16]

    def save(self, folder: Path) -> Path:
        """Weights as safetensors, everything else as JSON: no pickle, readable anywhere."""
        import numpy as np
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, np.ndarray] = {}
        for index, (weight, bias) in enumerate(self.layers):
            tensors[f"layer{index}.weight"] = np.ascontiguousarray(weight, dtype=np.float32)
            tensors[f"layer{index}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)
        save_file(tensors, str(folder / WEIGHTS_FILE))
        meta = {**self.meta, "format": FORMAT, "layers": len(self.layers), "logit_shift": self.logit_shift,
                "version": self.version}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path) -> BiasClassifier:
        from safetensors.numpy import load_file

        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder} holds {meta.get('format')!r}, not {FORMAT!r}")
        tensors = load_file(str(folder / WEIGHTS_FILE))
        layers = [(tensors[f"layer{i}.weight"], tensors[f"layer{i}.bias"]) for i in range(int(meta["layers"]))]
        return cls(layers, float(meta["logit_shift"]), meta)


def _fit(
    vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, head: str, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    import numpy as np

    if head == "logistic":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced")
        model.fit(vectors, labels, sample_weight=weights)
        return [(model.coef_.astype(np.float32), model.intercept_.astype(np.float32))]
    if head == "mlp":
        from sklearn.neural_network import MLPClassifier

        # MLPClassifier takes no sample weights: it trains unweighted (measured: more false alarms).
        model = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=300, early_stopping=True,
                              random_state=seed)
        model.fit(vectors, labels)
        return [(w.T.astype(np.float32), b.astype(np.float32)) for w, b in zip(model.coefs_, model.intercepts_,
                                                                                 strict=True)]
    raise ValueError(f"unknown head {head!r}; use 'logistic' or 'mlp'")


def out_of_fold_scores(
    vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, head: str, folds: int = 3, seed: int = 0
) -> np.ndarray:
    """Each training example scored by a model that did not see it: honest data for choosing a threshold."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(labels))
    scores = np.zeros(len(labels), dtype=np.float32)
    for fold in range(folds):
        held = order[fold::folds]
        kept = np.setdiff1d(order, held)
        model = BiasClassifier(_fit(vectors[kept], labels[kept], weights[kept], head, seed))
        scores[held] = model.predict_proba(vectors[held])
    return scores


def train_classifier(
    examples: Sequence[Example],
    vectors: np.ndarray,
    *,
    head: str = "logistic",
    identity_weight: float = IDENTITY_WEIGHT,
    max_identity_false_alarm: float | None = MAX_IDENTITY_FALSE_ALARM,
    seed: int = 0,
) -> BiasClassifier:
    """Fit on all `examples`. With `max_identity_false_alarm`, shift the logit so that 0.5 is the lowest
    threshold whose out-of-fold false-alarm rate on neutral identity statements stays within it."""
    import numpy as np

    from aigc_workflow.filters.datasets import IDENTITY_SOURCES
    from aigc_workflow.filters.metrics import threshold_for_false_alarm

    labels = np.array([e.label for e in examples], dtype=np.int64)
    if len(set(labels.tolist())) < 2:
        raise ValueError("training data needs both biased and unbiased examples")
    identity = np.array([e.source in IDENTITY_SOURCES for e in examples])
    weights = np.where(identity, identity_weight, 1.0)
    shift, calibrated = 0.0, None
    if max_identity_false_alarm is not None and identity.any():
        oof = out_of_fold_scores(vectors, labels, weights, head, seed=seed)
        calibrated = max(0.5, threshold_for_false_alarm(oof[identity].tolist(), max_identity_false_alarm))
        clipped = min(calibrated, 1 - 1e-4)
        shift = math.log(clipped / (1 - clipped))
    model = BiasClassifier(_fit(vectors, labels, weights, head, seed), shift)
    sources: dict[str, dict[str, int]] = {}
    for example in examples:
        counts = sources.setdefault(example.source, {"0": 0, "1": 0})
        counts[str(example.label)] += 1
    model.meta = {
        "head": head,
        "identity_weight": identity_weight,
        "max_identity_false_alarm": max_identity_false_alarm,
        "calibrated_threshold": calibrated,
        "trained_on": sources,
        "seed": seed,
    }
    return model


@dataclass(frozen=True)
class LoadedClassifier:
    """A classifier with the sentence model it was trained on, ready to score texts."""

    classifier: BiasClassifier
    embedder: Any  # aigc_workflow.models.embeddings.Embedder
    version: str

    def predict(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return self.classifier.predict_proba(self.embedder.embed(list(texts))).tolist()


def load_for_scoring(settings: Settings) -> tuple[LoadedClassifier | None, dict[str, Any]]:
    """(classifier or None, status for score details). A configured path that is broken raises ModelUnavailable."""
    from aigc_workflow.filters.build import resolve_classifier_path
    from aigc_workflow.models.embeddings import load_embedder, resolve_device
    from aigc_workflow.scoring.base import ModelUnavailable

    folder, source = resolve_classifier_path(settings)
    if folder is None:
        return None, {"status": "absent", "source": source}
    try:
        classifier = BiasClassifier.load(folder)
    except (OSError, ValueError, KeyError) as error:
        # Configured or registered but unreadable: fail closed (the gate holds) rather than silently skip it.
        raise ModelUnavailable(f"bias classifier at {folder} ({source}) cannot be loaded: {error}") from error
    # The head only understands the embeddings it was trained on, whatever embedding_model says now.
    spec = classifier.meta.get("embedding_model", settings.embedding_model)
    embedder = load_embedder(spec, resolve_device(settings.device))
    if classifier.meta.get("embedding_version") not in (None, embedder.version):
        raise ModelUnavailable(
            f"bias classifier at {folder} was trained on {spec} {classifier.meta['embedding_version']}, "
            f"but {embedder.version} is installed; rebuild it with `aigc models build-bias`"
        )
    status = {"status": "used", "source": source, "path": str(folder), "version": classifier.version}
    return LoadedClassifier(classifier, embedder, classifier.version), status
