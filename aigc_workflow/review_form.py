"""The review form in the Prefect UI: its fields, the markdown beside them, and what a submission decides."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from aigc_workflow.review import ReviewInput, ReviewItem

PREVIEW_CHARS = 600


def form_fields(items: Sequence[ReviewItem]) -> dict[str, Any]:
    """Fields for a pydantic form: a decision per draft (pre-filled from the gate), an edit and a note."""
    fields: dict[str, Any] = {
        "reviewer": (
            str, Field(..., min_length=1, max_length=200, title="Reviewer",
                       description="Your name, recorded with each decision."),
        ),
    }
    for item in items:
        # The field's description always shows (the markdown above may collapse): the choice goes there too.
        ranked = f". Ranking: {item.rank_reason}" if item.rank_reason and item.rank is not None else ""
        fields[f"draft_{item.draft_id}"] = (
            Literal["approve", "reject"],
            Field(item.suggested, title=f"Decision on draft {item.draft_id} ({item.brief_ref}, {_choice(item)})",
                  description=f"The gate says **{item.verdict}**: {'; '.join(item.reasons)}{ranked}"),
        )
        if item.image_path and item.text is None:
            # An image cannot be edited in a form; what the reviewer writes is published as its caption.
            edit = Field("", title=f"Caption for image draft {item.draft_id}", description="Optional.")
        else:
            edit = Field("", title=f"Edited text of draft {item.draft_id}",
                         description="Leave empty to publish the draft as written.")
        fields[f"edit_{item.draft_id}"] = (str, edit)
        fields[f"note_{item.draft_id}"] = (str, Field("", title=f"Note on draft {item.draft_id}"))
    return fields


def inputs_from_form(items: Sequence[ReviewItem], values: Mapping[str, Any]) -> tuple[str, list[ReviewInput]]:
    """The reviewer and one ReviewInput per item, from a submitted form's values."""
    decisions = []
    for item in items:
        edited = (values.get(f"edit_{item.draft_id}") or "").strip()
        note = (values.get(f"note_{item.draft_id}") or "").strip()
        decisions.append(ReviewInput(
            item.draft_id, values.get(f"draft_{item.draft_id}", item.suggested), edited or None, note or None,
        ))
    return str(values["reviewer"]).strip(), decisions


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


def description_markdown(items: Sequence[ReviewItem], image_uri: Any = None) -> str:
    """What the reviewer reads above the form: a table of drafts and scores, then each draft in full."""
    scorers = sorted({name for item in items for name in item.scores})
    lines = [
        f"## {len(items)} draft(s) waiting for review",
        "",
        "Choose approve or reject for each draft, optionally edit its text, then submit. Only approved drafts are "
        "published; an edit replaces the text that is published. A brief's candidates are alternatives: its "
        "best-ranked approved draft (or its `publish` best) is **chosen** (pre-filled approve), the other approved "
        "ones are **alternates** (pre-filled reject). To publish an alternate instead, approve it and reject the "
        "chosen one; approve both to publish both.",
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
            text = item.text if len(item.text) <= PREVIEW_CHARS else item.text[:PREVIEW_CHARS] + "…"
            lines += ["> " + highlight(line, item.unsupported) for line in text.splitlines() if line.strip()]
            lines.append("")
        if item.unsupported:
            lines += [f"*Not supported by the brief (bold above):* {', '.join(map(repr, item.unsupported))}", ""]
        lines.append(f"*Gate:* **{item.verdict}**: {'; '.join(item.reasons)}")
        if item.rank_reason and item.rank is not None:
            lines += ["", f"*Ranking:* {item.rank_reason}"]
    return "\n".join(lines) + "\n"
