"""ORM models: the whole lineage from brief to rating, and the model registry."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aigc_workflow.db.base import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Plain strings with a CHECK constraint: portable, readable in SQL, no native ENUM migrations.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Modality(enum.StrEnum):
    TEXT = "text"
    IMAGE = "image"


class BatchStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    AWAITING_REVIEW = "awaiting_review"


class Decision(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    HELD = "held"


class ReviewDecision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Thumbs(enum.StrEnum):
    UP = "up"
    DOWN = "down"


class ModelStatus(enum.StrEnum):
    CANDIDATE = "candidate"
    PROMOTED = "promoted"
    RETIRED = "retired"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class Brief(Base):
    __tablename__ = "briefs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(200), unique=True)
    modality: Mapped[Modality] = mapped_column(_enum(Modality, "modality"))
    topic: Mapped[str] = mapped_column(Text)
    audience: Mapped[str | None] = mapped_column(Text)
    tone: Mapped[str | None] = mapped_column(String(200))
    format: Mapped[str | None] = mapped_column(String(200))
    min_words: Mapped[int | None]
    max_words: Mapped[int | None]
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    avoid: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Statements the content may rely on; the server default fills the rows stored before the column existed.
    facts: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    channel: Mapped[str | None] = mapped_column(String(100))
    candidates: Mapped[int | None]
    publish: Mapped[int | None]  # how many of its candidates publish; None means 1
    # ISO 639-1; the server default fills the rows stored before the column existed (all English).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default=text("'en'"))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    drafts: Mapped[list[Draft]] = relationship(back_populates="brief")


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus, "batch_status"), default=BatchStatus.RUNNING)
    review_mode: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int]
    candidates: Mapped[int]
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    drafts: Mapped[list[Draft]] = relationship(back_populates="batch")


class BatchDraft(Base):
    """Which drafts a batch covers: the ones it generated and the stored ones it reused on a re-run."""

    __tablename__ = "batch_drafts"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True, index=True)


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The cache key (brief content, model version, seed, parameters, candidate index) makes
    # generation idempotent: a re-run finds the stored draft instead of generating again.
    cache_key: Mapped[str] = mapped_column(String(64), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("briefs.id"), index=True)
    candidate_index: Mapped[int]
    modality: Mapped[Modality] = mapped_column(_enum(Modality, "modality"))
    text: Mapped[str | None] = mapped_column(Text)
    image_path: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(300))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    seed: Mapped[int]
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="drafts")
    brief: Mapped[Brief] = relationship(back_populates="drafts")
    scores: Mapped[list[Score]] = relationship(back_populates="draft", order_by="Score.scorer")
    verdict: Mapped[Verdict | None] = relationship(back_populates="draft")
    reviews: Mapped[list[Review]] = relationship(back_populates="draft", order_by="Review.id")
    publications: Mapped[list[Publication]] = relationship(back_populates="draft", order_by="Publication.id")


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("draft_id", "scorer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    scorer: Mapped[str] = mapped_column(String(64))
    scorer_model: Mapped[str] = mapped_column(String(300))
    scorer_version: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    draft: Mapped[Draft] = relationship(back_populates="scores")


class Verdict(Base):
    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), unique=True)
    decision: Mapped[Decision] = mapped_column(_enum(Decision, "decision"))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The ranking among the brief's approved candidates of the batch (aigc_workflow/ranking.py): rank 1 is the
    # best; the chosen ones publish unless a person picks otherwise; None until ranked, or when not approved.
    rank: Mapped[int | None]
    rank_score: Mapped[float | None]
    chosen: Mapped[bool] = mapped_column(default=False, server_default=false())
    rank_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    draft: Mapped[Draft] = relationship(back_populates="verdict")


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[ReviewDecision] = mapped_column(_enum(ReviewDecision, "review_decision"))
    gate_decision: Mapped[Decision] = mapped_column(_enum(Decision, "decision"))
    edited_text: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    draft: Mapped[Draft] = relationship(back_populates="reviews")


class Publication(Base):
    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("draft_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    draft: Mapped[Draft] = relationship(back_populates="publications")
    ratings: Mapped[list[Rating]] = relationship(back_populates="publication", order_by="Rating.id")


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        CheckConstraint("rating IS NOT NULL OR thumbs IS NOT NULL", name="rating_or_thumbs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), index=True)
    rating: Mapped[int | None]
    thumbs: Mapped[Thumbs | None] = mapped_column(_enum(Thumbs, "thumbs"))
    rater: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    # A client-chosen key: a retried submission is stored once.
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    publication: Mapped[Publication] = relationship(back_populates="ratings")


class FinetuneRun(Base):
    __tablename__ = "finetune_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus, "run_status"), default=RunStatus.RUNNING)
    base_model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    # The feedback it was trained on: rating and review ids, counts and the cut-off time.
    dataset: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        Index(
            "ix_model_versions_one_promoted",
            "kind",
            unique=True,
            sqlite_where=text("status = 'promoted'"),
            postgresql_where=text("status = 'promoted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    base: Mapped[str] = mapped_column(String(300))
    path: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    finetune_run_id: Mapped[int | None] = mapped_column(ForeignKey("finetune_runs.id", use_alter=True))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[ModelStatus] = mapped_column(_enum(ModelStatus, "model_status"), default=ModelStatus.CANDIDATE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
