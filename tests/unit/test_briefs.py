"""Briefs: parsing YAML and CSV, and errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_workflow.briefs import BriefFileError, BriefSpec, load_briefs, parse_csv, parse_yaml


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_list_of_mappings_becomes_briefs() -> None:
    briefs = parse_yaml(
        "- ref: trees\n  topic: Why cities need trees\n  keywords: [shade, heat]\n  min_words: 40\n"
        "- ref: sleep\n  topic: Better sleep\n  channel: blog\n  avoid: [cure]\n"
    )
    assert [b.ref for b in briefs] == ["trees", "sleep"]
    assert briefs[0].keywords == ("shade", "heat")
    assert briefs[0].modality == "text"
    assert briefs[1].channel == "blog"


def test_csv_lists_are_semicolon_separated_and_empty_cells_are_defaults() -> None:
    briefs = parse_csv("ref,topic,keywords,min_words,channel\nt1,Trees,shade; heat,20,\n")
    assert briefs[0].keywords == ("shade", "heat")
    assert briefs[0].min_words == 20
    assert briefs[0].channel is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- ref: a\n  topic: ok\n  min_words: lots\n", "item 1, line 3: field 'min_words'"),
        ("- ref: a\n  topic: ''\n", "item 1, line 2: field 'topic'"),
        ("- ref: a\n  topic: t\n  colour: red\n", "field 'colour': Extra inputs are not permitted"),
        ("- ref: a\n  topic: t\n  channel: ../../etc\n", "field 'channel'"),
        ("- ref: a\n  topic: t\n  min_words: 50\n  max_words: 10\n", "min_words (50) is greater than max_words (10)"),
        ("- ref: a\n  topic: t\n- ref: a\n  topic: u\n", "item 2: field 'ref': duplicate ref 'a' (first at item 1)"),
        ("- ref: a\n  topic: [unclosed\n", "not valid YAML"),
        ("ref: a\ntopic: t\n", "must be a YAML list of briefs"),
        ("- just a string\n", "item 1, line 1: must be a mapping"),
        ("- ref: a\n  topic: t\n  candidates: 0\n", "field 'candidates'"),
        ("- ref: a\n  topic: t\n  modality: video\n", "field 'modality'"),
        ("- ref: a\n  topic: t\n  keywords: [1, 2]\n", "field 'keywords'"),
        ("- ref: a\n  topic: " + "x" * 2001 + "\n", "field 'topic': String should have at most 2000"),
    ],
)
def test_yaml_errors_name_item_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "briefs.yaml", text)
    with pytest.raises(BriefFileError) as caught:
        load_briefs(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "nothing imported" in message


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", "ref,topic,min_words\nok,Fine,10\nbad,,x\n,Topic,5\n")
    with pytest.raises(BriefFileError) as caught:
        load_briefs(path)
    lines = [str(p) for p in caught.value.problems]
    assert "line 3: field 'topic': Field required" in lines
    assert any(line.startswith("line 3: field 'min_words'") for line in lines)
    assert any(line.startswith("line 4: field 'ref'") for line in lines)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("b.csv", "ref,topic,shoe_size\na,t,9\n", "line 1: field 'shoe_size': unknown column"),
        ("b.csv", "ref,topic\na,t,extra\n", "line 2: has more cells than the header"),
        ("b.txt", "ref: a", "unknown extension '.txt'"),
        ("b.yaml", "", "is empty"),
        ("b.yaml", "[]", "contains no briefs"),
    ],
)
def test_file_level_errors(tmp_path: Path, name: str, text: str, expected: str) -> None:
    with pytest.raises(BriefFileError, match=expected.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_briefs(write(tmp_path, name, text))


def test_missing_and_non_utf8_files_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BriefFileError, match="does not exist"):
        load_briefs(tmp_path / "nope.yaml")
    path = tmp_path / "latin1.csv"
    path.write_bytes("ref,topic\na,caf\xe9\n".encode("latin-1"))
    with pytest.raises(BriefFileError, match="not UTF-8"):
        load_briefs(path)


def test_unicode_is_normalised_zero_width_dropped_and_control_characters_refused() -> None:
    brief = BriefSpec(ref="r\u200b1", topic="Cafe\u0301 culture \U0001F600 \u05e9\u05dc\u05d5\u05dd")
    assert brief.ref == "r1"
    assert brief.topic == "Caf\u00e9 culture \U0001F600 \u05e9\u05dc\u05d5\u05dd"
    with pytest.raises(ValueError, match="control character"):
        BriefSpec(ref="r", topic="bad\x00topic")


def test_content_hash_changes_with_any_field_that_shapes_generation() -> None:
    a = BriefSpec(ref="r", topic="t")
    assert a.content_hash() == BriefSpec(ref="r", topic="t").content_hash()
    assert a.content_hash() != BriefSpec(ref="r", topic="t", tone="warm").content_hash()
    # How many drafts publish does not change what is drafted: same hash, so the same cache keys.
    assert a.content_hash() == BriefSpec(ref="r", topic="t", publish=3).content_hash()


def test_content_hash_of_a_brief_is_what_it_was_before_publish_existed() -> None:
    # Every stored draft's cache key contains its brief's hash: a new field must not regenerate them all.
    brief = BriefSpec(ref="r", topic="t", keywords=("k",), channel="blog")
    assert brief.content_hash() == "36fa0b5625ec454014f9a4833ab35b61b7f03a05794cac95ccd949fa2a403036"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("b.yaml", "- ref: a\n  topic: t\n  candidates: 3\n  publish: 2\n"),
        ("b.csv", "ref,topic,candidates,publish\na,t,3,2\n"),
    ],
)
def test_publish_says_how_many_candidates_go_out(tmp_path: Path, name: str, text: str) -> None:
    (brief,) = load_briefs(write(tmp_path, name, text))
    assert brief.publish == 2
    assert parse_csv("ref,topic,publish\na,t,\n")[0].publish is None  # empty: the default, one


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_publish_out_of_range_names_the_field(tmp_path: Path, value: str) -> None:
    with pytest.raises(BriefFileError, match="item 1, line 3: field 'publish'"):
        load_briefs(write(tmp_path, "b.yaml", f"- ref: a\n  topic: t\n  publish: {value}\n"))


def test_broken_csv_names_the_line_where_it_broke(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", 'ref,topic\na,fine\nb,"unclosed\n')
    with pytest.raises(BriefFileError, match="line 3: not valid CSV"):
        load_briefs(path)


def test_facts_are_a_yaml_list_of_statements_or_a_semicolon_separated_csv_cell() -> None:
    (from_yaml,) = parse_yaml(
        "- ref: spring\n  topic: Spring opening at Rosa's Bakery\n"
        "  facts:\n    - Rosa's Bakery opens at 7:00, Monday to Saturday.\n    - A sourdough loaf costs 4.50 EUR.\n"
    )
    assert from_yaml.facts == ("Rosa's Bakery opens at 7:00, Monday to Saturday.", "A sourdough loaf costs 4.50 EUR.")
    (from_csv,) = parse_csv('ref,topic,facts\nspring,Spring,"Opens at 7:00, Monday to Saturday; Loaf: 4.50 EUR;"\n')
    assert from_csv.facts == ("Opens at 7:00, Monday to Saturday", "Loaf: 4.50 EUR")
    assert parse_csv("ref,topic,facts\na,t,\n")[0].facts == ()  # empty cell: none
    assert BriefSpec(ref="r", topic="t").facts == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- ref: a\n  topic: t\n  facts: [1, 2]\n",
         "item 1, line 3: field 'facts': must be a list of strings, got int (fact 1)"),
        ("- ref: a\n  topic: t\n  facts: {price: 3}\n", "item 1, line 3: field 'facts': must be a list of statements"),
        ("- ref: a\n  topic: t\n  facts: [ok, '" + "x" * 501 + "']\n",
         "item 1, line 3: field 'facts': fact 2 has 501 characters; at most 500 each"),
        ("- ref: a\n  topic: t\n  facts: [" + ", ".join(f"f{i}" for i in range(51)) + "]\n",
         "item 1, line 3: field 'facts': has 51 facts; at most 50"),
        ("- ref: a\n  topic: t\n  facts: [\"bad\\x00fact\"]\n", "field 'facts': contains control character"),
    ],
)
def test_facts_errors_name_item_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(BriefFileError) as caught:
        load_briefs(write(tmp_path, "briefs.yaml", text))
    assert expected in str(caught.value)


def test_facts_errors_in_csv_name_the_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", f"ref,topic,facts\na,t,fine\nb,t,ok;{'y' * 600}\n")
    with pytest.raises(BriefFileError, match="line 3: field 'facts': fact 2 has 600 characters"):
        load_briefs(path)


def test_a_fact_may_be_a_long_sentence_and_fifty_facts_are_allowed() -> None:
    brief = BriefSpec(ref="r", topic="t", facts=["z" * 500] * 50)
    assert len(brief.facts) == 50


def test_content_hash_leaves_out_facts_when_there_are_none_and_includes_them_when_given() -> None:
    # Stored drafts' cache keys contain their brief's hash: adding the field must not change any existing hash.
    brief = BriefSpec(ref="r", topic="t", keywords=("k",), channel="blog")
    assert BriefSpec(ref="r", topic="t", keywords=("k",), channel="blog", facts=()).content_hash() == (
        "36fa0b5625ec454014f9a4833ab35b61b7f03a05794cac95ccd949fa2a403036"
    )
    assert parse_csv("ref,topic,keywords,channel,facts\nr,t,k,blog,\n")[0].content_hash() == brief.content_hash()
    with_facts = BriefSpec(ref="r", topic="t", keywords=("k",), channel="blog", facts=("Opens at 7:00.",))
    assert with_facts.content_hash() != brief.content_hash()
    assert with_facts.content_hash() != BriefSpec(
        ref="r", topic="t", keywords=("k",), channel="blog", facts=("Opens at 8:00.",)
    ).content_hash()
