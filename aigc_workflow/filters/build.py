"""Build the bias classifier into AIGC_HOME, measure it on held-out data, register it; find the one to use."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy.orm import Session

    from aigc_workflow.filters.bias_classifier import BiasClassifier
    from aigc_workflow.filters.datasets import FilterData
    from aigc_workflow.settings import Settings

KIND = "bias"


def classifier_metrics(
    model: BiasClassifier, data: FilterData, vectors: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Held-out quality of the classifier alone: biased comments, implicit harm, identity false alarms."""
    from aigc_workflow.filters.metrics import false_alarm_rates, summarise

    scores = dict(zip((e.text for e in data.test), model.predict_proba(vectors).tolist(), strict=True))

    def on(examples: list) -> tuple[list[float], list[int]]:
        return [scores[e.text] for e in examples], [e.label for e in examples]

    identity = data.test_identity
    identity_scores = [scores[e.text] for e in identity]
    return {
        "biased_comments": summarise(*on(data.test_biased_comments), threshold),
        "implicit_harm": summarise(*on(data.test_implicit), threshold),
        "identity_false_alarm": {
            "overall": round(sum(s > threshold for s in identity_scores) / max(len(identity_scores), 1), 4),
            "per_group": false_alarm_rates(identity_scores, [e.group for e in identity], threshold),
        },
    }


def build_bias_classifier(
    settings: Settings,
    *,
    session: Session | None = None,
    limit: int | None = None,
    head: str = "logistic",
    augment: bool = True,
    promote: bool = True,
    output: Path | None = None,
) -> dict[str, Any]:
    """Train on the packaged labelled data, save under AIGC_HOME/models/bias/, and (with a session) register it.

    The caller owns the session's transaction; with `promote` the new version becomes the one the bias
    scorer uses (the previous one is retired).
    """
    from aigc_workflow.filters.bias_classifier import train_classifier
    from aigc_workflow.filters.datasets import load_filter_data
    from aigc_workflow.filters.embedding_cache import embed_cached
    from aigc_workflow.models.embeddings import load_embedder, resolve_device

    embedder = load_embedder(settings.embedding_model, resolve_device(settings.device))
    data = load_filter_data(limit=limit, augment=augment)
    train_vectors = embed_cached([e.text for e in data.train], settings, embedder)
    test_vectors = embed_cached([e.text for e in data.test], settings, embedder)
    model = train_classifier(data.train, train_vectors, head=head)
    bound = settings.gate.get("bias")
    threshold = bound.max if bound is not None and bound.max is not None else 0.5
    metrics = classifier_metrics(model, data, test_vectors, threshold)
    model.meta.update(
        embedding_model=embedder.spec,
        embedding_version=embedder.version,
        limit=limit,
        augment=augment,
        built_at=datetime.now(UTC).isoformat(),
        held_out=metrics,
    )
    name = f"bias-{datetime.now(UTC):%Y%m%d-%H%M%S}-{model.version.removeprefix('sha256:')[:8]}"
    folder = model.save(output or settings.models_dir / KIND / name)
    result: dict[str, Any] = {"name": name, "path": str(folder), "version": model.version,
                              "training": model.meta["trained_on"],
                              "calibrated_threshold": model.meta["calibrated_threshold"], "held_out": metrics}
    if session is not None:
        from aigc_workflow.models import registry

        version = registry.register(
            session=session, name=name, kind=KIND, base=f"{embedder.spec} ({embedder.version}) + {head} head",
            path=str(folder), parent_id=None, metrics={"held_out": metrics, "training": model.meta["trained_on"],
                                                      "version": model.version},
        )
        if promote:
            registry.promote(version.id, session=session)
        result.update(id=version.id, status=str(version.status))
    return result


def resolve_classifier_path(settings: Settings) -> tuple[Path | None, str]:
    """(folder, where it came from): the configured path first, else the promoted kind="bias" version."""
    if settings.bias_classifier is not None:
        return Path(settings.bias_classifier).expanduser(), "setting bias_classifier"
    url = settings.db_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None, "none built (no database yet; run `aigc models build-bias`)"  # and do not create one
    try:
        from aigc_workflow.db.session import session_scope
        from aigc_workflow.models import registry

        with session_scope(settings.db_url) as session:
            version = registry.promoted(KIND, session=session)
            if version is not None and version.path:
                return Path(version.path), f"model version {version.name} (id {version.id})"
    except Exception as error:
        # A database that exists but cannot be read may hide a promoted classifier: scoring without it would
        # fail open, so the bias scorer holds its drafts instead.
        from aigc_workflow.scoring.base import ModelUnavailable

        raise ModelUnavailable(f"cannot look up the promoted bias classifier in the database: {error}") from error
    return None, "none built (run `aigc models build-bias`)"
