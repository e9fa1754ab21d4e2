"""The history of a whole document: every change to every block, with diffs, and revert."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from kernel.blocks import block_save
from kernel.kinds import BlockKind, kind_named, kinds
from kernel.live import publish_on_commit
from kernel.text import display_name

HISTORY_LIMIT = 500
TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass
class FieldChange:
    name: str
    before: str
    after: str

    @property
    def diff(self) -> SafeString:
        return word_diff(self.before, self.after)


class ValueFormatter:
    """Turns stored values into what a person reads: names, choice labels, local times."""

    def __init__(self):
        self.names: dict[tuple[type, object], str] = {}

    def label(self, model: type[models.Model], name: str) -> str:
        field = model._meta.get_field(name.removesuffix("_id"))
        return str(field.verbose_name)

    def __call__(self, model: type[models.Model], name: str, value) -> str:
        if value is None or value == "":
            return ""
        field = model._meta.get_field(name.removesuffix("_id"))
        if field.is_relation:
            return self.related_name(field.related_model, value)
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, datetime):
            return localtime(value).strftime("%Y-%m-%d %H:%M:%S")
        return str(value)

    def related_name(self, model: type[models.Model], pk) -> str:
        key = (model, pk)
        if key not in self.names:
            row = model._default_manager.filter(pk=pk).first()
            if row is None:
                self.names[key] = f"#{pk} (deleted)"
            elif hasattr(row, "get_full_name"):
                self.names[key] = display_name(row)
            else:
                self.names[key] = str(row)
        return self.names[key]


@dataclass
class Change:
    kind: str
    record: object
    label: str
    action: str  # created, changed, deleted
    fields: list[FieldChange]
    revertable: bool

    @property
    def when(self):
        return self.record.history_date

    @property
    def who(self):
        return self.record.history_user


def word_diff(before: str, after: str) -> SafeString:
    """Words removed in <del>, words added in <ins>, everything escaped."""
    old, new = TOKEN.findall(before), TOKEN.findall(after)
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(old[a1:a2])))
            continue
        if a2 > a1:
            parts.append(f"<del>{escape(''.join(old[a1:a2]))}</del>")
        if b2 > b1:
            parts.append(f"<ins>{escape(''.join(new[b1:b2]))}</ins>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


def history_sources(document) -> dict[str, QuerySet]:
    """Per kind of block, the history rows that belong to this document."""
    return {kind.name: kind.history(document) for kind in kinds()}


def _records(document):
    for name, queryset in history_sources(document).items():
        for record in queryset.select_related("history_user").order_by("history_id"):
            yield name, record


def document_history(document, *, block: tuple[str, int] | None = None) -> list[Change]:
    """Every change to the document, newest first, each compared with the one before it.

    Only the fields a reader cares about count: a save that changed nothing among a kind's
    tracked fields (a move renumbering positions, a change to the list of responders) is not
    shown. With `block` (kind name, id), only that block's changes.
    """
    previous: dict[tuple[str, int], object] = {}
    shown: dict[tuple[str, int], Change] = {}
    changes: list[Change] = []
    show = ValueFormatter()
    for name, record in _records(document):
        kind = kind_named(name)
        key = (name, record.id)
        before = previous.get(key)
        if record.history_type == "-":
            action, names = "deleted", []
        elif record.history_type == "+" or before is None:
            action = "created"
            names = [f for f in kind.tracked_fields if getattr(record, f) not in (None, "")]
        else:
            action = "changed"
            names = [f for f in kind.tracked_fields if getattr(before, f) != getattr(record, f)]
        previous[key] = record
        if action != "deleted" and not names:
            # Nothing a reader would see changed, or an empty section made with a new
            # postmortem: not an entry.
            continue
        fields = [
            FieldChange(
                show.label(kind.model, field),
                show(kind.model, field, getattr(before, field)) if action == "changed" else "",
                show(kind.model, field, getattr(record, field)),
            )
            for field in names
        ]
        change = Change(name, record, kind.describe(record), action, fields, False)
        changes.append(change)
        shown[key] = change
    for change in changes:
        key = (change.kind, change.record.id)
        last = previous[key]
        # A row can be brought back to any state it had that is not its current one, and a
        # deleted row can be restored.
        change.revertable = (
            kind_named(change.kind).editable
            and change.action != "deleted"
            and (change is not shown[key] or last.history_type == "-")
        )
    if block is not None:
        changes = [c for c in changes if (c.kind, c.record.id) == block]
    changes.sort(key=lambda c: (c.when, c.record.history_id), reverse=True)
    return changes[:HISTORY_LIMIT]


# Saves of one block by one person this close together read as one change (autosave writes a
# version every few seconds while someone types).
RUN_GAP = timedelta(minutes=30)


@dataclass
class Run:
    """Consecutive changes of one block by one person: one entry on the history page."""

    changes: list[Change]  # newest first

    @property
    def latest(self) -> Change:
        return self.changes[0]

    @property
    def earliest(self) -> Change:
        return self.changes[-1]

    @property
    def action(self) -> str:
        actions = {c.action for c in self.changes}
        if "deleted" in actions:
            return "deleted" if self.latest.action == "deleted" else "changed"
        return "created" if self.earliest.action == "created" else "changed"

    @property
    def fields(self) -> list[FieldChange]:
        """Each field as it was before the first change of the run and after the last."""
        if len(self.changes) == 1:
            return self.latest.fields
        firsts: dict[str, FieldChange] = {}
        lasts: dict[str, FieldChange] = {}
        for change in reversed(self.changes):
            for field in change.fields:
                firsts.setdefault(field.name, field)
                lasts[field.name] = field
        merged = [FieldChange(name, firsts[name].before, lasts[name].after) for name in firsts]
        return [field for field in merged if field.before != field.after]


def history_runs(changes: list[Change]) -> list[Run]:
    runs: list[Run] = []
    for change in changes:
        run = runs[-1] if runs else None
        if (
            run is not None
            and (run.earliest.kind, run.earliest.record.id) == (change.kind, change.record.id)
            and run.earliest.record.history_user_id == change.record.history_user_id
            and run.earliest.when - change.when <= RUN_GAP
            and "deleted" not in (change.action, run.earliest.action)
        ):
            run.changes.append(change)
        else:
            runs.append(Run([change]))
    return runs


@dataclass
class RevertOutcome:
    ok: bool
    message: str


def history_revert(*, incident, kind: BlockKind, history_id: int, user) -> RevertOutcome:
    """Bring a block back to the state a history row recorded, as a new version.

    The revert is itself a save (version + 1, a history row naming who reverted), so it can be
    reverted in turn. A block deleted since is restored with its old id.
    """
    sources = history_sources(incident)
    if kind.name not in sources:
        return RevertOutcome(False, "That version no longer exists.")
    # Only a history row of this incident's own document can be reverted to from here.
    record = sources[kind.name].filter(history_id=history_id).first()
    if record is None or record.history_type == "-":
        return RevertOutcome(False, "That version no longer exists.")
    fields = {name: getattr(record, name) for name in kind.tracked_fields}
    live = kind.model.objects.filter(pk=record.id).first()
    if live is None:
        with transaction.atomic():
            restored = record.instance
            last_version = (
                kind.model.history.filter(id=record.id).order_by("-history_id").first().version
            )
            restored.version = last_version + 1
            restored._history_user = user
            restored.save()
            publish_on_commit(restored, "created", user)
        return RevertOutcome(True, f"Restored “{kind.describe(record)}”.")
    try:
        result = block_save(
            block=live,
            changes=fields,
            base_version=live.version,
            user=user,
            fields=kind.tracked_fields,
        )
    except ValidationError as error:
        # An old version may not satisfy today's rules (a "done" item without its outcome).
        reasons = " ".join(
            message for messages in error.message_dict.values() for message in messages
        )
        return RevertOutcome(False, f"That version cannot be brought back as it is: {reasons}")
    if not result.saved:
        return RevertOutcome(False, "Someone saved this block just now; look again and retry.")
    return RevertOutcome(
        True, f"Reverted “{kind.describe(record)}” to its version {record.version}."
    )
