"""The publish checklist: what a postmortem must have before it goes out, per its outline."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import Incident, TimelineEntry
from kernel.text import shorten
from postmortems.blameless import BlockNotes, document_notes, open_count
from postmortems.coverage import uncovered_causes
from postmortems.models import Postmortem
from postmortems.publishing.reader import ROOT_CAUSE_KEY


@dataclass(frozen=True)
class Check:
    need: str  # what a publishable postmortem has, in words
    done: bool
    todo: str  # what to do when it is missing


def _written(sections: dict, key: str) -> bool:
    section = sections.get(key)
    return section is not None and bool(section.body.strip())


def _section_title(sections: dict, key: str, fallback: str) -> str:
    section = sections.get(key)
    return section.title if section is not None else fallback


def _has_entry(incident: Incident, kind: str) -> bool:
    return any(entry.kind == kind for entry in incident.timeline.all())


def _owned_and_dated(item) -> bool:
    return item.owner_id is not None and item.due_date is not None


def _resolved(incident: Incident) -> Check:
    # The published version is frozen: published while still open, it would say "Resolved —"
    # and a duration of nothing for good.
    return Check(
        "The incident is marked resolved, with the time it was resolved",
        not incident.is_active and incident.resolved_at is not None,
        f"The incident is still “{incident.get_status_display()}”. Set its status to Resolved "
        "and its resolved time (a Resolution timeline entry offers to), so readers see how "
        "long it lasted."
        if incident.is_active or incident.resolved_at is None
        else "",
    )


def _every_cause_covered(causes: list) -> Check:
    uncovered = uncovered_causes(causes)
    named = "; ".join(f"“{shorten(cause.statement, 80)}”" for cause in uncovered)
    return Check(
        "Every cause addressed by an action item or an accepted risk",
        not uncovered,
        f"File an action item for each of these causes, or accept its risk on purpose "
        f"(who accepts it, why, when to look again): {named}."
        if uncovered
        else "",
    )


def resolution_offer(incident: Incident) -> TimelineEntry | None:
    """The Resolution entry whose time could mark the incident resolved, while it is not.

    `incident` should come from document_for_ref; the latest Resolution entry counts.
    """
    if not incident.is_active and incident.resolved_at is not None:
        return None
    entries = [e for e in incident.timeline.all() if e.kind == TimelineEntry.Kind.RESOLUTION]
    return max(entries, key=lambda entry: entry.occurred_at) if entries else None


def _wording(found: list[BlockNotes]) -> Check:
    count = open_count(found)
    return Check(
        "No open notes on blaming words",
        count == 0,
        f"{count} note{'s' if count != 1 else ''} on wording "
        f"{'are' if count != 1 else 'is'} open (names in the analysis, “human error”, "
        "“should have known” ...): reword the text, or acknowledge each note below.",
    )


def publish_checklist(incident: Incident, wording: list[BlockNotes] | None = None) -> list[Check]:
    """What the postmortem must have before it goes out, per its outline.

    Both need the incident marked resolved with its resolved time, since the published version
    is frozen with it.
    Full (SEV1–SEV2): a summary, the impact, a timeline with when it was detected and when it
    was resolved, at least one cause whose whys were answered, and at least one action item
    with an owner and a due date.
    Quick (SEV3–SEV4): what happened, the root cause (in the section or as a cause), what fixed
    it, and an owner and due date on any action item filed. A small incident may need none.
    Both: every cause stated is addressed by an action item or an accepted risk, and every
    note on wording that blames is reworded or acknowledged.
    `incident` should come from document_for_ref, so that nothing here queries again;
    `wording` is its document_notes when the caller has them already.
    """
    wording_check = _wording(document_notes(incident) if wording is None else wording)
    postmortem = incident.postmortem
    sections = {section.key: section for section in postmortem.sections.all()}
    causes = list(postmortem.causes.all())
    actions = list(incident.action_items.all())
    if postmortem.template == Postmortem.Template.QUICK:
        unowned = [item for item in actions if not _owned_and_dated(item)]
        return [
            _resolved(incident),
            Check(
                "A short account of what happened",
                _written(sections, "what-happened"),
                f"Write “{_section_title(sections, 'what-happened', 'What happened')}”: what "
                "failed, who noticed, how long it lasted.",
            ),
            Check(
                "The root cause",
                _written(sections, ROOT_CAUSE_KEY) or bool(causes),
                "State the root cause, in its section or as a cause with its whys.",
            ),
            Check(
                "What fixed it",
                _written(sections, "fix"),
                f"Write “{_section_title(sections, 'fix', 'Fix')}”: what brought the service "
                "back, and what stops it coming back.",
            ),
            Check(
                "An owner and a due date on every action item",
                not unowned,
                f"Give {len(unowned)} action item{'s' if len(unowned) != 1 else ''} an owner "
                "and a due date.",
            ),
            _every_cause_covered(causes),
            wording_check,
        ]
    answered = [cause for cause in causes if any(why.answer.strip() for why in cause.whys.all())]
    return [
        _resolved(incident),
        Check(
            "A summary",
            _written(sections, "summary"),
            f"Write “{_section_title(sections, 'summary', 'Incident summary')}”: what broke, "
            "for whom, for how long, and how it was brought back.",
        ),
        Check(
            "The impact",
            _written(sections, "impact"),
            f"Write “{_section_title(sections, 'impact', 'Impact')}”: who and what was "
            "affected, with numbers.",
        ),
        Check(
            "A timeline entry for when it was detected",
            _has_entry(incident, TimelineEntry.Kind.DETECTION),
            "Add a timeline entry of the kind Detection: when and how the problem was noticed.",
        ),
        Check(
            "A timeline entry for when it was resolved",
            _has_entry(incident, TimelineEntry.Kind.RESOLUTION),
            "Add a timeline entry of the kind Resolution: when the service was fully back.",
        ),
        Check(
            "At least one cause with its whys answered",
            bool(answered),
            "Add a cause and answer its whys until you reach something the team can change."
            if not causes
            else "Answer at least one why of a cause.",
        ),
        Check(
            "At least one action item with an owner and a due date",
            any(_owned_and_dated(item) for item in actions),
            "File an action item and give it an owner and a due date."
            if not actions
            else "Give at least one action item both an owner and a due date.",
        ),
        _every_cause_covered(causes),
        wording_check,
    ]


def missing(checks: list[Check]) -> list[str]:
    return [check.todo for check in checks if not check.done]
