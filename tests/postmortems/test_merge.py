"""The three-way text merge: disjoint edits always merge, nothing typed is ever dropped."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.merge import edits_between, merge3

words = st.text(alphabet="abcde fgh.,", min_size=0, max_size=30)
paragraphs = st.lists(words, min_size=2, max_size=6)


def test_edits_to_different_sentences_merge():
    base = "The pool ran dry. Alerts fired late."
    mine = "The connection pool ran dry. Alerts fired late."
    theirs = "The pool ran dry. Alerts fired 4 minutes late."
    assert merge3(base, mine, theirs).text == (
        "The connection pool ran dry. Alerts fired 4 minutes late."
    )


def test_overlapping_edits_conflict():
    base = "Root cause: unknown."
    assert not merge3(base, "Root cause: a leak.", "Root cause: a config push.").clean


def test_one_sided_and_identical_edits_merge():
    assert merge3("a", "a", "b").text == "b"
    assert merge3("a", "b", "a").text == "b"
    assert merge3("a", "b", "b").text == "b"


def test_insertions_at_the_same_place_conflict_rather_than_guess_an_order():
    assert not merge3("ab", "aXb", "aYb").clean


@st.composite
def disjoint_paragraph_edits(draw):
    base = draw(paragraphs)
    mine_at, theirs_at = draw(
        st.lists(st.integers(0, len(base) - 1), min_size=2, max_size=2, unique=True)
    )
    mine, theirs = list(base), list(base)
    mine[mine_at] = draw(words)
    theirs[theirs_at] = draw(words)
    return (
        "\n\n".join(base),
        "\n\n".join(mine),
        "\n\n".join(theirs),
        mine,
        theirs,
        mine_at,
        theirs_at,
    )


@settings(max_examples=300, deadline=None)
@given(disjoint_paragraph_edits())
def test_edits_to_different_paragraphs_always_merge_and_keep_both(case):
    base, mine, theirs, mine_parts, their_parts, mine_at, theirs_at = case
    result = merge3(base, mine, theirs)
    assert result.clean
    merged = result.text.split("\n\n")
    assert merged[mine_at] == mine_parts[mine_at]
    assert merged[theirs_at] == their_parts[theirs_at]


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60), st.text(max_size=60))
def test_a_clean_merge_never_drops_text_either_side_typed(base, mine, theirs):
    result = merge3(base, mine, theirs)
    if not result.clean:
        return  # the caller keeps a conflict copy of the losing text
    for side in (mine, theirs):
        for edit in edits_between(base, side):
            assert edit.text in result.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_merging_with_an_unchanged_side_gives_the_other_side(base, other):
    assert merge3(base, base, other).text == other
    assert merge3(base, other, base).text == other
