"""Batch stages as plain functions (plan, generate, score, gate, rank, publish, finish); flows only order them."""

from __future__ import annotations

import concurrent.futures
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aigc_workflow import progress, ranking
from aigc_workflow.crashpoints import pause_for_crash_test
from aigc_workflow.db import repo
from aigc_workflow.db.models import (
    Batch,
    BatchStatus,
    Decision,
    Draft,
    Modality,
    Publication,
    Review,
    ReviewDecision,
    Verdict,
)
from aigc_workflow.db.session import session_scope
from aigc_workflow.gate import decide
from aigc_workflow.models import registry
from aigc_workflow.models.specs import RegisteredModel
from aigc_workflow.generation.base import GenerationRequest, Generator, cache_key, derive_seed
from aigc_workflow.publishing import publish
from aigc_workflow.scoring.base import (
    ScoreResult,
    Scorer,
    ScoringContext,
    ScoringItem,
    failed_results,
    score_safely,
)
from aigc_workflow.settings import Settings


class UnknownBriefs(LookupError):
    """Refs asked for that are not in the database."""


@dataclass(frozen=True)
class PlannedDraft:
    """A draft the batch needs: its cache key, its brief and the request that produces it."""

    key: str
    brief_id: int
    request: GenerationRequest


def start_batch(
    settings: Settings, *, brief_refs: Sequence[str] | None, seed: int, candidates: int, review_mode: str,
    config: dict[str, Any], flow_run_id: str | None = None, pending_only: bool = False,
) -> tuple[int, list[int]]:
    """Create the batch row; returns its id and the ids of the briefs it covers (all briefs when refs is None).

    Idempotent per flow run: a run that restarts (resumed after suspension, retried) gets its own batch back.
    """
    with session_scope(settings.db_url) as session:
        briefs = repo.list_briefs(session=session, refs=brief_refs)
        if pending_only:
            # Pending: fewer drafts than asked for, so a brief a crashed run left half-drafted comes back.
            briefs = [b for b in briefs if repo.draft_count(b.id, session=session) < (b.candidates or candidates)]
        if brief_refs is not None:
            missing = sorted(set(brief_refs) - {b.ref for b in briefs})
            if missing:
                raise UnknownBriefs(f"unknown brief refs: {', '.join(missing)}; import them with `aigc brief import`")
        batch = repo.batch_for_flow_run(flow_run_id, session=session) if flow_run_id else None
        if batch is None:
            batch = repo.create_batch(
                session=session, review_mode=review_mode, seed=seed, candidates=candidates, config=config,
                flow_run_id=flow_run_id,
            )
        return batch.id, [b.id for b in briefs]


def import_briefs_folder(settings: Settings, folder: str | Path) -> int:
    """Import every briefs file in a folder, all or nothing: one bad file refuses the whole folder.

    Returns how many briefs were read. A ref that two files both define is refused too: which one wins
    would depend on the file names' order.
    """
    from aigc_workflow.briefs import BriefFileError, Problem, load_briefs

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in {".yaml", ".yml", ".csv"})
    specs, first_in = [], {}
    for path in files:
        for spec in load_briefs(path):
            if spec.ref in first_in:
                raise BriefFileError(path, [Problem(f"brief {spec.ref!r}", "ref",
                                                    f"duplicate ref {spec.ref!r} (first in {first_in[spec.ref]})")])
            first_in[spec.ref] = path
            specs.append(spec)
    with session_scope(settings.db_url) as session:
        repo.upsert_briefs(specs, session=session)
    return len(specs)


def plan(
    settings: Settings, brief_ids: Sequence[int], *, batch_seed: int, candidates: int,
    model_version: str, params: dict[str, Any], modality: str = "text", round_no: int = 0,
) -> list[PlannedDraft]:
    """Every (brief, candidate) of one modality, with per-draft seeds and cache keys.

    Round r (a redraft) plans candidates r*n .. r*n+n-1 of a brief with n candidates: new seeds, new drafts.
    """
    planned = []
    with session_scope(settings.db_url) as session:
        for brief in repo.briefs_by_ids(brief_ids, session=session):
            if str(brief.modality) != modality:
                continue
            spec = repo.brief_to_spec(brief)
            per_round = brief.candidates or candidates
            for index in range(round_no * per_round, (round_no + 1) * per_round):
                seed = derive_seed(batch_seed, brief.ref, index)
                request = GenerationRequest(spec, index, seed)
                planned.append(PlannedDraft(cache_key(spec, model_version, seed, params, index), brief.id, request))
    return planned


@dataclass(frozen=True)
class ModelChoice:
    """The text model a batch uses: a spec, the registered version behind it (if any) and its id."""

    spec: str
    registered: RegisteredModel | None = None
    version_id: int | None = None


def text_model_choice(settings: Settings, explicit: str | None = None) -> ModelChoice:
    """An explicit spec wins; otherwise the promoted text model version; otherwise the configured base."""
    with session_scope(settings.db_url) as session:
        if explicit and explicit.startswith("registry:"):
            version = registry.get(explicit.removeprefix("registry:"), session=session)
        elif explicit:
            return ModelChoice(explicit)
        else:
            version = registry.promoted("text", session=session)
            if version is None:
                return ModelChoice(settings.text_model)
        return ModelChoice(f"registry:{version.name}", registry.as_registered(version), version.id)


def modalities(settings: Settings, brief_ids: Sequence[int]) -> set[str]:
    """Which modalities the briefs ask for, so a batch loads only the generators it needs."""
    with session_scope(settings.db_url) as session:
        return {str(brief.modality) for brief in repo.briefs_by_ids(brief_ids, session=session)}


def stored_draft_ids(settings: Settings, keys: Sequence[str]) -> dict[str, int]:
    with session_scope(settings.db_url) as session:
        return {key: draft.id for key, draft in repo.drafts_by_keys(keys, session=session).items()}


def generate_and_store(
    settings: Settings, generator: Generator, batch_id: int, planned: Sequence[PlannedDraft],
    model_version_id: int | None = None,
) -> list[int]:
    """Generate what is not stored yet and store it in one transaction; returns draft ids in planned order.

    Idempotent: drafts already stored under their cache key are reused, never generated again.
    """
    known = stored_draft_ids(settings, [p.key for p in planned])
    todo = [p for p in planned if p.key not in known]
    if todo:
        generated = generator.generate([p.request for p in todo])
        with session_scope(settings.db_url) as session:
            for item, draft in zip(todo, generated, strict=True):
                row = Draft(
                    cache_key=item.key, batch_id=batch_id, brief_id=item.brief_id,
                    candidate_index=item.request.candidate_index, modality=Modality(generator.modality),
                    text=draft.text, image_path=draft.image_path, prompt=draft.prompt,
                    model_version=draft.model_version, model_version_id=model_version_id,
                    seed=item.request.seed, params=draft.params,
                )
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    continue  # a concurrent run stored the same key first; theirs is identical by construction
        known = stored_draft_ids(settings, [p.key for p in planned])
    ids = [known[p.key] for p in planned]
    with session_scope(settings.db_url) as session:
        repo.link_drafts(batch_id, ids, session=session)
    return ids


def _score_with_timeout(
    scorer: Scorer, items: Sequence[ScoringItem], context: ScoringContext, timeout_s: float
) -> list[ScoreResult]:
    # A hung scorer must not hang the batch: give up after the timeout and hold the drafts.
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"scorer-{scorer.name}")
    future = executor.submit(score_safely, scorer, items, context)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        return failed_results(scorer.name, items, f"timed out after {timeout_s:g} s")
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _published_ids(draft_ids: Sequence[int], *, session: Any) -> set[int]:
    return set(session.scalars(select(Publication.draft_id).where(Publication.draft_id.in_(list(draft_ids)))))


def score_drafts(
    settings: Settings, draft_ids: Sequence[int], scorers: Sequence[Scorer], *, timeout_s: float | None = None,
    stage: str = "scores",
) -> None:
    """Run every scorer over the drafts (batched per scorer) and store one score row per draft and scorer.

    Published drafts keep the scores they were published with: a re-run after a crash must not rescore
    them (originality would now find each one's own publication and reject it after the fact).
    """
    with session_scope(settings.db_url) as session:
        published = _published_ids(draft_ids, session=session)
        drafts = [d for d in repo.list_drafts(session=session, ids=draft_ids) if d.id not in published]
        context = ScoringContext(
            published_texts=tuple(repo.published_texts(session=session)),
            published_image_paths=tuple(repo.published_image_paths(session=session)),
        )
        items = [
            ScoringItem(repo.brief_to_spec(d.brief), d.text, d.image_path, d.id) for d in drafts
        ]
    timeout_s = timeout_s or settings.scorer_timeout_s
    work = [(scorer, [item for item in items if _modality(item) == scorer.modality]) for scorer in scorers]
    total, done = sum(len(mine) for _, mine in work), 0
    for scorer, mine in work:
        results = _score_with_timeout(scorer, mine, context, timeout_s)
        with session_scope(settings.db_url) as session:
            for item, result in zip(mine, results, strict=True):
                repo.save_scores(item.draft_id, [result], session=session)
        done += len(mine)
        progress.report(stage, done, total)


def _modality(item: ScoringItem) -> str:
    return "image" if item.image_path and item.text is None else "text"


def channel_of(draft: Draft, settings: Settings) -> str:
    return draft.brief.channel or settings.default_channel


def gate_drafts(settings: Settings, draft_ids: Sequence[int]) -> dict[int, str]:
    """Decide every draft from its stored scores and its channel's thresholds; returns draft id -> decision."""
    decisions = {}
    with session_scope(settings.db_url) as session:
        published = _published_ids(draft_ids, session=session)
        for draft in repo.list_drafts(session=session, ids=draft_ids):
            if draft.id in published and draft.verdict is not None:
                decisions[draft.id] = str(draft.verdict.decision)  # its verdict is part of its lineage: frozen
                continue
            bounds = settings.gate_for(channel_of(draft, settings))
            required = settings.text_scorers if draft.modality == Modality.TEXT else settings.image_scorers
            verdict = decide(repo.score_results(draft), bounds, required)
            thresholds = {name: bound.model_dump(exclude_none=True) for name, bound in bounds.items()}
            repo.save_verdict(draft.id, verdict.decision, verdict.reasons, thresholds, session=session)
            decisions[draft.id] = verdict.decision
    return decisions


def briefs_to_redraft(settings: Settings, draft_ids: Sequence[int]) -> list[int]:
    """Text briefs of these drafts whose every draft the gate rejected: new candidates may pass where these failed.

    A brief with a held draft waits for a person (or a scorer) instead; images are not redrafted.
    """
    decisions: dict[int, set[str]] = defaultdict(set)
    with session_scope(settings.db_url) as session:
        for draft in repo.list_drafts(session=session, ids=draft_ids):
            if draft.modality == Modality.TEXT:
                decisions[draft.brief_id].add(str(draft.verdict.decision) if draft.verdict else "ungated")
    return [brief_id for brief_id, seen in decisions.items() if seen == {Decision.REJECTED}]


def rank_drafts(settings: Settings, draft_ids: Sequence[int]) -> list[int]:
    """Rank each brief's approved drafts of the batch by how far their scores clear the brief's channel bounds
    (aigc_workflow/ranking.py) and record it on the verdicts; returns the ids of the chosen drafts.

    A brief's candidates are alternatives: the best `publish` (default 1) approved ones are chosen, the others
    are alternates a person may pick instead. A published draft keeps the ranking it was published with.
    """
    chosen = []
    with session_scope(settings.db_url) as session:
        published = _published_ids(draft_ids, session=session)
        by_brief: dict[int, list[Draft]] = defaultdict(list)
        for draft in repo.list_drafts(session=session, ids=draft_ids):
            if draft.verdict is not None:
                by_brief[draft.brief_id].append(draft)
        for drafts in by_brief.values():
            bounds = settings.gate_for(channel_of(drafts[0], settings))
            candidates = [
                ranking.Candidate(d.id, d.candidate_index, str(d.verdict.decision),
                                  {s.scorer: s.value for s in d.scores}, d.id in published)
                for d in drafts
            ]
            ranked = ranking.rank(candidates, bounds, drafts[0].brief.publish or 1)
            for draft in drafts:
                verdict, place = draft.verdict, ranked[draft.id]
                if draft.id not in published or verdict.rank_reason is None:  # else part of its lineage: frozen
                    repo.save_ranking(draft.id, rank=place.rank, score=place.score, chosen=place.chosen,
                                      reason=place.reason, session=session)
                if verdict.chosen:
                    chosen.append(draft.id)
    return chosen


def publishable(settings: Settings, draft_ids: Sequence[int], review_mode: str = "auto") -> list[int]:
    """Which of the drafts are to be published, per brief (whether or not they already are).

    Where a person approved any candidate of a brief (their latest review), exactly those: a reviewer may pick
    an alternate instead of the chosen draft, or several. Otherwise the drafts the ranking chose, unless the
    review mode makes every draft wait for a person or a person rejected them.
    """
    with session_scope(settings.db_url) as session:
        # A ranking that is missing (a caller that skipped the rank stage) or void (a verdict decided anew)
        # is made now: publishing never goes by the gate alone, which would publish every candidate.
        stale = select(Verdict.id).where(Verdict.draft_id.in_(list(draft_ids)), Verdict.rank_reason.is_(None),
                                         Verdict.decision == Decision.APPROVED)
        unranked = session.scalar(stale.limit(1)) is not None
    if unranked:
        rank_drafts(settings, draft_ids)
    picked = []
    with session_scope(settings.db_url) as session:
        by_brief: dict[int, list[tuple[Draft, Review | None]]] = defaultdict(list)
        for draft in repo.list_drafts(session=session, ids=draft_ids):
            if draft.verdict is not None:
                by_brief[draft.brief_id].append((draft, repo.latest_review(draft.id, session=session)))
        for drafts in by_brief.values():
            approved = [d.id for d, review in drafts
                        if review is not None and review.decision == ReviewDecision.APPROVE]
            if not approved and review_mode != "human":
                approved = [d.id for d, review in drafts
                            if review is None and d.verdict.chosen and d.verdict.decision == Decision.APPROVED]
            picked += approved
    return sorted(picked)


def publish_approved(settings: Settings, draft_ids: Sequence[int], review_mode: str = "auto") -> list[int]:
    """Publish what `publishable` picks, to each draft's channel, exactly once; returns the new publications' ids.

    A person's review that approved a draft is recorded with its publication, and its edit is what gets published.
    """
    created = []
    for draft_id in publishable(settings, draft_ids, review_mode):
        # One transaction per draft: a crash loses at most the publication in flight, never a finished one.
        with session_scope(settings.db_url) as session:
            draft = repo.draft_with_lineage(draft_id, session=session)
            review = repo.latest_review(draft.id, session=session)
            if review is not None and review.decision != ReviewDecision.APPROVE:
                continue  # rejected since it was picked: the person's latest word stands
            channel = channel_of(draft, settings)
            publication, new = publish(draft, channel, settings.published_dir, session=session, review=review)
            if new:
                session.flush()
                created.append(publication.id)
                if len(created) == 2:
                    pause_for_crash_test("publish")
    return created


def set_review_mode(settings: Settings, batch_id: int, review_mode: str) -> None:
    """Record the review mode that now decides the batch's waiting drafts.

    Once a person submitted a `human` batch's form, what they left to the gate is the gate's (`held-only`):
    `aigc review` must then offer only the held drafts, never ones the gate has already published.
    """
    with session_scope(settings.db_url) as session:
        session.get(Batch, batch_id).review_mode = review_mode


def finish_batch(settings: Settings, batch_id: int, status: BatchStatus, summary: dict[str, Any]) -> None:
    with session_scope(settings.db_url) as session:
        batch = session.get(Batch, batch_id)
        batch.status = status
        batch.summary = summary
        batch.finished_at = datetime.now(UTC)
