"""The labelled harm files: a malformed row is refused with its file, line and field."""

from __future__ import annotations

import json

import pytest

from aigc_workflow.filters.harm_data import (
    HarmDataError,
    held_out,
    read_labelled,
    written_training,
)

ROW = {"id": "x-1", "text": "Refugees are vermin.", "label": 1, "kind": "hateful", "group": "nationality_migrants",
       "language": "en", "style": "dehumanise"}


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "rude"}, "kind"), ({"group": "martians"}, "group"), ({"label": 0}, "label"), ({"text": " "}, "text"),
])
def test_a_bad_row_names_file_line_and_field(tmp_path, change, field) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROW) + "\n" + json.dumps({**ROW, **change}) + "\n", encoding="utf-8")
    with pytest.raises(HarmDataError, match=rf"bad.jsonl, line 2, field '{field}'"):
        read_labelled(path, "written", None)


def test_the_held_out_set_meets_the_sizes_the_targets_need() -> None:
    rows = held_out()
    hateful = [r for r in rows if r.kind == "hateful"]
    assert len(hateful) >= 150 and sum(r.language != "en" for r in hateful) >= 30
    assert sum(r.kind == "benign_group" for r in rows) >= 150
    assert sum(r.kind == "benign_slang" for r in rows) >= 50


def test_written_training_splits_into_train_and_validation_by_id() -> None:
    splits = {r.split for r in written_training()}
    assert splits == {"train", "validation"}
