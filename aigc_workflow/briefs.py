"""Brief schema and import from YAML or CSV, with errors that name the file, line and field."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_TOPIC_CHARS = 2000
MAX_FACT_CHARS = 500
MAX_FACTS = 50
MAX_FILE_BYTES = 20 * 1024 * 1024
CHANNEL_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
LIST_SEPARATOR = ";"
NOT_HASHED = {"publish"}  # fields that do not shape generation (see BriefSpec.content_hash)
# Fields added later, with their defaults: hashed only when they differ from it (see BriefSpec.content_hash).
HASHED_WHEN_GIVEN: dict[str, object] = {"facts": (), "language": "en"}


def clean_text(value: str) -> str:
    """NFC-normalise, drop zero-width characters, refuse control characters."""
    value = unicodedata.normalize("NFC", value).translate(_ZERO_WIDTH).strip()
    bad = [c for c in value if unicodedata.category(c) == "Cc" and c not in "\n\t"]
    if bad:
        raise ValueError(f"contains control character {bad[0]!r}")
    return value


def _text_list(value: Any, kind: str, max_chars: int | None = None, item_name: str | None = None) -> tuple[str, ...]:
    """A list field from YAML (a list) or CSV (one ";"-separated cell): each item cleaned, empty ones dropped."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.split(LIST_SEPARATOR)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"must be a list of {kind}")
    items = []
    for index, item in enumerate(value, start=1):
        which = f" ({item_name} {index})" if item_name else ""
        if not isinstance(item, str):
            raise ValueError(f"must be a list of strings, got {type(item).__name__}{which}")
        item = clean_text(item)
        if max_chars is not None and len(item) > max_chars:
            raise ValueError(f"{item_name or 'item'} {index} has {len(item)} characters; at most {max_chars} each")
        if item:
            items.append(item)
    return tuple(items)


class BriefSpec(BaseModel):
    """What a team asks for. `ref` is the team's own id, unique across briefs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str = Field(min_length=1, max_length=200, description="The team's own id for this brief.")
    modality: Literal["text", "image"] = "text"
    topic: str = Field(min_length=1, max_length=MAX_TOPIC_CHARS)
    audience: str | None = Field(None, max_length=500)
    tone: str | None = Field(None, max_length=200)
    format: str | None = Field(None, max_length=200)
    min_words: int | None = Field(None, ge=1, le=5000)
    max_words: int | None = Field(None, ge=1, le=5000)
    keywords: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    facts: tuple[str, ...] = Field(
        (), description="Statements the content may rely on (prices, dates, opening hours, names, figures)."
    )
    channel: str | None = Field(None, pattern=CHANNEL_PATTERN, description="Where it publishes (a-z, 0-9, _ and -).")
    candidates: int | None = Field(None, ge=1, le=64)
    publish: int | None = Field(
        None, ge=1, le=64, description="How many of its candidates publish (the best-ranked approved ones); default 1."
    )
    language: str = Field(
        "en",
        description="ISO 639-1 code of the language to write in (en, de, es, ...); a draft in another is rejected.",
    )

    @field_validator("ref", "topic", "audience", "tone", "format", mode="before")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        if isinstance(value, str):
            return clean_text(value)
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        code = value.strip().lower() if isinstance(value, str) else value
        if not isinstance(code, str) or not re.fullmatch(r"[a-z]{2}", code):
            raise ValueError(f"{value!r} is not a two-letter ISO 639-1 language code (en, de, es, fr, ...)")
        return code

    @field_validator("keywords", "avoid", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        return _text_list(value, "words or phrases")

    @field_validator("facts", mode="before")
    @classmethod
    def _facts(cls, value: Any) -> Any:
        facts = _text_list(value, "statements", max_chars=MAX_FACT_CHARS, item_name="fact")
        if len(facts) > MAX_FACTS:
            raise ValueError(f"has {len(facts)} facts; at most {MAX_FACTS}")
        return facts

    @model_validator(mode="after")
    def _bounds(self) -> BriefSpec:
        if self.min_words and self.max_words and self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) is greater than max_words ({self.max_words})")
        return self

    def content_hash(self) -> str:
        """Changes whenever anything that shapes generation changes.

        `publish` is left out: how many drafts go out does not change what is drafted, and leaving it out
        keeps the hash (part of every draft's cache key) of every brief stored before it existed. Fields added
        later (`facts`, `language`) are hashed only when they differ from their default, for the same reason:
        a brief without them hashes as before.
        """
        exclude = NOT_HASHED | {name for name, default in HASHED_WHEN_GIVEN.items() if getattr(self, name) == default}
        payload = json.dumps(self.model_dump(mode="json", exclude=exclude), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    where: str  # "line 7" or "item 3 (line 7)"
    field: str | None
    message: str

    def __str__(self) -> str:
        field = f"field '{self.field}': " if self.field else ""
        return f"{self.where}: {field}{self.message}"


class BriefFileError(ValueError):
    """A briefs file that cannot be imported; lists every problem found, nothing was imported."""

    def __init__(self, path: Path | str, problems: list[Problem]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  {self.path}: {p}" for p in problems)
        super().__init__(f"{self.path}: {len(problems)} problem(s), nothing imported:\n{lines}")


def _problems_from(error: ValidationError, where: str, field_lines: dict[str, int]) -> list[Problem]:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else None
        message = item["msg"].removeprefix("Value error, ")
        line = field_lines.get(field or "")
        problems.append(Problem(f"{where}, line {line}" if line else where, field, message))
    return problems


Row = tuple[str, dict[str, Any], dict[str, int]]  # where, fields, line of each field (YAML)


def _validate(rows: list[Row], path: Path | str) -> list[BriefSpec]:
    briefs: list[BriefSpec] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for where, row, field_lines in rows:
        try:
            brief = BriefSpec.model_validate(row)
        except ValidationError as error:
            problems.extend(_problems_from(error, where, field_lines))
            continue
        if brief.ref in seen:
            problems.append(Problem(where, "ref", f"duplicate ref {brief.ref!r} (first at {seen[brief.ref]})"))
            continue
        seen[brief.ref] = where
        briefs.append(brief)
    if problems:
        raise BriefFileError(path, problems)
    if not briefs:
        raise BriefFileError(path, [Problem("file", None, "contains no briefs")])
    return briefs


def parse_yaml(text: str, path: Path | str = "<yaml>") -> list[BriefSpec]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        problem = getattr(error, "problem", None) or str(error)
        raise BriefFileError(path, [Problem(where, None, f"not valid YAML: {problem}")]) from error
    if data is None:
        raise BriefFileError(path, [Problem("file", None, "is empty")])
    if not isinstance(data, list) or not isinstance(root, yaml.SequenceNode):
        raise BriefFileError(path, [Problem("line 1", None, "must be a YAML list of briefs (mappings)")])
    rows: list[Row] = []
    problems = []
    for index, (item, node) in enumerate(zip(data, root.value, strict=True), start=1):
        where = f"item {index}"
        if not isinstance(item, dict) or not isinstance(node, yaml.MappingNode):
            problems.append(
                Problem(f"{where}, line {node.start_mark.line + 1}", None,
                        f"must be a mapping of fields, got {type(item).__name__}")
            )
            continue
        field_lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
        rows.append((where, item, field_lines))
    if problems:
        raise BriefFileError(path, problems)
    return _validate(rows, path)


def parse_csv(text: str, path: Path | str = "<csv>") -> list[BriefSpec]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    try:
        fields = reader.fieldnames or []
        unknown = [name for name in fields if name not in BriefSpec.model_fields]
        if unknown:
            raise BriefFileError(path, [Problem("line 1", name, "unknown column") for name in unknown])
        for record in reader:
            if None in record:
                raise BriefFileError(path, [Problem(f"line {reader.line_num}", None, "has more cells than the header")])
            # Empty cells mean "not given", so defaults apply.
            row = {key: value for key, value in record.items() if value not in (None, "")}
            rows.append((f"line {reader.line_num}", row, {}))
    except csv.Error as error:
        # DictReader.line_num only moves after a good row; the inner reader knows where it stopped.
        line = reader.reader.line_num
        raise BriefFileError(path, [Problem(f"line {line}", None, f"not valid CSV: {error}")]) from error
    return _validate(rows, path)


def load_briefs(path: Path | str) -> list[BriefSpec]:
    """Read and validate a whole briefs file (.yaml, .yml or .csv); raises BriefFileError."""
    path = Path(path)
    if not path.is_file():
        raise BriefFileError(path, [Problem("file", None, "does not exist or is not a file")])
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BriefFileError(path, [Problem("file", None, f"is larger than {MAX_FILE_BYTES // 2**20} MiB")])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise BriefFileError(path, [Problem("file", None, f"is not UTF-8 text ({error.reason})")]) from error
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return parse_yaml(text, path)
    if suffix == ".csv":
        return parse_csv(text, path)
    raise BriefFileError(path, [Problem("file", None, f"unknown extension {suffix!r}; use .yaml, .yml or .csv")])
