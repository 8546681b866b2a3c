"""Drafts labelled by an editor (publishable, light edit, not publishable, with their defects), split by brief."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.filters.datasets import split_of

LABELS = ("publishable", "light_edit", "not_publishable")
# What an editor names as the reason a draft cannot go out (or needs an edit). One draft may have several.
DEFECTS = (
    "invented_specifics",  # a name, date, figure, contact, feature or offer the brief does not give
    "wrong_facts",  # contradicts or misstates the brief
    "missing_facts",  # leaves out what the brief says it must say
    "off_brief",  # argues against the topic, wrong audience, wrong point
    "wrong_format",  # a letter for a paragraph, a list for a social post, too long
    "too_short",
    "truncated",  # stops mid-sentence or mid-list
    "placeholder",  # [Your Name], Lorem ipsum, TBD
    "prompt_echo",  # Title:, <brief>, copies the brief's wording as a salutation
    "assistant_talk",  # Sure! Here is..., As an AI
    "stock_phrase",  # I hope this email finds you well
    "repetition",  # loops, repeated sentences
    "incoherent",  # garbled grammar or logic
    "unsafe_advice",  # wrong or risky advice
    "harmful",  # hateful, harassing, sexual or violent
)
VALIDATION, TEST = "validation", "test"
DATA_FILE = "labelled_drafts.jsonl"


class LabelledDataError(ValueError):
    """A labelled-drafts file that cannot be read: the message names the file, line and field."""


@dataclass(frozen=True)
class LabelledDraft:
    id: str
    brief: BriefSpec
    text: str
    label: str
    defects: tuple[str, ...]
    source: str

    @property
    def bad(self) -> int:
        """1 when the draft must not be published (the positive class of every filter figure)."""
        return int(self.label == "not_publishable")

    @property
    def split(self) -> str:
        """By brief, never by draft: a brief's drafts share its wording, so they stay on one side."""
        return TEST if split_of(f"brief:{self.brief.ref}", test_fraction=0.5) == "test" else VALIDATION


def default_path() -> Path:
    return Path(str(files("aigc_workflow.filters") / "data" / DATA_FILE))


def load_labelled_drafts(path: str | Path | None = None) -> list[LabelledDraft]:
    """Every labelled draft of a JSON-lines file (one object a line: id, brief, text, label, defects, source)."""
    path = Path(path) if path is not None else default_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise LabelledDataError(f"{path}: cannot read labelled drafts: {error.strerror or error}") from error
    drafts, seen = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        draft = _parse(line, f"{path}, line {number}")
        if draft.id in seen:
            raise LabelledDataError(f"{path}, line {number}: field 'id': {draft.id!r} appears twice")
        seen.add(draft.id)
        drafts.append(draft)
    return drafts


def _parse(line: str, where: str) -> LabelledDraft:
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as error:
        raise LabelledDataError(f"{where}: not JSON ({error.msg})") from error
    if not isinstance(record, dict):
        raise LabelledDataError(f"{where}: expected an object")
    for name in ("id", "text", "label", "source"):
        if not isinstance(record.get(name), str) or not record[name].strip():
            raise LabelledDataError(f"{where}: field {name!r}: a non-empty string is required")
    if record["label"] not in LABELS:
        raise LabelledDataError(f"{where}: field 'label': {record['label']!r} is not one of {', '.join(LABELS)}")
    defects = record.get("defects", [])
    unknown = [d for d in defects if d not in DEFECTS] if isinstance(defects, list) else [defects]
    if unknown:
        raise LabelledDataError(f"{where}: field 'defects': unknown {unknown!r}; known: {', '.join(DEFECTS)}")
    if record["label"] == "not_publishable" and not defects:
        raise LabelledDataError(f"{where}: field 'defects': a not-publishable draft names at least one defect")
    try:
        brief = BriefSpec.model_validate(record.get("brief"))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise LabelledDataError(f"{where}: field 'brief.{field}': {first['msg']}") from error
    return LabelledDraft(record["id"], brief, record["text"], record["label"], tuple(defects), record["source"])
