"""Notes on wording that blames people, shown beside the text while it is written.

A blameless review asks what made an action reasonable when it was taken, not who got it wrong.
These rules find the words that usually mean a text slid towards blame (a named person in the
analysis, "human error", "forgot", "should have known") and say what to ask instead. They never
stop a save: a note is advice, and the owner may acknowledge it before publishing ("it quotes a
customer", "it is about a machine"). Admins add their own phrases as `WordingRule` rows.

Where the notes apply comes from the kind registry: a kind lists its `prose_fields`, and says
by `names_expected` whether naming people is part of it (a timeline says who did what; an
analysis should not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth import get_user_model

from kernel.kinds import BlockKind, kinds

SYSTEMS_QUESTION = "What made this action reasonable to the person at the time?"


@dataclass(frozen=True)
class Rule:
    key: str
    # A regular expression, matched case-insensitively on word boundaries.
    pattern: str
    why: str
    suggestion: str

    @cached_property
    def regex(self) -> re.Pattern:
        return re.compile(rf"\b(?:{self.pattern})\b", re.IGNORECASE)


# Each note says why the words get in the way of learning, then what to write about instead.
BUILT_IN_RULES = (
    Rule(
        "human-error",
        r"(?:human|operator|user|pilot)[\s-]+errors?",
        "“Human error” is where a look into the system usually stops too early.",
        "Describe what the person saw and what the system let them do. " + SYSTEMS_QUESTION,
    ),
    Rule(
        "forgot",
        r"forgot|forgotten|forgetting|forget",
        "Saying someone forgot puts the gap in a person’s memory rather than in the process.",
        "What would have reminded them: a checklist, an alert, a default, a second pair of eyes?",
    ),
    Rule(
        "should-have",
        r"should(?:n[’']t|\s+not)?\s+have\s+(?:known|noticed|seen|checked|caught|realised|"
        r"realized|asked|waited|tested|been\s+(?:obvious|more\s+careful))",
        "“Should have” judges with what we know now, not with what was known then.",
        "What did the person know at that moment, and what would have shown them more?",
    ),
    Rule(
        "careless",
        r"careless(?:ly|ness)?|sloppy|sloppiness|lazy|laziness|negligen(?:t|ce)|"
        r"incompeten(?:t|ce)|reckless(?:ly|ness)?",
        "Words about someone’s character explain nothing about the system.",
        "Name the condition instead: time pressure, a missing guard, an unclear runbook.",
    ),
    Rule(
        "fault",
        r"(?:fault|blame)\s+of|(?:his|her|their|my|your)\s+(?:fault|mistake|blunder)|"
        r"[\w’']+[’']s\s+(?:fault|mistake|blunder)|to\s+blame|blamed?\s+(?:on|for)|at\s+fault",
        "Assigning fault tells readers whom to avoid, not what to change.",
        "Describe the chain of conditions that let the failure through. " + SYSTEMS_QUESTION,
    ),
    Rule(
        "failed-to-follow",
        r"(?:failed|neglected|refused|didn[’']t\s+bother)\s+to\s+(?:follow|check|read|test|"
        r"look|ask|verify)|did\s+not\s+bother|not\s+paying\s+attention|ignored\s+the",
        "This reads as a judgement of effort, and hides why the step was skipped.",
        "Why was skipping the step the easy path? Was the step known, visible, and quick?",
    ),
)

# The sections that analyse the failure. Naming people there turns an analysis of conditions
# into an account of who did what; the summary, impact, timeline and what went well may say
# who noticed, acted or helped.
ANALYSIS_SECTIONS = frozenset(
    {"root-cause", "contributing-factors", "went-poorly", "lessons", "retrospective"}
)

NAME_RULE_KEY = "name"

# First or last names that are also common words in an incident write-up; only a full name
# counts for these.
COMMON_WORDS = frozenset(
    {
        "will", "may", "mark", "page", "grant", "bill", "rich", "art", "june", "april",
        "august", "dawn", "drew", "chase", "hunter", "summer", "faith", "hope", "joy", "max",
        "sky", "rose", "frank", "lane", "long", "young", "king", "black", "white", "green",
        "brown", "gray", "grey", "ward", "hall", "wood", "park", "price", "rice", "cook",
        "baker", "miller", "hill", "stone", "field", "march", "ray", "guy", "van", "don",
        "sage", "case", "cash", "love", "best", "west", "north", "south", "east", "day",
        "lee", "job", "jobs", "queue", "key", "admin", "demo", "root", "test", "user",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Note:
    rule: str  # a rule key, "name", or "custom-<id>"
    field: str
    words: str  # the words as written
    why: str
    suggestion: str

    @property
    def key(self) -> str:
        """What an acknowledgement names: the rule and the words, case aside."""
        return f"{self.rule}:{' '.join(self.words.lower().split())}"


def custom_rules() -> list[Rule]:
    from postmortems.models import WordingRule

    return [rule.as_rule() for rule in WordingRule.objects.filter(active=True)]


def people_pattern() -> re.Pattern | None:
    """People's names as a person would write them: full names, and first or last names
    written with a capital that are not also common words."""
    full, single = set(), set()
    rows = get_user_model().objects.filter(is_active=True).values_list("first_name", "last_name")
    for first, last in rows:
        first, last = first.strip(), last.strip()
        if first and last:
            full.add(f"{first} {last}")
        for part in (first, last):
            if len(part) >= 3 and part.lower() not in COMMON_WORDS:
                single.add(part)
    parts = [re.escape(name).replace(r"\ ", r"\s+") for name in sorted(full, key=len)[::-1]]
    if not parts and not single:
        return None
    alternatives = []
    if parts:
        alternatives.append(f"(?i:{'|'.join(parts)})")
    if single:
        # Case-sensitive: "Priya" is a name, "priya" in a path is not worth a note.
        alternatives.append("|".join(re.escape(name) for name in sorted(single)))
    return re.compile(rf"\b(?:{'|'.join(alternatives)})\b")


class Checker:
    """The rules in force, read once (custom rules and people's names), then applied to text."""

    def __init__(self, rules: list[Rule] | None = None, names: re.Pattern | None | bool = True):
        self.rules = list(BUILT_IN_RULES) + (custom_rules() if rules is None else rules)
        self.names = people_pattern() if names is True else (names or None)

    def notes(self, text: str, *, field: str, names_expected: bool) -> list[Note]:
        found: list[tuple[int, Note]] = []
        for rule in self.rules:
            for match in rule.regex.finditer(text):
                note = Note(rule.key, field, match.group(0), rule.why, rule.suggestion)
                found.append((match.start(), note))
        if self.names is not None and not names_expected:
            for match in self.names.finditer(text):
                found.append((match.start(), _name_note(field, match.group(0))))
        found.sort(key=lambda pair: pair[0])
        unique: dict[str, Note] = {}
        for _, note in found:
            unique.setdefault(note.key, note)
        return list(unique.values())

    def block_notes(self, kind: BlockKind, block, values: dict | None = None) -> list[Note]:
        """Notes on one block's text: `values` as typed, else the block as saved."""
        names_expected = kind.names_expected(block)
        notes: list[Note] = []
        for field in kind.prose_fields:
            text = values.get(field, "") if values is not None else getattr(block, field, "")
            notes += self.notes(str(text or ""), field=field, names_expected=names_expected)
        return notes


def _name_note(field: str, words: str) -> Note:
    return Note(
        NAME_RULE_KEY,
        field,
        words,
        "A person’s name in the analysis turns it into an account of who did what.",
        "Name the role or the step instead (“the on-call engineer”, “the deploy”), and ask "
        "what the system let them do.",
    )


@dataclass
class BlockNotes:
    kind: BlockKind
    block: object
    notes: list[Note]
    acknowledged: set[str]

    @property
    def where(self) -> str:
        """The block in words, as the history names it ("Timeline: Rolled back the deploy")."""
        described = self.kind.describe(self.block)
        return (
            described
            if described.startswith(self.kind.label) or ":" in described
            else (f"{self.kind.label}: {described}" if described else self.kind.label)
        )

    @property
    def open(self) -> list[Note]:
        return [note for note in self.notes if note.key not in self.acknowledged]


def checked_kinds() -> list[BlockKind]:
    return [kind for kind in kinds() if kind.prose_fields]


def document_notes(incident, checker: Checker | None = None) -> list[BlockNotes]:
    """Every block of the document with notes on its wording, and which of them were
    acknowledged. `incident` should come from document_for_ref (its blocks are prefetched)."""
    from postmortems.models import WordingAcknowledgement

    checker = checker or Checker()
    acknowledged: dict[tuple[str, int], set[str]] = {}
    rows = WordingAcknowledgement.objects.filter(postmortem=incident.postmortem)
    for kind_name, block_id, note_key in rows.values_list("block_kind", "block_id", "note_key"):
        acknowledged.setdefault((kind_name, block_id), set()).add(note_key)
    found = []
    for kind, block in _prose_blocks(incident):
        notes = checker.block_notes(kind, block)
        if notes:
            found.append(
                BlockNotes(kind, block, notes, acknowledged.get((kind.name, block.pk), set()))
            )
    return found


def _prose_blocks(incident):
    for kind in checked_kinds():
        # Kinds the document page lists come prefetched; others (whys) in one query each.
        rows = kind.document_rows(incident) if kind.document_rows else kind.blocks(incident)
        for block in rows:
            yield kind, block


class NoSuchNote(Exception):
    pass


def wording_acknowledge(*, incident, kind_name: str, block_id: int, note_key: str, reason, user):
    """Record that the owner read one note and let the words stay; idempotent.

    Only a note the block's text raises now can be acknowledged, so a stale page cannot file
    acknowledgements for words that are gone.
    """
    from postmortems.models import WordingAcknowledgement

    for found in document_notes(incident):
        same_block = found.kind.name == kind_name and found.block.pk == block_id
        if same_block and any(note.key == note_key for note in found.notes):
            row, _ = WordingAcknowledgement.objects.get_or_create(
                postmortem=incident.postmortem,
                block_kind=kind_name,
                block_id=block_id,
                note_key=note_key,
                defaults={"reason": reason, "acknowledged_by": user},
            )
            return row
    raise NoSuchNote("That note is no longer raised: the words were changed in the meantime.")


def open_count(found: list[BlockNotes]) -> int:
    return sum(len(block_notes.open) for block_notes in found)
