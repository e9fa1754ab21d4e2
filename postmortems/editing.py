"""Changing a postmortem's sections, causes and whys, one version at a time."""

from __future__ import annotations

from kernel.blocks import SaveResult, block_save, save_with_history
from postmortems.models import AcceptedRisk, Cause, ConflictCopy, Section, Why

SECTION_FIELDS = ("body",)
CAUSE_FIELDS = ("statement", "kind", "category")
WHY_FIELDS = ("question", "answer", "evidence")
RISK_FIELDS = ("accepted_by", "reason", "revisit_on")


def section_update(section: Section, *, base_version: int, user, **changes) -> SaveResult:
    return block_save(
        block=section, changes=changes, base_version=base_version, user=user, fields=SECTION_FIELDS
    )


def cause_update(cause: Cause, *, base_version: int, user, **changes) -> SaveResult:
    return block_save(
        block=cause, changes=changes, base_version=base_version, user=user, fields=CAUSE_FIELDS
    )


def why_update(why: Why, *, base_version: int, user, **changes) -> SaveResult:
    return block_save(
        block=why, changes=changes, base_version=base_version, user=user, fields=WHY_FIELDS
    )


def accepted_risk_update(risk: AcceptedRisk, *, base_version: int, user, **changes) -> SaveResult:
    return block_save(
        block=risk, changes=changes, base_version=base_version, user=user, fields=RISK_FIELDS
    )


def conflict_copy_keep(*, block: Section, changes: dict, base_version: int, user) -> ConflictCopy:
    """Keep the text of a section save that could not be merged, to be resolved by choice."""
    copy = ConflictCopy(
        section=block,
        author=user,
        text=changes["body"],
        base_version=base_version,
        against_version=block.version,
    )
    save_with_history(copy, user)
    return copy
