"""The model registry: versions with lineage and metrics; promote, roll back, and what batches should use."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aigc_workflow.db.models import ModelStatus, ModelVersion
from aigc_workflow.models.specs import RegisteredModel


class RegistryError(LookupError):
    """A version that does not exist, or a promotion or rollback that cannot be done."""


def register(
    *, session: Session, name: str, kind: str, base: str, path: str | None, parent_id: int | None,
    finetune_run_id: int | None = None, metrics: dict[str, Any] | None = None,
) -> ModelVersion:
    version = ModelVersion(
        name=name, kind=kind, base=base, path=path, parent_id=parent_id, finetune_run_id=finetune_run_id,
        metrics=metrics or {}, status=ModelStatus.CANDIDATE,
    )
    session.add(version)
    session.flush()
    return version


def get(ref: str | int, *, session: Session) -> ModelVersion:
    """A version by id or name."""
    query = select(ModelVersion)
    query = query.where(ModelVersion.id == int(ref)) if str(ref).isdigit() else query.where(ModelVersion.name == ref)
    version = session.scalar(query)
    if version is None:
        raise RegistryError(f"no model version {ref!r}; see `aigc models list`")
    return version


def list_versions(*, session: Session, kind: str | None = None) -> list[ModelVersion]:
    query = select(ModelVersion).order_by(ModelVersion.id)
    if kind:
        query = query.where(ModelVersion.kind == kind)
    return list(session.scalars(query))


def promoted(kind: str, *, session: Session) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.status == ModelStatus.PROMOTED)
    )


def promote(ref: str | int, *, session: Session) -> ModelVersion:
    """Make a version the one batches use; the previously promoted one of its kind is retired."""
    version = get(ref, session=session)
    if version.status == ModelStatus.PROMOTED:
        return version
    current = promoted(version.kind, session=session)
    if current is not None:
        current.status = ModelStatus.RETIRED
        session.flush()  # the unique "one promoted per kind" index must see the retirement first
    version.status = ModelStatus.PROMOTED
    version.promoted_at = datetime.now(UTC)
    session.flush()
    return version


def rollback(kind: str, *, session: Session) -> ModelVersion | None:
    """Retire the promoted version and restore the one promoted before it (None: back to the base model)."""
    current = promoted(kind, session=session)
    if current is None:
        raise RegistryError(f"no promoted {kind} model to roll back")
    previous = session.scalar(
        select(ModelVersion)
        .where(
            ModelVersion.kind == kind,
            ModelVersion.id != current.id,
            ModelVersion.promoted_at.is_not(None),
            ModelVersion.promoted_at <= current.promoted_at,
        )
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
        .limit(1)
    )
    current.status = ModelStatus.RETIRED
    session.flush()
    if previous is not None:
        # promoted_at keeps its first value: a second rollback then goes one step further back, not forward.
        previous.status = ModelStatus.PROMOTED
        session.flush()
    return previous


def as_registered(version: ModelVersion) -> RegisteredModel:
    return RegisteredModel(version.name, version.base, Path(version.path) if version.path else None)


def version_json(version: ModelVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "name": version.name,
        "kind": version.kind,
        "status": str(version.status),
        "base": version.base,
        "path": version.path,
        "parent": version.parent_id,
        "finetune_run": version.finetune_run_id,
        "metrics": version.metrics,
        "created_at": version.created_at.isoformat(),
        "promoted_at": version.promoted_at.isoformat() if version.promoted_at else None,
    }
