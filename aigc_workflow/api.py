"""The HTTP API: published items with their lineage and ratings (read), and new ratings (token-protected write)."""

# No `from __future__ import annotations`: FastAPI reads handler annotations at runtime, and the token
# dependency is a closure variable that string annotations could not resolve.
import secrets
import time
from datetime import datetime
from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from aigc_workflow import __version__, feedback
from aigc_workflow.api_docs import add_offline_docs
from aigc_workflow.db.models import Draft, Publication
from aigc_workflow.db.session import session_scope
from aigc_workflow.settings import Settings

MAX_PAGE = 500
SQLITE_BUSY_RETRIES = 8


class ApiTokenMissing(RuntimeError):
    """The API will not serve writes without a token, and will not run open."""


class RatingSummary(BaseModel):
    count: int
    mean: float | None = Field(description="Mean of the 1-5 ratings; null when there are none.")
    thumbs_up: int
    thumbs_down: int


class PublicationOut(BaseModel):
    id: int
    draft_id: int
    brief_ref: str
    channel: str
    location: str
    text: str | None
    published_at: datetime
    model_version: str
    rating_summary: RatingSummary


class PublicationPage(BaseModel):
    items: list[PublicationOut]
    total: int
    limit: int
    offset: int


class RatingOut(BaseModel):
    id: int
    publication_id: int
    rating: int | None
    thumbs: Literal["up", "down"] | None
    rater: str | None
    comment: str | None
    external_id: str | None
    created_at: datetime


class ScoreOut(BaseModel):
    scorer: str
    value: float | None
    model: str
    version: str
    error: str | None


class VerdictOut(BaseModel):
    decision: str
    reasons: list[str]


class ReviewOut(BaseModel):
    id: int
    reviewer: str
    decision: str
    gate_decision: str
    note: str | None
    created_at: datetime


class PublicationDetail(PublicationOut):
    batch_id: int
    prompt: str
    seed: int
    review_id: int | None
    scores: list[ScoreOut]
    verdict: VerdictOut | None
    reviews: list[ReviewOut]
    ratings: list[RatingOut] = Field(description="Every rating of this publication, oldest first.")


def _publication_json(publication: Publication, summary: dict[str, Any]) -> dict[str, Any]:
    draft = publication.draft
    return {
        "id": publication.id,
        "draft_id": publication.draft_id,
        "brief_ref": draft.brief.ref,
        "channel": publication.channel,
        # Relative to the published folder: the server's own paths are nobody's business on an open GET.
        "location": f"{publication.channel}/{PurePath(publication.location).name}",
        "text": publication.text,
        "published_at": publication.published_at,
        "model_version": draft.model_version,
        "rating_summary": summary,
    }


def _detail_json(publication: Publication, summary: dict[str, Any]) -> dict[str, Any]:
    draft = publication.draft
    verdict = draft.verdict
    return {
        **_publication_json(publication, summary),
        "batch_id": draft.batch_id,
        "prompt": draft.prompt,
        "seed": draft.seed,
        "review_id": publication.review_id,
        "scores": [
            {"scorer": s.scorer, "value": s.value, "model": s.scorer_model, "version": s.scorer_version,
             "error": s.error}
            for s in draft.scores
        ],
        "verdict": {"decision": str(verdict.decision), "reasons": list(verdict.reasons)} if verdict else None,
        "reviews": [
            {"id": r.id, "reviewer": r.reviewer, "decision": str(r.decision), "gate_decision": str(r.gate_decision),
             "note": r.note, "created_at": r.created_at}
            for r in draft.reviews
        ],
        "ratings": [feedback.rating_json(r) for r in publication.ratings],
    }


def _load_options() -> list[Any]:
    return [selectinload(Publication.draft).selectinload(Draft.brief)]


def _token_bytes(settings: Settings) -> bytes:
    token = settings.api_token.get_secret_value().strip() if settings.api_token is not None else ""
    if not token:
        raise ApiTokenMissing(
            "no API token configured: the API refuses to run without one. Set AIGC_API_TOKEN, e.g. "
            "export AIGC_API_TOKEN=\"$(python -c 'import secrets; print(secrets.token_urlsafe(32))')\""
        )
    return token.encode()


def create_app(settings: Settings) -> FastAPI:
    """The API on the database of `settings`; raises ApiTokenMissing when no token is configured."""
    expected = _token_bytes(settings)
    url = settings.db_url
    bearer = HTTPBearer(auto_error=False, description="AIGC_API_TOKEN, required for writes.")

    def require_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        # Constant time, so response timing does not reveal how much of a guess was right.
        if not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "invalid bearer token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    def _store_rating(publication_id: int, rating_in: feedback.RatingIn) -> tuple[Any, bool, dict[str, Any]]:
        for attempt in range(SQLITE_BUSY_RETRIES + 1):
            try:
                with session_scope(url) as session:
                    rating, created = feedback.submit_rating(publication_id, rating_in, session=session)
                    return rating, created, feedback.rating_json(rating)
            except OperationalError as error:
                # SQLite in WAL mode answers "database is locked" at once, without waiting, when a transaction
                # that read first tries to write after another writer committed. The transaction was rolled
                # back whole, so running it again is safe, and the Idempotency-Key still stores it once.
                if "database is locked" not in str(error) or attempt == SQLITE_BUSY_RETRIES:
                    raise
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    app = FastAPI(
        title="aigc-workflow",
        version=__version__,
        description="Published content with its lineage, and ratings on it. Writes need a bearer token.",
        docs_url=None,  # add_offline_docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    add_offline_docs(app)

    @app.get("/healthz", tags=["ops"])
    def healthz(response: Response) -> dict[str, str]:
        try:
            with session_scope(url) as session:
                session.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means not ready; details stay in the server
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "database unavailable"}
        return {"status": "ok"}

    @app.get("/publications", response_model=PublicationPage, tags=["publications"])
    def list_publications(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Published items, newest first, each with its rating summary."""
        with session_scope(url) as session:
            total = session.scalar(select(func.count(Publication.id))) or 0
            page = list(session.scalars(
                select(Publication)
                .order_by(Publication.published_at.desc(), Publication.id.desc())
                .limit(limit)
                .offset(offset)
                .options(*_load_options())
            ))
            summaries = feedback.rating_summaries([p.id for p in page], session=session)
            items = [_publication_json(p, summaries[p.id]) for p in page]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    def _get(session: Session, publication_id: int) -> Publication:
        publication = session.scalar(
            select(Publication)
            .where(Publication.id == publication_id)
            .options(
                *_load_options(),
                selectinload(Publication.draft).selectinload(Draft.scores),
                selectinload(Publication.draft).selectinload(Draft.verdict),
                selectinload(Publication.draft).selectinload(Draft.reviews),
                selectinload(Publication.ratings),
            )
        )
        if publication is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no publication with id {publication_id}")
        return publication

    @app.get(
        "/publications/{publication_id}", response_model=PublicationDetail, tags=["publications"],
        responses={404: {"description": "No such publication"}},
    )
    def get_publication(publication_id: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
        """One published item with its lineage: brief, model, prompt, seed, scores, verdict, reviews, ratings."""
        with session_scope(url) as session:
            publication = _get(session, publication_id)
            summary = feedback.rating_summaries([publication.id], session=session)[publication.id]
            return _detail_json(publication, summary)

    @app.post(
        "/publications/{publication_id}/ratings",
        response_model=RatingOut,
        status_code=status.HTTP_201_CREATED,
        tags=["ratings"],
        dependencies=[Depends(require_token)],
        responses={
            200: {"description": "Replay: a rating with this Idempotency-Key and body exists; it is returned unchanged",
                  "model": RatingOut},
            401: {"description": "Missing or invalid bearer token"},
            404: {"description": "No such publication"},
            409: {"description": "The Idempotency-Key belongs to a rating of another publication"},
        },
    )
    def post_rating(
        publication_id: Annotated[int, Path(ge=1)],
        rating_in: feedback.RatingIn,
        response: Response,
        idempotency_key: Annotated[
            str | None,
            Header(alias="Idempotency-Key", min_length=1, max_length=feedback.MAX_EXTERNAL_ID_CHARS,
                   description="Retries with the same key store the rating once (stored as external_id)."),
        ] = None,
    ) -> dict[str, Any]:
        """Rate a publication (1-5 and/or thumbs). 201 when stored, 200 when the key was seen before.

        A key seen before with a different body is refused with 422 (as the IETF Idempotency-Key draft says):
        a retry replays the first request, it never changes or silently drops a new rating.
        """
        if idempotency_key is not None:
            if not idempotency_key.strip():
                raise HTTPException(422, "Idempotency-Key is blank")
            if rating_in.external_id not in (None, idempotency_key):
                raise HTTPException(422, "Idempotency-Key and external_id differ; send one of them")
            try:
                rating_in = feedback.RatingIn.model_validate({**rating_in.model_dump(), "external_id": idempotency_key})
            except ValidationError as error:
                raise HTTPException(422, f"Idempotency-Key: {error.errors()[0]['msg']}") from error
        try:
            rating, created, body = _store_rating(publication_id, rating_in)
        except feedback.UnknownPublication as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
        except feedback.IdempotencyConflict as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        if not created:
            changed = feedback.replay_differences(body, rating_in)
            if changed:
                name = "Idempotency-Key" if idempotency_key is not None else "external_id"
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    f"{name} {rating_in.external_id!r} was already used for rating {body['id']} with a different "
                    f"request body ({', '.join(changed)} differ); a retry must repeat the first body exactly, "
                    "and a new rating needs a new key",
                )
            response.status_code = status.HTTP_200_OK
            response.headers["Idempotent-Replayed"] = "true"
        return body

    return app
