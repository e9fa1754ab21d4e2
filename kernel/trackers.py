"""The ticket trackers Hindsight can file action items in: one small class per tracker.

An app registers each tracker with `register_tracker(...)` in `AppConfig.ready()`; the pages,
the one-click "Create the ticket" and the trackers' webhooks all look trackers up here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class TrackerError(Exception):
    """A tracker call that did not work, said in words a person can act on."""


@dataclass(frozen=True)
class TrackerAccount:
    """Where and as whom to call a tracker: read from a team's connection at call time."""

    base_url: str
    project: str
    token: str
    username: str = ""


@dataclass(frozen=True)
class TicketDraft:
    title: str
    body: str
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FiledTicket:
    key: str
    url: str


@dataclass(frozen=True)
class TicketChange:
    """What a tracker's webhook says happened to one ticket: it was closed, or reopened."""

    key: str
    url: str
    closed: bool


class Tracker(Protocol):
    name: str
    label: str
    # What `project` means for this tracker, for the connection form.
    project_help: str
    default_base_url: str

    def create(self, account: TrackerAccount, draft: TicketDraft) -> FiledTicket:
        """File the ticket or raise TrackerError saying why not."""

    def signature_valid(
        self, *, secret: str, headers: Mapping[str, str], query: Mapping[str, str], body: bytes
    ) -> bool:
        """Whether a webhook call comes from the tracker, by the tracker's own scheme."""

    def change(self, payload: dict, *, base_url: str) -> TicketChange | None:
        """The ticket closed or reopened, or None for a call about anything else."""


_trackers: dict[str, Tracker] = {}


def register_tracker(tracker: Tracker) -> None:
    _trackers[tracker.name] = tracker


def tracker(name: str) -> Tracker | None:
    return _trackers.get(name)


def trackers() -> list[Tracker]:
    return list(_trackers.values())
