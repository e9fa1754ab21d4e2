"""The three-way text merge: disjoint edits always merge, nothing typed is ever dropped.

The property tests generate two people editing one text from the same base, both at once:
- apart: each changes a different paragraph, so the merge must keep both changes exactly;
- overlapping: both rewrite the same stretch of one paragraph, which can only become a
  conflict, with the losing side's text kept whole as a conflict copy.
Each test counts the cases it generated and fails if it did not generate enough of its kind.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kernel.merge import edits_between, merge3
from postmortems.editing import section_update
from postmortems.models import ConflictCopy, Section

BASE_LETTERS = "abcdefgh ,."
words = st.text(alphabet=BASE_LETTERS, min_size=0, max_size=30)
paragraphs = st.lists(words, min_size=2, max_size=6)
# What the two editors type in the overlapping case: letters the base and the other editor
# never use, so each side's diff is exactly its own rewrite and the two must collide.
MINE_LETTERS, THEIR_LETTERS = "ABCDEFGH", "0123456789"


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


@dataclass(frozen=True)
class Concurrent:
    """Two edits of `base` made at once; `expected` is the merge when they are apart."""

    kind: str  # "apart" or "overlapping"
    base: str
    mine: str
    theirs: str
    typed_mine: str
    typed_theirs: str
    expected: str | None


@st.composite
def rewrite(draw, paragraph: str, letters: str, whole: bool = False) -> tuple[str, str]:
    """Replace a stretch of `paragraph` with new text; return (new paragraph, typed text)."""
    if whole:
        start, end = 0, len(paragraph)
    else:
        start = draw(st.integers(0, len(paragraph)))
        end = draw(st.integers(start, len(paragraph)))
    typed = draw(st.text(alphabet=letters, min_size=1 if whole else 0, max_size=20))
    changed = paragraph[:start] + typed + paragraph[end:]
    return changed, typed


@st.composite
def apart(draw) -> Concurrent:
    """Each editor changes a different paragraph, and each really changes it."""
    base = draw(paragraphs)
    mine_at, theirs_at = draw(
        st.lists(st.integers(0, len(base) - 1), min_size=2, max_size=2, unique=True)
    )
    mine, theirs = list(base), list(base)
    mine[mine_at], typed_mine = draw(
        rewrite(base[mine_at], BASE_LETTERS).filter(lambda r: r[0] != base[mine_at])
    )
    theirs[theirs_at], typed_theirs = draw(
        rewrite(base[theirs_at], BASE_LETTERS).filter(lambda r: r[0] != base[theirs_at])
    )
    both = list(base)
    both[mine_at], both[theirs_at] = mine[mine_at], theirs[theirs_at]
    return Concurrent(
        "apart",
        "\n\n".join(base),
        "\n\n".join(mine),
        "\n\n".join(theirs),
        typed_mine,
        typed_theirs,
        "\n\n".join(both),
    )


@st.composite
def overlapping(draw) -> Concurrent:
    """Both editors rewrite the same paragraph: one all of it, the other a part of it."""
    base = draw(st.lists(st.text(alphabet=BASE_LETTERS, min_size=1, max_size=30), min_size=1))
    at = draw(st.integers(0, len(base) - 1))
    mine, theirs = list(base), list(base)
    mine[at], typed_mine = draw(rewrite(base[at], MINE_LETTERS, whole=True))
    start = draw(st.integers(0, len(base[at]) - 1))
    end = draw(st.integers(start + 1, len(base[at])))
    typed_theirs = draw(st.text(alphabet=THEIR_LETTERS, min_size=1, max_size=20))
    theirs[at] = base[at][:start] + typed_theirs + base[at][end:]
    return Concurrent(
        "overlapping",
        "\n\n".join(base),
        "\n\n".join(mine),
        "\n\n".join(theirs),
        typed_mine,
        typed_theirs,
        None,
    )


def test_edits_to_different_paragraphs_always_merge_and_keep_both():
    seen: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None)
    @given(apart())
    def check(case: Concurrent) -> None:
        result = merge3(case.base, case.mine, case.theirs)
        assert result.text == case.expected
        assert case.typed_mine in result.text and case.typed_theirs in result.text
        seen["two-sided merge"] += 1
        event("two-sided merge")

    check()
    print(f"generated: {dict(seen)}")
    assert seen["two-sided merge"] >= 150, seen


def test_overlapping_edits_never_merge_and_lose_nothing():
    seen: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None)
    @given(overlapping())
    def check(case: Concurrent) -> None:
        assert not merge3(case.base, case.mine, case.theirs).clean
        assert not merge3(case.base, case.theirs, case.mine).clean
        seen["conflict"] += 1
        event("conflict")

    check()
    print(f"generated: {dict(seen)}")
    assert seen["conflict"] >= 150, seen


def test_a_clean_merge_never_drops_text_either_side_typed():
    """Any three texts at all: when the merge is clean, every edit either side made is in it."""
    seen: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(apart(), overlapping(), arbitrary_texts()))
    def check(case: Concurrent) -> None:
        result = merge3(case.base, case.mine, case.theirs)
        two_sided = case.base not in (case.mine, case.theirs) and case.mine != case.theirs
        outcome = "clean" if result.clean else "conflict"
        seen[f"{outcome}, {'both sides' if two_sided else 'one side'} changed"] += 1
        event(f"{outcome}, {'both sides' if two_sided else 'one side'} changed")
        if not result.clean:
            return  # the caller keeps a conflict copy of the losing text
        for side in (case.mine, case.theirs):
            for edit in edits_between(case.base, side):
                assert edit.text in result.text

    check()
    print(f"generated: {dict(seen)}")
    assert seen["clean, both sides changed"] >= 60, seen
    assert seen["conflict, both sides changed"] >= 60, seen


@st.composite
def arbitrary_texts(draw) -> Concurrent:
    base, mine, theirs = (draw(st.text(max_size=60)) for _ in range(3))
    return Concurrent("arbitrary", base, mine, theirs, "", "", None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_merging_with_an_unchanged_side_gives_the_other_side(base, other):
    assert merge3(base, base, other).text == other
    assert merge3(base, other, base).text == other


@pytest.mark.django_db
@pytest.mark.parametrize("edits", [apart, overlapping], ids=["apart", "overlapping"])
def test_saving_at_once_keeps_every_typed_word_in_the_section_or_its_conflict_copy(
    owner, teammate, incident, edits
):
    """Through the save service: apart edits are merged into the section, overlapping ones
    leave the first save in the section and the second, whole, in a conflict copy."""
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    seen: Counter[str] = Counter()

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(edits())
    def check(case: Concurrent) -> None:
        with transaction.atomic():
            start = section_update(
                section, body=case.base, base_version=1, user=owner
            ).block.version
            for text, user in ((case.theirs, teammate), (case.mine, owner)):
                result = section_update(section, body=text, base_version=start, user=user)
            stored = Section.objects.get(pk=section.pk).body
            if case.kind == "apart":
                assert result.saved and result.merged
                assert stored == case.expected
            else:
                assert not result.saved
                assert stored == case.theirs
                assert ConflictCopy.objects.get(section=section).text == case.mine
            seen[case.kind] += 1
            transaction.set_rollback(True)

    check()
    print(f"generated: {dict(seen)}")
    assert sum(seen.values()) >= 20, seen
