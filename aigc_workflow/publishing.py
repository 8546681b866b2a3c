"""Publishing: write an approved draft under AIGC_HOME/published/<channel>/ and record it exactly once."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aigc_workflow.briefs import CHANNEL_PATTERN
from aigc_workflow.db import repo
from aigc_workflow.db.models import Draft, Modality, Publication, Review


class UnsafeChannel(ValueError):
    """A channel name that could escape the published folder or is not a plain name."""


def channel_dir(published_root: Path, channel: str) -> Path:
    """The folder for a channel, refusing any name that is not a plain slug or that resolves outside the root."""
    if not re.fullmatch(CHANNEL_PATTERN, channel):
        raise UnsafeChannel(f"channel {channel!r} must match {CHANNEL_PATTERN}")
    root = published_root.resolve()
    folder = (root / channel).resolve()
    if folder.parent != root:
        raise UnsafeChannel(f"channel {channel!r} resolves outside {root}")
    return folder


def _write_atomically(path: Path, content: str) -> None:
    # Write beside the target then rename: a crash leaves the old file or the new one, never half of one.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())  # durable before the rename, like the text files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def lineage(draft: Draft, review: Review | None, text: str | None) -> dict[str, Any]:
    """Everything needed to trace a publication back to its brief, prompt, model, scores and decisions."""
    brief = draft.brief
    verdict = draft.verdict
    return {
        "draft_id": draft.id,
        "batch_id": draft.batch_id,
        "brief": {"id": brief.id, "ref": brief.ref, "topic": brief.topic, "content_hash": brief.content_hash},
        "prompt": draft.prompt,
        "model_version": draft.model_version,
        "model_version_id": draft.model_version_id,
        "seed": draft.seed,
        "params": draft.params,
        "scores": {
            s.scorer: {"value": s.value, "model": s.scorer_model, "version": s.scorer_version,
                       "error": s.error, "details": s.details}
            for s in draft.scores
        },
        "verdict": (
            {"decision": str(verdict.decision), "reasons": verdict.reasons, "thresholds": verdict.thresholds,
             "rank": verdict.rank, "chosen": verdict.chosen, "rank_reason": verdict.rank_reason}
            if verdict else None
        ),
        "review": (
            {"id": review.id, "reviewer": review.reviewer, "decision": str(review.decision),
             "edited": review.edited_text is not None, "note": review.note}
            if review else None
        ),
        "text": text,
        "image_path": draft.image_path,
    }


def publish(
    draft: Draft, channel: str, published_root: Path, *, session: Session, review: Review | None = None
) -> tuple[Publication, bool]:
    """Publish a draft to a channel once. Returns (publication, created); a second call returns the first one.

    Files are written before the row is committed: after a crash between the two, a re-run rewrites the
    same files and then records the row, so nothing is published twice and nothing is lost.
    """
    existing = repo.publication_for(draft.id, channel, session=session)
    if existing is not None:
        return existing, False
    text = review.edited_text if review is not None and review.edited_text else draft.text
    folder = channel_dir(published_root, channel)
    # Named by draft id, never by brief text: ids are safe file names, team refs may not be.
    stem = f"draft-{draft.id}"
    markdown = folder / f"{stem}.md"
    record = {"channel": channel, **lineage(draft, review, text)}
    if draft.modality == Modality.IMAGE and draft.image_path:
        # The PNG travels into the channel folder and the link is relative: the folder stands on its own.
        image = folder / f"{stem}{Path(draft.image_path).suffix or '.png'}"
        _copy_atomically(Path(draft.image_path), image)
        alt = re.sub(r"[\[\]\n\r]+", " ", draft.brief.topic).strip()
        body = f"![{alt}]({image.name})" + (f"\n\n{text.strip()}" if text else "")  # a reviewer's edit is a caption
        record["published_image"] = image.name
    else:
        body = text or ""
    _write_atomically(markdown, body.rstrip() + "\n")
    _write_atomically(folder / f"{stem}.json", json.dumps(record, indent=2, default=str))
    publication = Publication(
        draft_id=draft.id, channel=channel, location=str(markdown), text=text,
        review_id=review.id if review else None,
    )
    try:
        with session.begin_nested():
            session.add(publication)
    except IntegrityError:
        # Another worker published it between our check and insert: theirs stands.
        existing = repo.publication_for(draft.id, channel, session=session)
        if existing is None:
            raise
        return existing, False
    return publication, True
