"""Three-way merge of block text: two people's edits from one base, combined or refused.

Each side's changes are found as edits against the common base (diff-match-patch's diff,
character by character). Edits that touch separate parts of the base are both applied; edits
that overlap are a conflict, and then nothing is merged at all. Because every edit is applied
whole or not at all, a clean merge always contains every piece of text either side typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from diff_match_patch import diff_match_patch

DIFF_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Edit:
    """Replace base[start:end] with `text` (an insertion when start == end)."""

    start: int
    end: int
    text: str

    @property
    def is_insertion(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True)
class MergeResult:
    text: str | None

    @property
    def clean(self) -> bool:
        return self.text is not None


def edits_between(base: str, other: str) -> list[Edit]:
    differ = diff_match_patch()
    differ.Diff_Timeout = DIFF_TIMEOUT_SECONDS
    result: list[Edit] = []
    position = 0
    start: int | None = None
    inserted: list[str] = []
    for operation, chunk in differ.diff_main(base, other, False):
        if operation == diff_match_patch.DIFF_EQUAL:
            if start is not None:
                result.append(Edit(start, position, "".join(inserted)))
                start, inserted = None, []
            position += len(chunk)
            continue
        if start is None:
            start = position
        if operation == diff_match_patch.DIFF_DELETE:
            position += len(chunk)
        else:
            inserted.append(chunk)
    if start is not None:
        result.append(Edit(start, position, "".join(inserted)))
    return result


def _conflicts(a: Edit, b: Edit) -> bool:
    if a == b:
        return False
    if a.is_insertion and b.is_insertion:
        return a.start == b.start
    if a.is_insertion:
        return b.start < a.start < b.end
    if b.is_insertion:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def merge3(base: str, mine: str, theirs: str) -> MergeResult:
    """Combine the changes base→mine and base→theirs, or return a result that is not clean."""
    if mine == theirs or theirs == base:
        return MergeResult(mine)
    if mine == base:
        return MergeResult(theirs)
    my_edits, their_edits = edits_between(base, mine), edits_between(base, theirs)
    for a in my_edits:
        for b in their_edits:
            if b.start > a.end:
                break
            if _conflicts(a, b):
                return MergeResult(None)
    # Identical edits made on both sides are applied once. At one position, an insertion
    # goes before a replacement that starts there.
    combined = sorted(set(my_edits) | set(their_edits), key=lambda e: (e.start, e.end))
    pieces: list[str] = []
    position = 0
    for edit in combined:
        pieces.append(base[position : edit.start])
        pieces.append(edit.text)
        position = edit.end
    pieces.append(base[position:])
    return MergeResult("".join(pieces))
