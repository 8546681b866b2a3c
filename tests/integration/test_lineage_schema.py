"""The lineage schema enforces its promises in the database itself, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.models import Draft, Modality, ModelVersion, Publication, Rating
from aigc_workflow.db.session import session_scope


def make_draft(session) -> Draft:  # type: ignore[no-untyped-def]
    repo.upsert_briefs([BriefSpec(ref="b1", topic="Trees")], session=session)
    brief = repo.list_briefs(session=session)[0]
    batch = repo.create_batch(session=session, review_mode="auto", seed=1, candidates=1, config={})
    draft = Draft(
        cache_key="k1", batch_id=batch.id, brief_id=brief.id, candidate_index=0, modality=Modality.TEXT,
        text="Trees give shade.", prompt="p", model_version="fake@1", seed=7, params={"t": 1},
    )
    session.add(draft)
    session.flush()
    return draft


def test_one_publication_per_draft_and_channel(db_url: str) -> None:
    with session_scope(db_url) as session:
        draft = make_draft(session)
        session.add(Publication(draft_id=draft.id, channel="blog", location="x.md", text="t"))
        session.flush()
        session.add(Publication(draft_id=draft.id, channel="news", location="y.md", text="t"))
        session.flush()
    with pytest.raises(IntegrityError), session_scope(db_url) as session:
        session.add(Publication(draft_id=draft.id, channel="blog", location="z.md", text="t"))


@pytest.mark.parametrize(("rating", "thumbs"), [(0, None), (6, None), (None, None)])
def test_ratings_outside_one_to_five_or_empty_are_refused(db_url: str, rating, thumbs) -> None:  # type: ignore[no-untyped-def]
    with session_scope(db_url) as session:
        draft = make_draft(session)
        publication = Publication(draft_id=draft.id, channel="blog", location="x.md", text="t")
        session.add(publication)
    with pytest.raises(IntegrityError), session_scope(db_url) as session:
        session.add(Rating(publication_id=publication.id, rating=rating, thumbs=thumbs))


def test_only_one_promoted_model_version_per_kind(db_url: str) -> None:
    with session_scope(db_url) as session:
        session.add(ModelVersion(name="v1", kind="text", base="bundled:x", status="promoted"))
        session.add(ModelVersion(name="v2", kind="text", base="bundled:x", status="candidate"))
        session.add(ModelVersion(name="i1", kind="image", base="bundled:y", status="promoted"))
    with pytest.raises(IntegrityError), session_scope(db_url) as session:
        session.execute(sa.update(ModelVersion).where(ModelVersion.name == "v2").values(status="promoted"))


def test_timestamps_come_back_timezone_aware_and_naive_ones_are_refused(db_url: str) -> None:
    with session_scope(db_url) as session:
        draft = make_draft(session)
    with session_scope(db_url) as session:
        stored = session.get(Draft, draft.id)
        assert stored.created_at.tzinfo is not None
        assert abs((datetime.now(UTC) - stored.created_at).total_seconds()) < 60
    with pytest.raises(StatementError, match="naive datetime"), session_scope(db_url) as session:
        session.get(Draft, draft.id).created_at = datetime(2026, 1, 1)
        session.flush()


def test_unknown_status_strings_are_refused(db_url: str) -> None:
    with pytest.raises((StatementError, LookupError, IntegrityError)), session_scope(db_url) as session:
        session.add(ModelVersion(name="v9", kind="text", base="x", status="shiny"))
        session.flush()


def test_a_savepoint_inside_a_transaction_is_undone_by_the_outer_rollback(db_url: str) -> None:
    """Publishing uses a savepoint; on SQLite its RELEASE must not commit the outer transaction."""
    with pytest.raises(RuntimeError), session_scope(db_url) as session:
        with session.begin_nested():
            session.add(ModelVersion(name="ghost", kind="text", base="x"))
        raise RuntimeError("caller fails after the savepoint")
    with session_scope(db_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ModelVersion)) == 0


def test_rollback_walks_back_through_promotions_one_step_at_a_time(db_url: str) -> None:
    from aigc_workflow.models import registry

    with session_scope(db_url) as session:
        for name in ("v1", "v2", "v3"):
            registry.register(session=session, name=name, kind="text", base="bundled:x", path=None, parent_id=None)
            registry.promote(name, session=session)
    with session_scope(db_url) as session:
        assert registry.rollback("text", session=session).name == "v2"
    with session_scope(db_url) as session:
        assert registry.rollback("text", session=session).name == "v1"
    with session_scope(db_url) as session:
        assert registry.rollback("text", session=session) is None  # back to the base model
        assert registry.promoted("text", session=session) is None
