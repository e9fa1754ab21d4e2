"""Every cause covered: each is addressed by an action item, or by a risk accepted on purpose.

A cause nobody acts on and nobody decided to live with is the failure the review exists to
prevent. What counts as addressing a cause is registered by the app that owns it: accepted
risks here, action items by the actions app in its `AppConfig.ready()` (it sits above this
one, so it registers rather than being imported).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from postmortems.models import Cause

# One cause → the words for each thing addressing it ("Action item: Cap the pool").
Cover = Callable[[Cause], list[str]]
_COVERS: list[Cover] = []


def register_cover(cover: Cover) -> Cover:
    if cover not in _COVERS:
        _COVERS.append(cover)
    return cover


def accepted_risks(cause: Cause) -> list[str]:
    return [
        f"Accepted risk, to look at again on {risk.revisit_on:%Y-%m-%d}"
        for risk in cause.accepted_risks.all()
    ]


@dataclass(frozen=True)
class Coverage:
    cause: Cause
    addressed_by: list[str]

    @property
    def covered(self) -> bool:
        return bool(self.addressed_by)


def cause_coverage(cause: Cause) -> Coverage:
    """What addresses `cause`; reads only prefetched rows when the document was read whole."""
    return Coverage(cause, [words for cover in _COVERS for words in cover(cause)])


def uncovered_causes(causes: list[Cause]) -> list[Cause]:
    return [cause for cause in causes if not cause_coverage(cause).covered]
