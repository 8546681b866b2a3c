"""Repository functions: every query and write the engine makes. They take `*, session` and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db.models import (
    Batch,
    BatchDraft,
    Brief,
    Decision,
    Draft,
    Modality,
    Publication,
    Rating,
    Review,
    Score,
    Verdict,
)
from aigc_workflow.scoring.base import ScoreResult

BRIEF_FIELDS = tuple(BriefSpec.model_fields)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def brief_to_spec(brief: Brief) -> BriefSpec:
    data = {name: getattr(brief, name) for name in BRIEF_FIELDS}
    data["modality"] = str(brief.modality)
    return BriefSpec.model_validate(data)


def upsert_briefs(specs: Sequence[BriefSpec], *, session: Session) -> ImportResult:
    """Insert new refs, update changed ones, leave identical ones: importing twice duplicates nothing."""
    existing = {b.ref: b for b in session.scalars(select(Brief).where(Brief.ref.in_([s.ref for s in specs])))}
    created = updated = unchanged = 0
    for spec in specs:
        values: dict[str, Any] = spec.model_dump()
        values["keywords"] = list(spec.keywords)
        values["avoid"] = list(spec.avoid)
        values["facts"] = list(spec.facts)
        values["modality"] = Modality(spec.modality)
        digest = spec.content_hash()
        brief = existing.get(spec.ref)
        if brief is None:
            session.add(Brief(**values, content_hash=digest))
            created += 1
        elif brief.content_hash != digest or brief.publish != spec.publish:  # publish is not in the hash
            for key, value in values.items():
                setattr(brief, key, value)
            brief.content_hash = digest
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return ImportResult(created, updated, unchanged)


def list_briefs(*, session: Session, refs: Iterable[str] | None = None) -> list[Brief]:
    query = select(Brief).order_by(Brief.id)
    if refs is not None:
        query = query.where(Brief.ref.in_(list(refs)))
    return list(session.scalars(query))


def briefs_by_ids(ids: Iterable[int], *, session: Session) -> list[Brief]:
    return list(session.scalars(select(Brief).where(Brief.id.in_(list(ids))).order_by(Brief.id)))


def create_batch(
    *, session: Session, review_mode: str, seed: int, candidates: int, config: dict[str, Any],
    flow_run_id: str | None = None,
) -> Batch:
    batch = Batch(review_mode=review_mode, seed=seed, candidates=candidates, config=config, flow_run_id=flow_run_id)
    session.add(batch)
    session.flush()
    return batch


def link_drafts(batch_id: int, draft_ids: Iterable[int], *, session: Session) -> None:
    """Record that a batch covers these drafts (generated now or reused from an earlier run)."""
    linked = set(session.scalars(select(BatchDraft.draft_id).where(BatchDraft.batch_id == batch_id)))
    session.add_all(BatchDraft(batch_id=batch_id, draft_id=d) for d in dict.fromkeys(draft_ids) if d not in linked)
    session.flush()


def batch_draft_ids(batch_id: int, *, session: Session) -> list[int]:
    query = select(BatchDraft.draft_id).where(BatchDraft.batch_id == batch_id).order_by(BatchDraft.draft_id)
    return list(session.scalars(query))


def draft_count(brief_id: int, *, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Draft).where(Draft.brief_id == brief_id)) or 0


def batch_for_flow_run(flow_run_id: str, *, session: Session) -> Batch | None:
    return session.scalar(select(Batch).where(Batch.flow_run_id == flow_run_id))


def drafts_by_keys(keys: Iterable[str], *, session: Session) -> dict[str, Draft]:
    keys = list(keys)
    if not keys:
        return {}
    return {d.cache_key: d for d in session.scalars(select(Draft).where(Draft.cache_key.in_(keys)))}


def draft_with_lineage(draft_id: int, *, session: Session) -> Draft | None:
    query = (
        select(Draft)
        .where(Draft.id == draft_id)
        .options(
            selectinload(Draft.brief),
            selectinload(Draft.scores),
            selectinload(Draft.verdict),
            selectinload(Draft.reviews),
            selectinload(Draft.publications),
        )
    )
    return session.scalar(query)


def list_drafts(*, session: Session, batch_id: int | None = None, ids: Iterable[int] | None = None) -> list[Draft]:
    query = (
        select(Draft)
        .order_by(Draft.id)
        .options(
            selectinload(Draft.brief),
            selectinload(Draft.scores),
            selectinload(Draft.verdict),
            selectinload(Draft.reviews),
            selectinload(Draft.publications),
        )
    )
    if batch_id is not None:
        query = query.join(BatchDraft, BatchDraft.draft_id == Draft.id).where(BatchDraft.batch_id == batch_id)
    if ids is not None:
        query = query.where(Draft.id.in_(list(ids)))
    return list(session.scalars(query))


def save_scores(draft_id: int, results: Iterable[ScoreResult], *, session: Session) -> None:
    """One row per (draft, scorer); scoring again replaces the earlier row."""
    current = {s.scorer: s for s in session.scalars(select(Score).where(Score.draft_id == draft_id))}
    for result in results:
        row = current.get(result.scorer) or Score(draft_id=draft_id, scorer=result.scorer)
        row.scorer_model = result.model
        row.scorer_version = result.version
        row.value = result.value
        row.details = result.details
        row.error = result.error
        session.add(row)
    session.flush()


def score_results(draft: Draft) -> dict[str, ScoreResult]:
    return {
        s.scorer: ScoreResult(s.scorer, s.value, s.scorer_model, s.scorer_version, s.details or {}, s.error)
        for s in draft.scores
    }


def save_verdict(
    draft_id: int, decision: str, reasons: Sequence[str], thresholds: dict[str, Any], *, session: Session
) -> Verdict:
    verdict = session.scalar(select(Verdict).where(Verdict.draft_id == draft_id)) or Verdict(draft_id=draft_id)
    verdict.decision = Decision(decision)
    verdict.reasons = list(reasons)
    verdict.thresholds = thresholds
    # A new decision voids the ranking made from the old one: nothing is chosen until the brief is ranked again.
    verdict.rank, verdict.rank_score, verdict.chosen, verdict.rank_reason = None, None, False, None
    session.add(verdict)
    session.flush()
    return verdict


def save_ranking(
    draft_id: int, *, rank: int | None, score: float | None, chosen: bool, reason: str, session: Session
) -> None:
    """Record a draft's place among its brief's candidates on its verdict (which must exist)."""
    verdict = session.scalar(select(Verdict).where(Verdict.draft_id == draft_id))
    if verdict is None:
        raise LookupError(f"draft {draft_id} has no verdict to rank")
    verdict.rank, verdict.rank_score, verdict.chosen, verdict.rank_reason = rank, score, chosen, reason
    session.flush()


def published_texts(*, session: Session, limit: int = 5000) -> list[str]:
    """The most recent published texts, for originality checks."""
    query = (
        select(Publication.text)
        .where(Publication.text.is_not(None))
        .order_by(Publication.id.desc())
        .limit(limit)
    )
    return [text for text in session.scalars(query) if text]


def published_image_paths(*, session: Session, limit: int = 5000) -> list[str]:
    """Image files of the most recent published image drafts, for near-duplicate checks."""
    query = (
        select(Draft.image_path)
        .join(Publication, Publication.draft_id == Draft.id)
        .where(Draft.modality == Modality.IMAGE, Draft.image_path.is_not(None))
        .order_by(Publication.id.desc())
        .limit(limit)
    )
    return list(dict.fromkeys(path for path in session.scalars(query) if path))


def rated_image_publications(
    model_version: str, *, session: Session, limit: int = 2000
) -> list[tuple[int, int, dict[str, Any]]]:
    """(publication id, draft id, draft params) of rated image drafts of one model, most recent first."""
    rated = select(Rating.publication_id).distinct()
    query = (
        select(Publication.id, Draft.id, Draft.params)
        .join(Draft, Publication.draft_id == Draft.id)
        .where(Draft.modality == Modality.IMAGE, Draft.model_version == model_version, Publication.id.in_(rated))
        .order_by(Publication.id.desc())
        .limit(limit)
    )
    return [(pid, did, params or {}) for pid, did, params in session.execute(query)]


def publication_for(draft_id: int, channel: str, *, session: Session) -> Publication | None:
    return session.scalar(select(Publication).where(Publication.draft_id == draft_id, Publication.channel == channel))


def latest_review(draft_id: int, *, session: Session) -> Review | None:
    return session.scalar(select(Review).where(Review.draft_id == draft_id).order_by(Review.id.desc()).limit(1))
