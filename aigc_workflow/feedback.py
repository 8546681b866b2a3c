"""Ratings on publications: the schema, recording one (idempotently), and importing a CSV/JSON file all or nothing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aigc_workflow.briefs import MAX_FILE_BYTES, BriefFileError, Problem, clean_text
from aigc_workflow.db.models import Publication, Rating, Thumbs

MAX_RATER_CHARS = 200
MAX_COMMENT_CHARS = 4000
MAX_EXTERNAL_ID_CHARS = 200
_UPSERT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
CSV_COLUMNS = ("publication_id", "rating", "thumbs", "rater", "comment", "external_id")


class RatingIn(BaseModel):
    """One person's feedback on a publication: a 1-5 rating, a thumb, or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rating: int | None = Field(None, ge=1, le=5, description="Stars, 1 (worst) to 5 (best).")
    thumbs: Literal["up", "down"] | None = Field(None, description="A thumb up or down.")
    rater: str | None = Field(None, max_length=MAX_RATER_CHARS, description="Who rated (free text).")
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)
    external_id: str | None = Field(
        None, min_length=1, max_length=MAX_EXTERNAL_ID_CHARS,
        description="A client-chosen unique key: resubmitting the same key stores the rating once.",
    )

    @field_validator("rating", mode="before")
    @classmethod
    def _no_bools(cls, value: Any) -> Any:
        # Pydantic would read JSON `true` as 1 star; a boolean is never a rating.
        if isinstance(value, bool):
            raise ValueError("must be an integer from 1 to 5, not a boolean")
        return value

    @field_validator("rater", "comment", "external_id", mode="before")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = clean_text(value)
            return value or None
        return value

    @model_validator(mode="after")
    def _something_given(self) -> RatingIn:
        if self.rating is None and self.thumbs is None:
            raise ValueError("give a rating (1-5), thumbs (up or down), or both")
        return self


class _RatingRecord(RatingIn):
    """A row of a ratings file: a rating plus the publication it is about."""

    publication_id: int = Field(ge=1)


class RatingsFileError(BriefFileError):
    """A ratings file that cannot be imported; lists every problem found, nothing was imported."""


class UnknownPublication(LookupError):
    def __init__(self, publication_id: int) -> None:
        self.publication_id = publication_id
        super().__init__(f"no publication with id {publication_id}")


class IdempotencyConflict(ValueError):
    """An external_id already names a rating of another publication."""

    def __init__(self, external_id: str, publication_id: int) -> None:
        self.external_id = external_id
        self.publication_id = publication_id
        super().__init__(f"external_id {external_id!r} is already used by a rating of publication {publication_id}")


# --- recording ------------------------------------------------------------------------------------------------


def _existing(external_id: str | None, publication_id: int, *, session: Session) -> Rating | None:
    if external_id is None:
        return None
    found = session.scalar(select(Rating).where(Rating.external_id == external_id))
    if found is not None and found.publication_id != publication_id:
        raise IdempotencyConflict(external_id, found.publication_id)
    return found


def submit_rating(publication_id: int, rating_in: RatingIn, *, session: Session) -> tuple[Rating, bool]:
    """Store a rating unless its external_id was seen before; returns (the rating, whether it was created)."""
    if session.get(Publication, publication_id) is None:
        raise UnknownPublication(publication_id)
    found = _existing(rating_in.external_id, publication_id, session=session)
    if found is not None:
        return found, False
    values = {
        "publication_id": publication_id,
        "rating": rating_in.rating,
        "thumbs": Thumbs(rating_in.thumbs) if rating_in.thumbs else None,
        "rater": rating_in.rater,
        "comment": rating_in.comment,
        "external_id": rating_in.external_id,
    }
    dialect = session.get_bind().dialect.name
    if rating_in.external_id is None or dialect not in _UPSERT_INSERTS:
        rating = Rating(**values)
        session.add(rating)
        session.flush()
        return rating, True
    # ON CONFLICT DO NOTHING rather than a savepoint: a concurrent retry that wins the race on the unique key
    # leaves us nothing to undo (and pysqlite would commit early on RELEASE of an outermost savepoint).
    insert = _UPSERT_INSERTS[dialect]
    statement = insert(Rating).values(**values).on_conflict_do_nothing(index_elements=["external_id"])
    new_id = session.scalar(statement.returning(Rating.id))
    if new_id is None:
        found = _existing(rating_in.external_id, publication_id, session=session)
        if found is None:  # pragma: no cover - the conflicting row vanished between the two statements
            raise RuntimeError(f"rating with external_id {rating_in.external_id!r} neither inserted nor found")
        return found, False
    rating = session.get(Rating, new_id)
    assert rating is not None
    return rating, True


REPLAYED_FIELDS = ("rating", "thumbs", "rater", "comment")


def replay_differences(stored: dict[str, Any], rating_in: RatingIn) -> list[str]:
    """The fields in which a resubmission differs from the rating stored under its key (`rating_json` form).

    Empty for a true retry. Values are compared after cleaning, so a retry that differs only in surrounding
    whitespace is still the same rating.
    """
    return [name for name in REPLAYED_FIELDS if stored[name] != getattr(rating_in, name)]


def add_rating(publication_id: int, rating_in: RatingIn, *, session: Session) -> Rating:
    """Store a rating (once per external_id); raises UnknownPublication. Does not commit."""
    return submit_rating(publication_id, rating_in, session=session)[0]


def list_ratings(*, session: Session, publication_id: int | None = None) -> list[Rating]:
    query = select(Rating).order_by(Rating.id)
    if publication_id is not None:
        query = query.where(Rating.publication_id == publication_id)
    return list(session.scalars(query))


def rating_summaries(publication_ids: Sequence[int], *, session: Session) -> dict[int, dict[str, Any]]:
    """count, mean of the 1-5 ratings (None without any), thumbs up and down, per publication."""
    summaries = {pid: empty_summary() for pid in publication_ids}
    if not publication_ids:
        return summaries
    query = (
        select(
            Rating.publication_id,
            func.count(Rating.id),
            func.avg(Rating.rating),
            func.sum(case((Rating.thumbs == Thumbs.UP, 1), else_=0)),
            func.sum(case((Rating.thumbs == Thumbs.DOWN, 1), else_=0)),
        )
        .where(Rating.publication_id.in_(list(publication_ids)))
        .group_by(Rating.publication_id)
    )
    for pid, count, mean, up, down in session.execute(query):
        summaries[pid] = {
            "count": int(count), "mean": None if mean is None else float(mean),
            "thumbs_up": int(up or 0), "thumbs_down": int(down or 0),
        }
    return summaries


def empty_summary() -> dict[str, Any]:
    return {"count": 0, "mean": None, "thumbs_up": 0, "thumbs_down": 0}


def rating_json(rating: Rating) -> dict[str, Any]:
    return {
        "id": rating.id,
        "publication_id": rating.publication_id,
        "rating": rating.rating,
        "thumbs": None if rating.thumbs is None else str(rating.thumbs),
        "rater": rating.rater,
        "comment": rating.comment,
        "external_id": rating.external_id,
        "created_at": rating.created_at.isoformat(),
    }


# --- files ----------------------------------------------------------------------------------------------------

Parsed = tuple[str, int, RatingIn]  # where in the file, publication id, rating


def _validate(rows: list[tuple[str, dict[str, Any]]], path: Path | str) -> list[Parsed]:
    parsed: list[Parsed] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        try:
            record = _RatingRecord.model_validate(row)
        except ValidationError as error:
            for item in error.errors():
                field = ".".join(str(part) for part in item["loc"]) or None
                problems.append(Problem(where, field, item["msg"].removeprefix("Value error, ")))
            continue
        key = record.external_id
        if key is not None and key in seen:
            problems.append(Problem(where, "external_id", f"duplicate external_id {key!r} (first at {seen[key]})"))
            continue
        if key is not None:
            seen[key] = where
        rating_in = RatingIn.model_validate(record.model_dump(exclude={"publication_id"}))
        parsed.append((where, record.publication_id, rating_in))
    if problems:
        raise RatingsFileError(path, problems)
    if not parsed:
        raise RatingsFileError(path, [Problem("file", None, "contains no ratings")])
    return parsed


def parse_csv(text: str, path: Path | str = "<csv>") -> list[Parsed]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        fields = reader.fieldnames or []
        problems = [Problem("line 1", name, "unknown column") for name in fields if name not in CSV_COLUMNS]
        if fields and "publication_id" not in fields:
            problems.append(Problem("line 1", "publication_id", "required column is missing"))
        if problems:
            raise RatingsFileError(path, problems)
        for record in reader:
            if None in record:
                problem = Problem(f"line {reader.line_num}", None, "has more cells than the header")
                raise RatingsFileError(path, [problem])
            # Empty cells mean "not given".
            rows.append((f"line {reader.line_num}", {k: v for k, v in record.items() if v not in (None, "")}))
    except csv.Error as error:
        # DictReader.line_num only moves after a good record; its inner reader has counted the broken line too.
        where = f"line {reader.reader.line_num}"
        raise RatingsFileError(path, [Problem(where, None, f"not valid CSV: {error}")]) from error
    return _validate(rows, path)


def parse_json(text: str, path: Path | str = "<json>") -> list[Parsed]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise RatingsFileError(path, [Problem(where, None, f"not valid JSON: {error.msg}")]) from error
    if not isinstance(data, list):
        raise RatingsFileError(path, [Problem("file", None, "must be a JSON list of rating objects")])
    rows: list[tuple[str, dict[str, Any]]] = []
    problems = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(f"item {index}", None, f"must be an object, got {type(item).__name__}"))
            continue
        rows.append((f"item {index}", item))
    if problems:
        raise RatingsFileError(path, problems)
    return _validate(rows, path)


def _read(path: Path | str) -> list[Parsed]:
    path = Path(path)
    if not path.is_file():
        raise RatingsFileError(path, [Problem("file", None, "does not exist or is not a file")])
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RatingsFileError(path, [Problem("file", None, f"is larger than {MAX_FILE_BYTES // 2**20} MiB")])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise RatingsFileError(path, [Problem("file", None, f"is not UTF-8 text ({error.reason})")]) from error
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return parse_csv(text, path)
    if suffix == ".json":
        return parse_json(text, path)
    raise RatingsFileError(path, [Problem("file", None, f"unknown extension {suffix!r}; use .csv or .json")])


def load_ratings_file(path: Path | str) -> list[tuple[int, RatingIn]]:
    """Read and validate a whole ratings file (.csv or .json); raises RatingsFileError naming every problem."""
    return [(publication_id, rating) for _, publication_id, rating in _read(path)]


@dataclass(frozen=True)
class RatingsImport:
    created: int
    existing: int  # rows whose external_id was already stored: re-importing a file duplicates nothing


def import_ratings_file(path: Path | str, *, session: Session) -> RatingsImport:
    """Validate the file and every publication id and external_id against the database, then write all rows.

    Raises RatingsFileError before writing anything. Does not commit.
    """
    parsed = _read(path)
    ids = {publication_id for _, publication_id, _ in parsed}
    known = set(session.scalars(select(Publication.id).where(Publication.id.in_(ids))))
    keys = [r.external_id for _, _, r in parsed if r.external_id is not None]
    stored = {
        key: pid
        for key, pid in session.execute(
            select(Rating.external_id, Rating.publication_id).where(Rating.external_id.in_(keys))
        )
    } if keys else {}
    problems = []
    for where, publication_id, rating in parsed:
        if publication_id not in known:
            problems.append(Problem(where, "publication_id", f"no publication with id {publication_id}"))
        elif rating.external_id in stored and stored[rating.external_id] != publication_id:
            problems.append(Problem(where, "external_id", f"{rating.external_id!r} is already used by a rating "
                                                          f"of publication {stored[rating.external_id]}"))
    if problems:
        raise RatingsFileError(path, problems)
    created = existing = 0
    for _, publication_id, rating in parsed:
        _, new = submit_rating(publication_id, rating, session=session)
        created += new
        existing += not new
    return RatingsImport(created, existing)
