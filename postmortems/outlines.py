"""The two postmortem outlines, and creating a postmortem from one of them.

Full for the serious incidents (the document is read widely, business impact and aftercare
included); quick for the small ones, so that writing one is never a reason to skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from incidents.models import Incident
from postmortems.models import Postmortem, Section


@dataclass(frozen=True)
class SectionOutline:
    key: str
    title: str
    hint: str
    internal: bool = False


FULL = (
    SectionOutline(
        "summary",
        "Incident summary",
        "Two or three sentences a newcomer understands: what broke, for whom, for how long, and "
        "how it was brought back.",
    ),
    SectionOutline(
        "impact",
        "Impact",
        "Who and what was affected, measured: requests failed, users locked out, data delayed, "
        "SLOs burned.",
    ),
    SectionOutline(
        "business-impact",
        "Business impact",
        "What it meant for customers and the company: revenue, contracts, support load, trust. "
        "Written for readers outside engineering.",
    ),
    SectionOutline(
        "aftercare",
        "Aftercare",
        "What was done for the people affected: credits, messages sent, follow-up calls, data "
        "repaired.",
    ),
    SectionOutline(
        "root-cause",
        "Root cause analysis",
        "The conditions that made the failure possible. Ask what allowed it, not who did it; the "
        "causes and their whys below carry the detail.",
    ),
    SectionOutline(
        "contributing-factors",
        "Contributing factors",
        "What made it worse, slower to notice or harder to fix, without being the cause.",
    ),
    SectionOutline(
        "went-well",
        "What went well",
        "Alerts that fired, runbooks that worked, people who were reachable. Keep doing these.",
        internal=True,
    ),
    SectionOutline(
        "went-poorly",
        "What went poorly",
        "Where the response stalled: missing access, unclear ownership, noisy signals.",
        internal=True,
    ),
    SectionOutline(
        "lucky",
        "Where we got lucky",
        "What kept this from being worse by chance rather than design. Each one is a risk to fix.",
        internal=True,
    ),
    SectionOutline(
        "lessons",
        "Lessons learned",
        "What the team now knows about the system and about how it responds.",
    ),
    SectionOutline(
        "retrospective",
        "Retrospective",
        "Notes from the review meeting: agreements, open questions, dissent worth recording.",
        internal=True,
    ),
)

QUICK = (
    SectionOutline(
        "what-happened",
        "What happened",
        "A short account: what failed, who noticed, how long it lasted.",
    ),
    SectionOutline(
        "root-cause",
        "Root cause",
        "The condition that let it happen. One or two whys are often enough here.",
    ),
    SectionOutline("fix", "Fix", "What brought it back, and what will stop it coming back."),
    SectionOutline("lessons", "Lessons", "Anything the rest of the team should know."),
)

OUTLINES = {Postmortem.Template.FULL: FULL, Postmortem.Template.QUICK: QUICK}


def template_for(incident: Incident) -> str:
    if incident.severity.full_postmortem:
        return Postmortem.Template.FULL
    return Postmortem.Template.QUICK


def postmortem_due_at(incident: Incident):
    if incident.resolved_at is None:
        return None
    return incident.resolved_at + timedelta(hours=settings.HINDSIGHT_POSTMORTEM_DUE_HOURS)


def postmortem_create(*, incident: Incident, user=None) -> Postmortem:
    """Create the incident's postmortem with one empty section per line of its outline."""
    postmortem = Postmortem(
        incident=incident, template=template_for(incident), due_at=postmortem_due_at(incident)
    )
    postmortem._history_user = user
    postmortem.save()
    for position, outline in enumerate(OUTLINES[postmortem.template]):
        section = Section(
            postmortem=postmortem,
            key=outline.key,
            title=outline.title,
            hint=outline.hint,
            internal=outline.internal,
            position=position,
        )
        section._history_user = user
        section.save()
    return postmortem


def postmortem_sync_due(incident: Incident) -> None:
    """Keep the postmortem's due date in step with the time the incident was resolved."""
    postmortem = Postmortem.objects.get(incident=incident)
    due_at = postmortem_due_at(incident)
    if postmortem.due_at != due_at:
        postmortem.due_at = due_at
        postmortem.save(update_fields=["due_at"])
