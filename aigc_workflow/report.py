"""Batch reports: the per-draft table, counts, pass rate, chosen drafts, rejections by reason, score distributions."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from aigc_workflow.db import repo
from aigc_workflow.db.models import Draft
from aigc_workflow.db.session import session_scope
from aigc_workflow.ranking import label
from aigc_workflow.settings import Settings

PREVIEW_CHARS = 120
# How the gate says a bound was crossed (aigc_workflow/gate.py).
_CROSSED = re.compile(r" is (above|below) the (maximum|minimum) ")


def draft_json(draft: Draft) -> dict[str, Any]:
    """A draft as `aigc drafts` and the API show it: text, scores, verdict, reasons, publications, lineage."""
    verdict = draft.verdict
    return {
        "id": draft.id,
        "batch_id": draft.batch_id,
        "brief_ref": draft.brief.ref,
        "candidate_index": draft.candidate_index,
        "modality": str(draft.modality),
        "text": draft.text,
        "image_path": draft.image_path,
        "prompt": draft.prompt,
        "model_version": draft.model_version,
        "seed": draft.seed,
        "params": draft.params,
        "scores": {s.scorer: s.value for s in draft.scores},
        "score_details": {
            s.scorer: {"model": s.scorer_model, "version": s.scorer_version, "error": s.error, **(s.details or {})}
            for s in draft.scores
        },
        "verdict": str(verdict.decision) if verdict else None,
        "reasons": list(verdict.reasons) if verdict else [],
        # Among the brief's approved candidates: chosen ones publish unless a person picks another.
        "rank": verdict.rank if verdict else None,
        "rank_score": verdict.rank_score if verdict else None,
        "chosen": bool(verdict and verdict.chosen),
        "choice": label(verdict.rank, verdict.chosen) if verdict else "-",
        "rank_reason": verdict.rank_reason if verdict else None,
        "publications": [{"id": p.id, "channel": p.channel, "location": p.location} for p in draft.publications],
        "reviews": [
            {"id": r.id, "reviewer": r.reviewer, "decision": str(r.decision), "gate_decision": str(r.gate_decision),
             "edited_text": r.edited_text, "note": r.note, "created_at": r.created_at.isoformat()}
            for r in draft.reviews
        ],
        "created_at": draft.created_at.isoformat(),
    }


def _reason_key(reason: str) -> str:
    # "toxicity 0.910 is above the maximum 0.5" and "format: 46 words, ... (score 0.800 is below the minimum 1)"
    # -> "toxicity above maximum", "format below minimum"; "bias: timed out" -> "bias: scorer failed"
    head = reason.split(" ", 1)[0].rstrip(":")
    # The last one: the words before it quote the draft, which may say "is above" itself.
    crossed = _CROSSED.findall(reason)
    if crossed:
        return f"{head} {' '.join(crossed[-1])}"
    if "not scored" in reason:
        return f"{head}: not scored"
    return f"{head}: model unavailable" if "model unavailable" in reason else f"{head}: scorer failed"


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    decisions = Counter(row["verdict"] or "ungated" for row in rows)
    reasons = Counter(
        _reason_key(reason) for row in rows if row["verdict"] in ("rejected", "held") for reason in row["reasons"]
    )
    values: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for name, value in row["scores"].items():
            if value is not None:
                values[name].append(value)
    distributions = {
        name: {
            "n": len(v), "min": min(v), "median": statistics.median(v), "mean": statistics.fmean(v), "max": max(v),
        }
        for name, v in sorted(values.items())
    }
    total = len(rows)
    return {
        "drafts": total,
        "briefs": len({row["brief_ref"] for row in rows}),
        "decisions": dict(decisions),
        "pass_rate": (decisions.get("approved", 0) / total) if total else 0.0,
        "published": sum(len(row["publications"]) for row in rows),
        "chosen": sum(row["chosen"] for row in rows),
        "alternates": sum(row["rank"] is not None and not row["chosen"] for row in rows),
        # Which draft each brief publishes and why (a person may still have picked an alternate).
        "choices": [
            {"brief": row["brief_ref"], "draft": row["id"], "reason": row["rank_reason"]}
            for row in rows if row["chosen"]
        ],
        "reasons": dict(reasons.most_common()),
        "scores": distributions,
    }


def table_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows for a table artifact: one per draft, one column per scorer."""
    scorers = sorted({name for row in rows for name in row["scores"]})
    flat = []
    for row in rows:
        text = (row["text"] or row["image_path"] or "").replace("\n", " ")
        flat.append({
            "draft": row["id"],
            "brief": row["brief_ref"],
            "candidate": row["candidate_index"],
            # A scorer of the other modality did not apply: blank, not "error".
            **{name: _fmt(row["scores"][name]) if name in row["scores"] else "" for name in scorers},
            "verdict": row["verdict"],
            "choice": row["choice"],
            "reasons": "; ".join(row["reasons"]),
            "published": ", ".join(p["channel"] for p in row["publications"]),
            "preview": text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else ""),
        })
    return flat


def _fmt(value: float | None) -> str:
    return "error" if value is None else f"{value:.3f}"


def markdown(batch_id: int, summary: dict[str, Any]) -> str:
    lines = [
        f"# Content batch {batch_id}",
        "",
        f"**{summary['drafts']}** drafts for **{summary['briefs']}** briefs; "
        f"pass rate **{summary['pass_rate']:.0%}**; **{summary['published']}** published.",
        "",
        f"Each brief publishes its best-ranked approved draft (or its `publish` best): **{summary['chosen']}** "
        f"chosen, **{summary['alternates']}** approved alternates kept for a reviewer to pick instead.",
        "",
        "| decision | drafts |",
        "|---|---|",
        *(f"| {name} | {count} |" for name, count in sorted(summary["decisions"].items())),
    ]
    if summary["choices"]:
        lines += ["", "## Chosen drafts", "", "| brief | draft | why |", "|---|---|---|"]
        lines += [f"| {c['brief']} | {c['draft']} | {c['reason']} |" for c in summary["choices"]]
    if summary["reasons"]:
        lines += ["", "## Rejections and holds by reason", "", "| reason | drafts |", "|---|---|"]
        lines += [f"| {reason} | {count} |" for reason, count in summary["reasons"].items()]
    if summary["scores"]:
        lines += ["", "## Score distributions", "", "| scorer | n | min | median | mean | max |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {name} | {d['n']} | {d['min']:.3f} | {d['median']:.3f} | {d['mean']:.3f} | {d['max']:.3f} |"
            for name, d in summary["scores"].items()
        ]
    return "\n".join(lines) + "\n"


def batch_rows(settings: Settings, draft_ids: Sequence[int]) -> list[dict[str, Any]]:
    with session_scope(settings.db_url) as session:
        return [draft_json(d) for d in repo.list_drafts(session=session, ids=draft_ids)]
