"""Saving the blocks of a document: optimistic versions, merges, history, live events.

A block is any row people edit on the document page (a section, a timeline entry, a cause, a
why, an action item, the incident header). Each carries a `version`; a save names the version
it started from. When someone saved in between, a section's text is merged three ways (the base
is the history row at the editor's version); anything that cannot be merged cleanly overwrites
nothing and is kept as a conflict copy. Every change is announced to open pages after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from kernel.kinds import kind_of, kinds
from kernel.live import publish_on_commit
from kernel.merge import merge3


@dataclass
class SaveResult:
    block: models.Model
    saved: bool
    # The row as it is now, when the save was refused because it started from an old version.
    current: models.Model | None = None
    # True when the saved text is a merge of this save with one made in between.
    merged: bool = False
    # The kept copy of the text that could not be merged.
    conflict: models.Model | None = None

    @property
    def stale(self) -> bool:
        return self.current is not None


def save_with_history(block: models.Model, user) -> None:
    block._history_user = user
    block.full_clean()
    block.save()


def _merged_changes(
    locked: models.Model, changes: dict[str, Any], base_version: int, merge_fields: tuple
) -> dict[str, Any] | None:
    """The changes merged with what was saved since `base_version`, or None if they can't be."""
    if not merge_fields or not set(changes) <= set(merge_fields):
        return None
    # Two history rows can share a timestamp, never a version: find the base by version.
    base = (
        type(locked)
        .history.filter(id=locked.pk, version=base_version)
        .order_by("-history_id")
        .first()
    )
    if base is None:
        return None
    merged = {}
    for name, mine in changes.items():
        result = merge3(getattr(base, name), getattr(locked, name), mine)
        if not result.clean:
            return None
        merged[name] = result.text
    return merged


def block_save(
    *,
    block: models.Model,
    changes: dict[str, Any],
    base_version: int,
    user,
    fields: tuple[str, ...],
    m2m: dict[str, Iterable] | None = None,
) -> SaveResult:
    """Apply `changes` to `block`, starting from the version the editor saw.

    1. Lock the row, so two saves of one block run one after the other.
    2. If nobody saved since `base_version`, apply the changes.
    3. If someone did and every changed field is mergeable text, merge three ways; a clean
       merge is applied like any save.
    4. Otherwise change nothing: keep the editor's text as a conflict copy (for mergeable
       fields) and hand back the current row, to be shown beside it.
    5. Bump the version, validate and save; simple_history writes the history row in the same
       transaction, and the live event goes out once it commits.

    `fields` is the caller's explicit list of what it may change; anything else is a mistake in
    the caller, not in the input, and raises. Which fields merge and how a conflict is kept
    come from the block's registered kind.
    """
    unknown = set(changes) - set(fields)
    if unknown:
        raise TypeError(f"Not among the fields this save may change: {', '.join(sorted(unknown))}")
    model = type(block)
    kind = kind_of(model)
    merge_fields = kind.merge_fields if kind else ()
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=block.pk)
        merged = False
        if locked.version != base_version:
            merged_changes = _merged_changes(locked, changes, base_version, merge_fields)
            if merged_changes is None:
                conflict = None
                mergeable = bool(merge_fields) and set(changes) <= set(merge_fields)
                if kind and kind.keep_conflict and mergeable:
                    conflict = kind.keep_conflict(
                        block=locked, changes=changes, base_version=base_version, user=user
                    )
                return SaveResult(block=block, saved=False, current=locked, conflict=conflict)
            changes, merged = merged_changes, True
        if all(getattr(locked, name) == value for name, value in changes.items()) and not m2m:
            # Nothing to change (an autosave of text already saved, or a merge that adds
            # nothing): no new version, no history row, no event.
            return SaveResult(block=locked, saved=True, merged=merged)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.version += 1
        save_with_history(locked, user)
        for name, values in (m2m or {}).items():
            getattr(locked, name).set(values)
        publish_on_commit(locked, "saved", user, merged=merged)
    return SaveResult(block=locked, saved=True, merged=merged)


def block_create(*, block: models.Model, user) -> models.Model:
    with transaction.atomic():
        save_with_history(block, user)
        publish_on_commit(block, "created", user)
    return block


def block_delete(*, block: models.Model, base_version: int, user) -> SaveResult:
    """Delete a block, unless someone changed it since the person deleting it last saw it."""
    model = type(block)
    with transaction.atomic():
        locked = model.objects.select_for_update().filter(pk=block.pk).first()
        if locked is None:
            return SaveResult(block=block, saved=True)
        if locked.version != base_version:
            return SaveResult(block=block, saved=False, current=locked)
        publish_on_commit(locked, "deleted", user)
        # The blocks listed inside this one (whys in their cause) go with it; delete them one
        # by one first so their history rows name the person too, not nobody.
        for child_kind in kinds():
            if child_kind.parent == kind_of(locked).name:
                children = child_kind.model.objects.filter(**{child_kind.parent_field: locked.pk})
                for child in children:
                    child._history_user = user
                    child.delete()
        locked._history_user = user
        locked.delete()
    return SaveResult(block=block, saved=True)


def block_move(*, block: models.Model, siblings: models.QuerySet, offset: int, user) -> bool:
    """Move a block up (offset -1) or down (+1) among its siblings; False at either end.

    Positions are renumbered 0..n on the way, so rows that shared a position sort cleanly
    from then on. Every row whose position changes gets a new version and a history row.
    """
    with transaction.atomic():
        rows = list(siblings.select_for_update().order_by("position", "id"))
        index = next(i for i, row in enumerate(rows) if row.pk == block.pk)
        target = index + offset
        if not 0 <= target < len(rows):
            return False
        rows[index], rows[target] = rows[target], rows[index]
        for position, row in enumerate(rows):
            if row.position != position:
                row.position = position
                row.version += 1
                save_with_history(row, user)
        publish_on_commit(block, "moved", user)
    return True


def updater(fields: tuple[str, ...]):
    """A kind's versioned-save service for a block with nothing to it but these fields."""

    def update(block: models.Model, *, base_version: int, user, **changes) -> SaveResult:
        return block_save(
            block=block, changes=changes, base_version=base_version, user=user, fields=fields
        )

    return update
