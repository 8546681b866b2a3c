"""The review form in the Prefect UI: its fields, the markdown beside them, and what a submission decides."""

from __future__ import annotations

import logging

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from aigc_workflow.db.models import Decision
from aigc_workflow.review import ReviewInput, ReviewItem

# What a reviewer picks for a draft. The default records nothing: the gate decides, as if no person had looked.
log = logging.getLogger(__name__)

LEAVE = "leave to the gate"
FormChoice = Literal["leave to the gate", "approve", "reject"]


def form_fields(items: Sequence[ReviewItem], artifact_url: str | None = None) -> dict[str, Any]:
    """Fields for a pydantic form: the reviewer's name, then one section per draft with all it takes to decide.

    Seen in Chromium (Prefect 3.9): the classic UI collapses the form's own description to 0 px once the form is
    taller than the modal and renders field descriptions as markdown; the newer UI shows that description but
    field descriptions as plain text. So each section's description says everything, in markdown that reads as
    plain text too: no tables, no images (a data URI would be pages of characters in the newer UI).
    """
    fields: dict[str, Any] = {
        "reviewer": (
            # Required, and not blank: each decision is recorded under this name.
            str, Field(..., pattern=r"\S", max_length=200, title="Reviewer", description=instructions(artifact_url)),
        ),
    }
    for item in items:
        section = _section(item)
        fields[f"draft_{item.draft_id}"] = (
            section, Field(default_factory=section, title=_title(item), description=section_markdown(item, artifact_url)),
        )
    return fields


def instructions(artifact_url: str | None = None) -> str:
    """How the form works, under the reviewer's name: the one description both Prefect UIs always show first."""
    text = (
        "Your name, recorded with each draft you approve or reject. Each draft below is left to the gate unless "
        "you decide it: approve publishes it, reject keeps it out, and a changed text is published instead of the "
        "draft's (changing it approves the draft unless you reject it). A brief's drafts are alternatives: where "
        "you approve any, exactly those you approve are published; rejecting the chosen draft publishes none of "
        "that brief's drafts unless you approve another."
    )
    return text + (f" Every draft side by side, with all scores and images: {artifact_url}" if artifact_url else "")


def _title(item: ReviewItem) -> str:
    return f"Draft {item.draft_id} · {item.brief_ref} · {_choice(item)}"


def _section(item: ReviewItem) -> type[BaseModel]:
    """One draft's controls: a decision (left to the gate by default), its text to edit, a note."""
    if item.image_path and item.text is None:
        # An image cannot be edited in a form; what the reviewer writes is published as its caption.
        edit = Field("", title="Caption", description="Published under the image; writing one approves the image "
                                                      "unless you reject it.")
    else:
        # The box starts with the draft: an edit is a change, not a retyping of a text one cannot see.
        edit = Field(item.text or "", title="Text", description=(
            "Change it to publish your version: with approve (a changed text also approves a draft the gate "
            "approved, unless you reject it)."))
    return create_model(
        f"Draft{item.draft_id}",
        decision=(FormChoice, Field(LEAVE, title="Decision", description=if_left(item))),
        edit=(str, edit),
        note=(str, Field("", title="Note", description="Kept with your approve or reject.")),
    )


def if_left(item: ReviewItem) -> str:
    """What becomes of the draft if the reviewer leaves it to the gate: said beside the choice."""
    if item.verdict == Decision.HELD:
        return "Left to the gate it stays held (a scorer could not clear it) and waits for a person: aigc review."
    if item.verdict != Decision.APPROVED:
        return "Left to the gate it is not published."
    if item.rank is not None and not item.chosen:
        return "Left to the gate it is not published: an alternate. Approve it to publish it instead of the chosen one."
    return "Left to the gate it is published as the brief's chosen draft, unless you approve another of its drafts."


def section_markdown(item: ReviewItem, artifact_url: str | None = None) -> str:
    """A draft's section: its brief, the gate's verdict and reasons, its scores, unsupported claims, its full text."""
    ranked = f" Ranking: {item.rank_reason}." if item.rank_reason and item.rank is not None else ""
    parts = [
        # Each part ends a sentence: the newer UI runs the paragraphs together.
        f"Brief: {item.topic}" + ("" if item.topic.endswith((".", "!", "?")) else "."),
        f"Gate: {item.verdict}: {'; '.join(item.reasons)}.{ranked}",
        "Scores: " + ", ".join(f"{name} {_fmt(value)}" for name, value in sorted(item.scores.items())) + ".",
    ]
    if item.unsupported:
        parts.append(f"Not supported by the brief (bold in the text): {', '.join(map(repr, item.unsupported))}.")
    if item.text:
        # A paragraph per line: the classic UI renders no line breaks inside a paragraph.
        parts += ["Text:", *(highlight(line, item.unsupported) for line in item.text.splitlines() if line.strip())]
    elif item.image_path:
        where = f" and in {artifact_url}" if artifact_url else " and in the run's review artifact"
        parts.append(f"Image: its thumbnail is at the top of this form in Prefect's newer UI{where}.")
    return "\n\n".join(parts)


def inputs_from_form(items: Sequence[ReviewItem], values: Mapping[str, Any]) -> tuple[str, list[ReviewInput]]:
    """The reviewer, and a ReviewInput for each draft they decided: one left to the gate (and unedited) has none."""
    decisions = []
    for item in items:
        section = values.get(f"draft_{item.draft_id}") or {}
        edited = _edit(item, section.get("edit"))
        decision = section.get("decision", LEAVE)
        if decision == LEAVE and not _edit_approves(item, edited):
            if edited is not None:
                log.warning("draft %s: an edit without approve on a draft the gate did not approve is not "
                            "published; it stays the gate's", item.draft_id)
            continue
        note = (section.get("note") or "").strip()
        decisions.append(ReviewInput(item.draft_id, "approve" if decision == LEAVE else decision, edited, note or None))
    return str(values["reviewer"]).strip(), decisions


def _edit_approves(item: ReviewItem, edited: str | None) -> bool:
    """A person who rewrote a draft the gate approved, or captioned an image, and left the decision wants it out.

    The box starts with the draft's text, so one stray keystroke is an edit: on a draft the gate rejected or
    held, that alone must not publish it; it takes an explicit approve.
    """
    if edited is None:
        return False
    is_image = item.image_path is not None and item.text is None
    return is_image or item.verdict == "approved"


def _edit(item: ReviewItem, value: str | None) -> str | None:
    """The reviewer's text where it differs from the draft's beyond whitespace; None for no edit (or an empty box)."""
    edited = (value or "").strip()
    if not edited or edited.split() == (item.text or "").split():
        return None
    return edited


def _fmt(value: float | None) -> str:
    return "error" if value is None else f"{value:.2f}"


def _choice(item: ReviewItem) -> str:
    if item.chosen:
        return "chosen"
    return f"alternate, rank {item.rank}" if item.rank is not None else f"{item.verdict}, not ranked"


def highlight(line: str, spans: Sequence[str]) -> str:
    """The line with each unsupported span in bold, so a reviewer sees where the claims are."""
    if not spans:
        return line
    # One pass over one alternation, longest first: "12 April 2025" is bolded whole, never "12 April" inside it.
    pattern = "|".join(re.escape(span) for span in sorted(spans, key=len, reverse=True))
    return re.sub(pattern, lambda m: f"**{m.group(0)}**", line)


def overview_markdown(items: Sequence[ReviewItem], image_uri: Any = None, artifact_url: str | None = None) -> str:
    """The form's own description: which drafts wait and how they stand, and the image thumbnails.

    Only the newer Prefect UI shows it (the classic one collapses it), so nothing here is needed to decide.
    """
    lines = [
        f"## {len(items)} draft(s) waiting for review",
        "",
        "Each draft has its own section below: its brief, scores, the gate's reasons and its text in full.",
        "",
        "| draft | brief | gate | choice |",
        "|---|---|---|---|",
        *(f"| {item.draft_id} | {item.brief_ref} | {item.verdict} | {item.choice} |" for item in items),
    ]
    for item in items:
        if item.image_path and image_uri is not None:
            lines += ["", f"Draft {item.draft_id} ({item.brief_ref}):", "", f"![draft {item.draft_id}]({image_uri(item.image_path)})"]
    if artifact_url:
        lines += ["", f"Every draft side by side, with all scores: [review artifact]({artifact_url})"]
    return "\n".join(lines) + "\n"


def drafts_markdown(items: Sequence[ReviewItem], image_uri: Any = None) -> str:
    """The review artifact: a table of every draft and score, then each draft in full, for a full-width page."""
    scorers = sorted({name for item in items for name in item.scores})
    lines = [
        f"## {len(items)} draft(s) waiting for review",
        "",
        "| draft | brief | verdict | choice | " + " | ".join(scorers) + " |",
        "|---|---|---|---|" + "---|" * len(scorers),
    ]
    for item in items:
        # A scorer of the other modality did not apply to this draft: a dash, not "error".
        scores = " | ".join(_fmt(item.scores[name]) if name in item.scores else "–" for name in scorers)
        lines.append(f"| {item.draft_id} | {item.brief_ref} | **{item.verdict}** | {item.choice} | {scores} |")
    for item in items:
        lines += ["", f"### Draft {item.draft_id}: {item.brief_ref}", "", f"*Brief:* {item.topic}", ""]
        if item.image_path and image_uri is not None:
            lines += [f"![draft {item.draft_id}]({image_uri(item.image_path)})", ""]
        if item.text:
            lines += ["> " + highlight(line, item.unsupported) for line in item.text.splitlines() if line.strip()]
            lines.append("")
        if item.unsupported:
            lines += [f"*Not supported by the brief (bold above):* {', '.join(map(repr, item.unsupported))}", ""]
        lines.append(f"*Gate:* **{item.verdict}**: {'; '.join(item.reasons)}")
        if item.rank_reason and item.rank is not None:
            lines += ["", f"*Ranking:* {item.rank_reason}"]
    return "\n".join(lines) + "\n"


def mode_after_form(review_mode: str) -> str:
    """The review mode that decides what a submitted form left to the gate: `held-only`'s.

    In `human` mode every draft waits for a person. Once one has seen the form and left drafts to the gate, the
    gate decides those as if no person had looked: its chosen approved drafts publish (one per brief, or its
    `publish` best), rejected ones do not, and held ones still wait for a person.
    """
    return "held-only" if review_mode == "human" else review_mode
