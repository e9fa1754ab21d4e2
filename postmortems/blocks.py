"""Saving the blocks of a document: optimistic versions, history, never a silent overwrite.

A block is any row people edit on the document page (a section, a timeline entry, a cause, a
why, an action item, the incident header). Each carries a `version`; a save names the version
it started from and is refused when someone else saved in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction


@dataclass
class SaveResult:
    block: models.Model
    saved: bool
    # The row as it is now, when the save was refused because it started from an old version.
    current: models.Model | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def stale(self) -> bool:
        return self.current is not None


def _save_with_history(block: models.Model, user) -> None:
    block._history_user = user
    block.full_clean()
    block.save()


def block_save(
    *,
    block: models.Model,
    changes: dict[str, Any],
    base_version: int,
    user,
    m2m: dict[str, Iterable] | None = None,
) -> SaveResult:
    """Apply `changes` to `block` if nobody saved it since `base_version`.

    1. Lock the row, so two saves of one block run one after the other.
    2. If its version is not the one the editor started from, change nothing and hand back
       the current row, for the editor to see beside their own text.
    3. Otherwise apply the changes, bump the version, validate and save; simple_history writes
       the history row in the same transaction.
    """
    model = type(block)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=block.pk)
        if locked.version != base_version:
            return SaveResult(block=block, saved=False, current=locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.version = base_version + 1
        _save_with_history(locked, user)
        for name, values in (m2m or {}).items():
            getattr(locked, name).set(values)
    return SaveResult(block=locked, saved=True)


def block_create(*, block: models.Model, user) -> models.Model:
    with transaction.atomic():
        _save_with_history(block, user)
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
                _save_with_history(row, user)
    return True
