"""Ratings files and the rating schema: every problem named by file, line or item, and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from aigc_workflow.briefs import BriefFileError
from aigc_workflow.feedback import RatingIn, RatingsFileError, load_ratings_file

HEADER = "publication_id,rating,thumbs,rater,comment,external_id\n"


def test_good_csv_and_json_give_the_same_ratings(tmp_path: Path) -> None:
    csv_path = tmp_path / "r.csv"
    csv_path.write_text(HEADER + '1,5,up,ana,"Great, really",k1\n2,,down,,,\n3,2,,,,\n')
    json_path = tmp_path / "r.json"
    json_path.write_text(json.dumps([
        {"publication_id": 1, "rating": 5, "thumbs": "up", "rater": "ana", "comment": "Great, really",
         "external_id": "k1"},
        {"publication_id": 2, "thumbs": "down"},
        {"publication_id": 3, "rating": 2},
    ]))
    from_csv = load_ratings_file(csv_path)
    assert from_csv == load_ratings_file(json_path)
    assert from_csv[0] == (1, RatingIn(rating=5, thumbs="up", rater="ana", comment="Great, really", external_id="k1"))
    assert from_csv[1] == (2, RatingIn(thumbs="down"))


def test_csv_columns_may_come_in_any_order_and_be_left_out(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("rating,publication_id\n4,7\n")
    assert load_ratings_file(path) == [(7, RatingIn(rating=4))]


CSV_CASES = [
    pytest.param(HEADER + "1,0,,,,\n", ["line 2: field 'rating': Input should be greater than or equal to 1"],
                 id="rating-zero"),
    pytest.param(HEADER + "1,6,,,,\n", ["line 2: field 'rating': Input should be less than or equal to 5"],
                 id="rating-six"),
    pytest.param(HEADER + "1,4.5,,,,\n", ["line 2: field 'rating': Input should be a valid integer"],
                 id="rating-fraction"),
    pytest.param(HEADER + "1,,sideways,,,\n", ["line 2: field 'thumbs': Input should be 'up' or 'down'"],
                 id="thumbs-unknown"),
    pytest.param(HEADER + "1,,,,,\n", ["line 2: give a rating (1-5), thumbs (up or down), or both"],
                 id="neither-rating-nor-thumbs"),
    pytest.param(HEADER + ",3,,,,\n", ["line 2: field 'publication_id': Field required"], id="no-publication"),
    pytest.param(HEADER + "abc,3,,,,\n", ["line 2: field 'publication_id': Input should be a valid integer"],
                 id="publication-not-a-number"),
    pytest.param(HEADER + "0,3,,,,\n", ["line 2: field 'publication_id': Input should be greater than or equal to 1"],
                 id="publication-zero"),
    pytest.param(HEADER + f"1,3,,{'x' * 201},,\n", ["line 2: field 'rater': String should have at most 200 characters"],
                 id="rater-too-long"),
    pytest.param(HEADER + f"1,3,,,{'x' * 4001},\n",
                 ["line 2: field 'comment': String should have at most 4000 characters"], id="comment-too-long"),
    pytest.param(HEADER + "1,3,,,,k\n2,4,,,,k\n",
                 ["line 3: field 'external_id': duplicate external_id 'k' (first at line 2)"],
                 id="duplicate-external-id"),
    pytest.param(HEADER + "1,3,,bad\x07name,,\n", ["line 2: field 'rater': contains control character '\\x07'"],
                 id="control-character"),
    pytest.param("publication_id,stars\n1,3\n", ["line 1: field 'stars': unknown column"], id="unknown-column"),
    pytest.param("rating,thumbs\n3,up\n", ["line 1: field 'publication_id': required column is missing"],
                 id="missing-publication-column"),
    pytest.param(HEADER + "1,3,,,,,extra\n", ["line 2: has more cells than the header"], id="too-many-cells"),
    pytest.param(HEADER, ["file: contains no ratings"], id="header-only"),
    pytest.param("", ["file: contains no ratings"], id="empty"),
    pytest.param(HEADER + '1,3,,"unclosed\n', ["line 2: not valid CSV"], id="bad-quoting"),
    # Every problem in the file is reported at once, not just the first.
    pytest.param(HEADER + "1,5,up,,,\n1,9,,,,\n2,,left,,,\n",
                 ["line 3: field 'rating'", "line 4: field 'thumbs'"], id="all-problems-listed"),
]


@pytest.mark.parametrize(("content", "expected"), CSV_CASES)
def test_bad_csv_names_line_and_field(tmp_path: Path, content: str, expected: list[str]) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text(content)
    with pytest.raises(RatingsFileError) as caught:
        load_ratings_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {len(caught.value.problems)} problem(s), nothing imported:")
    for fragment in expected:
        assert f"{path}: {fragment}" in message
    assert len(caught.value.problems) == len(expected)


JSON_CASES = [
    pytest.param([{"publication_id": 1, "rating": 0}],
                 ["item 1: field 'rating': Input should be greater than or equal to 1"], id="rating-zero"),
    pytest.param([{"publication_id": 1, "rating": 5}, {"publication_id": 1, "rating": True}],
                 ["item 2: field 'rating': must be an integer from 1 to 5, not a boolean"], id="rating-bool"),
    pytest.param([{"publication_id": 1, "rating": "five"}],
                 ["item 1: field 'rating': Input should be a valid integer"], id="rating-text"),
    pytest.param([{"publication_id": 1, "stars": 3, "rating": 3}],
                 ["item 1: field 'stars': Extra inputs are not permitted"], id="unknown-field"),
    pytest.param([{"rating": 3}], ["item 1: field 'publication_id': Field required"], id="no-publication"),
    pytest.param([{"publication_id": 1}], ["item 1: give a rating (1-5), thumbs (up or down), or both"],
                 id="neither"),
    pytest.param([{"publication_id": 1, "rating": 3}, 7], ["item 2: must be an object, got int"], id="not-an-object"),
    pytest.param({"publication_id": 1, "rating": 3}, ["file: must be a JSON list of rating objects"], id="not-a-list"),
    pytest.param([], ["file: contains no ratings"], id="empty-list"),
]


@pytest.mark.parametrize(("data", "expected"), JSON_CASES)
def test_bad_json_names_item_and_field(tmp_path: Path, data: object, expected: list[str]) -> None:
    path = tmp_path / "ratings.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RatingsFileError) as caught:
        load_ratings_file(path)
    for fragment in expected:
        assert f"{path}: {fragment}" in str(caught.value)
    assert len(caught.value.problems) == len(expected)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("r.json", '[{"publication_id": 1,\n "rating": 3,,}]', "line 2, column 14: not valid JSON"),
        ("r.txt", "publication_id\n1\n", "file: unknown extension '.txt'; use .csv or .json"),
        ("r.csv", b"\xff\xfe\x00bad", "file: is not UTF-8 text"),
        ("missing.csv", None, "file: does not exist or is not a file"),
    ],
)
def test_unreadable_files_are_refused_whole(tmp_path: Path, name: str, content: str | bytes | None,
                                            expected: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(RatingsFileError, match=expected):
        load_ratings_file(path)


def test_ratings_file_error_is_the_briefs_error_shape() -> None:
    # One error family for every import: the CLI and callers that catch BriefFileError handle both.
    assert issubclass(RatingsFileError, BriefFileError)


@pytest.mark.parametrize(
    "kwargs",
    [{"rating": 0}, {"rating": 6}, {}, {"thumbs": "meh"}, {"rating": 3, "external_id": "k" * 201},
     {"rating": 3, "x": 1}],
)
def test_rating_in_refuses(kwargs: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError):
        RatingIn(**kwargs)


def test_rating_in_cleans_text_and_drops_blank_values() -> None:
    rating = RatingIn(rating=4, rater="  ana\u200b ", comment="   ", external_id="")
    assert (rating.rater, rating.comment, rating.external_id) == ("ana", None, None)
