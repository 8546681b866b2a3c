"""Labelled drafts: a file an editor wrote is read whole or refused with its line and field; splits go by brief."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigc_workflow.filters.drafts import (
    DEFECTS,
    TEST,
    VALIDATION,
    LabelledDataError,
    default_path,
    load_labelled_drafts,
)
from aigc_workflow.filters.gate_quality import best_cut, gate_figures, scorer_figures

BRIEF = {"ref": "trees", "topic": "Why cities need trees", "format": "short blog post"}


def record(**changes: object) -> dict[str, object]:
    return {"id": "d1", "brief": BRIEF, "text": "Trees cool streets.", "label": "not_publishable",
            "defects": ["too_short"], "source": "test", **changes}


def write(tmp_path: Path, *records: dict[str, object]) -> Path:
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def test_a_good_file_reads_whole(tmp_path: Path) -> None:
    [draft] = load_labelled_drafts(write(tmp_path, record()))
    assert (draft.id, draft.brief.ref, draft.label, draft.defects, draft.bad) == (
        "d1", "trees", "not_publishable", ("too_short",), 1)


@pytest.mark.parametrize(("bad", "message"), [
    (record(label="meh"), "line 2: field 'label': 'meh' is not one of publishable, light_edit, not_publishable"),
    (record(defects=["typo"]), "line 2: field 'defects': unknown ['typo']"),
    (record(defects=[]), "line 2: field 'defects': a not-publishable draft names at least one defect"),
    (record(text=""), "line 2: field 'text': a non-empty string is required"),
    (record(brief={"ref": "x"}), "line 2: field 'brief.topic': Field required"),
    (record(id="a"), "line 2: field 'id': 'a' appears twice"),
])
def test_a_bad_line_is_refused_with_its_line_and_field(tmp_path: Path, bad: dict[str, object], message: str) -> None:
    path = write(tmp_path, record(id="a"), bad)
    with pytest.raises(LabelledDataError) as caught:
        load_labelled_drafts(path)
    assert str(caught.value).startswith(f"{path}, {message}")


def test_a_broken_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(record()) + "\n{not json\n")
    with pytest.raises(LabelledDataError, match=r"labels.jsonl, line 2: not JSON"):
        load_labelled_drafts(path)


def test_the_bundled_set_is_split_by_brief_and_covers_every_defect() -> None:
    drafts = load_labelled_drafts(default_path())
    assert len(drafts) >= 300
    splits: dict[str, set[str]] = {VALIDATION: set(), TEST: set()}
    for draft in drafts:
        splits[draft.split].add(draft.brief.ref)
    assert splits[VALIDATION] and splits[TEST] and not splits[VALIDATION] & splits[TEST]
    assert sum("invented_specifics" in d.defects for d in drafts) >= 30
    assert {d for draft in drafts for d in draft.defects} <= set(DEFECTS)


def test_figures_count_a_failed_scorer_as_flagged() -> None:
    figures = scorer_figures([float("inf"), -1.0, -0.2], [1, 0, 0], cut=-0.5)
    assert (figures["precision"], figures["recall"], figures["flagged"]) == (0.5, 1.0, 0.6667)


def test_the_calibrated_cut_separates_best() -> None:
    assert best_cut([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]) == 0.3
    assert best_cut([0.5, 0.5], [1, 1]) is None  # one class: nothing to calibrate


def test_the_gate_is_judged_as_an_editor_would(tmp_path: Path) -> None:
    good, bad, invented = load_labelled_drafts(write(
        tmp_path, record(id="g", label="publishable", defects=[]), record(id="b"),
        record(id="i", defects=["invented_specifics"])))
    figures = gate_figures([good, bad, invented], ["approved", "held", "approved"])
    assert figures["not_publishable_stopped"] == {"n": 2, "share": 0.5}
    assert figures["invented_specifics_stopped"] == {"n": 1, "share": 0.0}
    assert figures["publishable_approved"] == {"n": 1, "share": 1.0}
