"""The history of a whole document: every change to every block, with diffs, and revert."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from actions.models import ActionItem
from incidents.models import Incident, TimelineEntry
from kernel.blocks import block_save
from kernel.kinds import BlockKind
from kernel.live import publish_on_commit
from postmortems.models import Cause, ConflictCopy, Section, Why

# The fields shown in a diff and restored by a revert, per kind of block.
TRACKED_FIELDS: dict[str, tuple[str, ...]] = {
    "incident": (
        "title",
        "severity_id",
        "status",
        "started_at",
        "detected_at",
        "mitigated_at",
        "resolved_at",
        "owner_id",
        "team_id",
        "customer_facing",
        "private",
    ),
    "section": ("body",),
    "entry": ("occurred_at", "kind", "text"),
    "cause": ("statement", "kind", "position"),
    "why": ("question", "answer", "evidence", "position"),
    "action": (
        "title",
        "owner_id",
        "team_id",
        "due_date",
        "priority",
        "kind",
        "status",
        "cause_id",
        "ticket_url",
        "wont_do_reason",
        "outcome",
        "worth_it",
        "position",
    ),
    # Kept for the record, never reverted to: a conflict copy is resolved by choice instead.
    "conflict": ("text", "resolution"),
}
KIND_MODELS: dict[str, type[models.Model]] = {
    "conflict": ConflictCopy,
    "incident": Incident,
    "section": Section,
    "entry": TimelineEntry,
    "cause": Cause,
    "why": Why,
    "action": ActionItem,
}
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
                self.names[key] = row.get_full_name() or row.get_username()
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


def history_sources(incident: Incident) -> dict[str, QuerySet]:
    """Per kind of block, the history rows that belong to this incident's document."""
    postmortem = incident.postmortem
    cause_ids = Cause.history.filter(postmortem_id=postmortem.pk).values("id")
    return {
        "incident": Incident.history.filter(id=incident.pk),
        "section": Section.history.filter(postmortem_id=postmortem.pk),
        "entry": TimelineEntry.history.filter(incident_id=incident.pk),
        "cause": Cause.history.filter(postmortem_id=postmortem.pk),
        "why": Why.history.filter(cause_id__in=cause_ids),
        "action": ActionItem.history.filter(incident_id=incident.pk),
        "conflict": ConflictCopy.history.filter(
            section_id__in=Section.objects.filter(postmortem_id=postmortem.pk).values("id")
        ),
    }


def _records(incident: Incident):
    for kind, queryset in history_sources(incident).items():
        for record in queryset.select_related("history_user").order_by("history_id"):
            yield kind, record


def _label(kind: str, record) -> str:
    if kind == "incident":
        return "Incident details"
    if kind == "section":
        return record.title
    if kind == "entry":
        return f"Timeline: {record.text[:60]}"
    if kind == "cause":
        return f"Cause: {record.statement[:60]}"
    if kind == "why":
        return f"Why: {record.question[:60]}"
    if kind == "conflict":
        return "Conflict copy (text that could not be merged)"
    return f"Action item: {record.title[:60]}"


def document_history(incident: Incident) -> list[Change]:
    """Every change to the document, newest first, each compared with the one before it."""
    previous: dict[tuple[str, int], object] = {}
    changes: list[Change] = []
    show = ValueFormatter()
    for kind, record in _records(incident):
        key = (kind, record.id)
        before = previous.get(key)
        model = KIND_MODELS[kind]
        if record.history_type == "-":
            action, names = "deleted", []
        elif record.history_type == "+" or before is None:
            action = "created"
            names = [f for f in TRACKED_FIELDS[kind] if getattr(record, f) not in (None, "")]
        else:
            action = "changed"
            names = [f for f in TRACKED_FIELDS[kind] if getattr(before, f) != getattr(record, f)]
        previous[key] = record
        if action != "deleted" and not names:
            # A save that changed nothing shown here (such as the list of responders), or an
            # empty section made with a new postmortem: nothing for a reader to see.
            continue
        fields = [
            FieldChange(
                show.label(model, name),
                show(model, name, getattr(before, name)) if action == "changed" else "",
                show(model, name, getattr(record, name)),
            )
            for name in names
        ]
        changes.append(Change(kind, record, _label(kind, record), action, fields, False))
    latest = previous
    for change in changes:
        last = latest[(change.kind, change.record.id)]
        # A row can be brought back to any state it had, and a deleted row can be restored.
        change.revertable = (
            change.kind != "conflict"
            and change.action != "deleted"
            and (change.record.history_id != last.history_id or last.history_type == "-")
        )
    changes.sort(key=lambda c: (c.when, c.record.history_id), reverse=True)
    return changes[:HISTORY_LIMIT]


@dataclass
class RevertOutcome:
    ok: bool
    message: str


def history_revert(*, incident: Incident, kind: BlockKind, history_id: int, user) -> RevertOutcome:
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
    fields = {
        name: getattr(record, name) for name in TRACKED_FIELDS[kind.name] if name != "position"
    }
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
        return RevertOutcome(True, f"Restored “{_label(kind.name, record)}”.")
    try:
        result = block_save(block=live, changes=fields, base_version=live.version, user=user)
    except ValidationError as error:
        # An old version may not satisfy today's rules (a "done" item without its outcome).
        reasons = " ".join(
            message for messages in error.message_dict.values() for message in messages
        )
        return RevertOutcome(False, f"That version cannot be brought back as it is: {reasons}")
    if not result.saved:
        return RevertOutcome(False, "Someone saved this block just now; look again and retry.")
    return RevertOutcome(
        True, f"Reverted “{_label(kind.name, record)}” to its version {record.version}."
    )
