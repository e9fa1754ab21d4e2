"""The publishing workflow: draft → in review → published, and back to draft with a reason.

Publishing freezes the version stakeholders read (a Publication) and can send the summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from incidents.audit import Action, audit
from incidents.editing import incident_update
from incidents.models import Incident, TimelineEntry
from incidents.policy import is_admin
from incidents.webhooks import incident_data, webhook_event_raise
from kernel.live import document_event_on_commit
from postmortems.document import document_for_ref
from postmortems.models import Postmortem, Publication
from postmortems.publishing.checklist import missing, publish_checklist
from postmortems.publishing.reader import reader_document
from postmortems.publishing.summary import summary_queue

REASON_MAX_LENGTH = 2000


class PublishingRefused(Exception):
    """A status change that cannot happen now; the message says why, in words."""

    def __init__(self, message: str, *, missing: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.missing = missing or []


def _lock(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.select_for_update().get(pk=postmortem.pk)


def _set_status(postmortem: Postmortem, status: str, *, reason: str, user) -> None:
    """Save a status change; simple_history records it with who, when and why."""
    postmortem.status = status
    postmortem.status_reason = reason
    postmortem._history_user = user
    postmortem.full_clean()
    postmortem.save()
    # Readers of the published version hear of this, and of nothing done to the draft.
    document_event_on_commit(postmortem.incident_id, {"type": "publication", "status": status})


def postmortem_submit_for_review(*, postmortem: Postmortem, user) -> Postmortem:
    with transaction.atomic():
        locked = _lock(postmortem)
        if locked.status != Postmortem.Status.DRAFT:
            raise PublishingRefused(
                f"It is {locked.get_status_display().lower()} already; only a draft goes to review."
            )
        _set_status(locked, Postmortem.Status.IN_REVIEW, reason="", user=user)
    return locked


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise PublishingRefused(f"Keep the reason under {REASON_MAX_LENGTH} characters.")
    return reason


def postmortem_return_to_draft(*, postmortem: Postmortem, user, reason: str) -> Postmortem:
    """Back to draft from review or from published, always saying why.

    A published postmortem's links keep showing the last published version meanwhile.
    """
    reason = _clean_reason(reason)
    if not reason:
        raise PublishingRefused("Say why it goes back to draft, so the team knows what to fix.")
    with transaction.atomic():
        locked = _lock(postmortem)
        if locked.status == Postmortem.Status.DRAFT:
            raise PublishingRefused("It is a draft already.")
        _set_status(locked, Postmortem.Status.DRAFT, reason=reason, user=user)
    return locked


def _publishable_gaps(postmortem: Postmortem, document: Incident, user, override_reason: str):
    """What is missing, if publishing may go ahead anyway; PublishingRefused if it may not."""
    if postmortem.status != Postmortem.Status.IN_REVIEW:
        raise PublishingRefused(
            "Only a postmortem in review can be published. Ask for a review first."
            if postmortem.status == Postmortem.Status.DRAFT
            else "It is published already. Send it back to draft to change it."
        )
    gaps = missing(publish_checklist(document))
    if gaps and not is_admin(user):
        raise PublishingRefused("It cannot be published yet. Still missing:", missing=gaps)
    if gaps and not override_reason:
        raise PublishingRefused(
            "Still missing the items below. To publish anyway, say why.", missing=gaps
        )
    return gaps


def postmortem_publish_check(*, incident: Incident, user, override_reason: str = "") -> list[str]:
    """Whether publishing would go ahead now, before asking the person to confirm it.

    Raises PublishingRefused as publishing itself would; returns what would be missing.
    """
    override_reason = _clean_reason(override_reason)
    return _publishable_gaps(incident.postmortem, incident, user, override_reason)


def postmortem_publish(
    *, incident: Incident, user, override_reason: str = "", send_summary: bool = False
) -> Publication:
    """Publish a postmortem that is in review.

    1. Lock the postmortem, so two people pressing Publish make one publication.
    2. Refuse unless it is in review.
    3. Check it against the publish checklist. Anything missing refuses it, unless a staff
       member publishes anyway and says why; what was missing is kept with the publication.
    4. Freeze what stakeholders read as the next publication, and mark it published.
    5. If asked, queue the summary for the mailing list and the teams' Slack channels; it is
       sent after the transaction commits.
    """
    override_reason = _clean_reason(override_reason)
    with transaction.atomic():
        postmortem = _lock(incident.postmortem)
        document = document_for_ref(incident.ref)
        gaps = _publishable_gaps(postmortem, document, user, override_reason)
        number = (postmortem.publications.aggregate(top=Max("number"))["top"] or 0) + 1
        publication = Publication(
            postmortem=postmortem,
            number=number,
            published_by=user,
            content=reader_document(document, for_stakeholders=True),
            missing=gaps,
            override_reason=override_reason if gaps else "",
        )
        publication.full_clean()
        publication.save()
        detail = f"Version {number}" + (f", with gaps: {override_reason}" if gaps else ".")
        audit(user, Action.PUBLISHED, incident, detail)
        reason = f"Published with gaps: {override_reason}" if gaps else ""
        _set_status(postmortem, Postmortem.Status.PUBLISHED, reason=reason, user=user)
        webhook_event_raise(
            event="postmortem.published",
            team=incident.team,
            data={
                "incident": incident_data(incident),
                "publication": {
                    "number": number,
                    "published_at": publication.published_at.isoformat(),
                },
            },
        )
        if send_summary:
            summary_queue(publication=publication)
    return publication


def incident_resolve_at_entry(*, incident: Incident, entry_id: int, base_version: int, user):
    """Mark the incident resolved at the time of one of its Resolution entries.

    Saved like any edit of the incident's header: refused, with nothing changed, when someone
    changed the incident since the page was shown (`base_version`).
    """
    entry = incident.timeline.filter(pk=entry_id, kind=TimelineEntry.Kind.RESOLUTION).first()
    if entry is None:
        raise PublishingRefused("That Resolution entry is gone; add one with the time it ended.")
    if entry.occurred_at < incident.started_at:
        raise PublishingRefused("That entry is before the incident started; correct its time.")
    result = incident_update(
        incident,
        base_version=base_version,
        user=user,
        status=Incident.Status.RESOLVED,
        resolved_at=entry.occurred_at,
    )
    if not result.saved:
        raise PublishingRefused("Someone changed the incident meanwhile; look again and retry.")
    return result.block


def latest_publication(postmortem: Postmortem) -> Publication | None:
    return postmortem.publications.order_by("-number").first()


@dataclass(frozen=True)
class StatusChange:
    when: datetime
    who: Any
    before: str
    after: str
    reason: str


def status_changes(postmortem: Postmortem) -> list[StatusChange]:
    """Every change of status, newest first, with who made it and why, from the history."""
    labels = dict(Postmortem.Status.choices)
    records = postmortem.history.select_related("history_user").order_by("history_id")
    changes, previous = [], None
    for record in records:
        if previous is not None and record.status != previous:
            changes.append(
                StatusChange(
                    when=record.history_date,
                    who=record.history_user,
                    before=labels.get(previous, previous),
                    after=labels.get(record.status, record.status),
                    reason=record.status_reason,
                )
            )
        previous = record.status
    return changes[::-1]
