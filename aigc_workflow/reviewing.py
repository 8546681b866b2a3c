"""Finding the batches whose drafts still wait for a person, outside any flow run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from aigc_workflow.db import repo
from aigc_workflow.db.models import Batch, BatchStatus
from aigc_workflow.db.session import session_scope
from aigc_workflow.review import ReviewItem, pending_items
from aigc_workflow.settings import Settings


@dataclass(frozen=True)
class WaitingBatch:
    batch_id: int
    review_mode: str
    draft_ids: list[int]
    items: list[ReviewItem]
    summary: dict[str, Any]


def awaiting_batches(settings: Settings, batch_id: int | None = None) -> list[WaitingBatch]:
    """Batches awaiting review (or the one asked for) with the drafts that still wait in each."""
    with session_scope(settings.db_url) as session:
        query = select(Batch).order_by(Batch.id)
        query = query.where(Batch.id == batch_id) if batch_id else query.where(
            Batch.status == BatchStatus.AWAITING_REVIEW
        )
        batches = [
            (b.id, b.review_mode, repo.batch_draft_ids(b.id, session=session), b.summary)
            for b in session.scalars(query)
        ]
    waiting = []
    for bid, mode, draft_ids, summary in batches:
        # In an auto batch what the gate approved is already out; only held drafts still need a person.
        items = pending_items(settings, draft_ids, "held-only" if mode == "auto" else mode)
        if items:
            waiting.append(WaitingBatch(bid, mode, draft_ids, items, summary or {}))
    return waiting
