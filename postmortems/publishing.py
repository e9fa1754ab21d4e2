"""Publishing a postmortem: review, the publish checklist, and what goes out to readers.

The workflow is draft → in review → published, and back to draft with a reason. Publishing
freezes the version stakeholders read (a Publication) and can send a short summary to the
engineering mailing list and to the Slack channels of the teams involved: the findings are
meant to be read widely.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Max
from django.template.loader import render_to_string
from django.utils import timezone

from hindsight.channels import ChannelError, post_slack, send_email, slack_escape
from incidents.models import Incident, Team, TimelineEntry
from postmortems.document import document_for_ref
from postmortems.markdown import render_markdown
from postmortems.models import Postmortem, Publication, SummaryDelivery
from postmortems.templatetags.document import duration

logger = logging.getLogger(__name__)

# Readers outside engineering want these first: what happened, what it cost, what was done
# for the people affected. The timeline and the analysis follow.
LEAD_SECTION_KEYS = ("summary", "what-happened", "business-impact", "impact", "aftercare")
ROOT_CAUSE_KEY = "root-cause"
REASON_MAX_LENGTH = 2000
SUMMARY_ATTEMPTS = 3


# --- Who may publish -------------------------------------------------------------------------


def can_manage(user, incident: Incident) -> bool:
    """Publishing and sharing outside the team are for the people on the incident, and staff."""
    if not user.is_authenticated:
        return False
    if user.is_staff or incident.owner_id == user.pk:
        return True
    if incident.responders.filter(pk=user.pk).exists():
        return True
    team = incident.team
    return team is not None and (
        team.lead_id == user.pk or team.members.filter(pk=user.pk).exists()
    )


# --- The publish checklist -------------------------------------------------------------------


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


def publish_checklist(incident: Incident) -> list[Check]:
    """What the postmortem must have before it goes out, per its outline.

    Full (SEV1–SEV2): a summary, the impact, a timeline with when it was detected and when it
    was resolved, at least one cause whose whys were answered, and at least one action item
    with an owner and a due date.
    Quick (SEV3–SEV4): what happened, the root cause (in the section or as a cause), what fixed
    it, and an owner and due date on any action item filed. A small incident may need none.
    `incident` should come from document_for_ref, so that nothing here queries again.
    """
    postmortem = incident.postmortem
    sections = {section.key: section for section in postmortem.sections.all()}
    causes = list(postmortem.causes.all())
    actions = list(incident.action_items.all())
    if postmortem.template == Postmortem.Template.QUICK:
        unowned = [item for item in actions if not _owned_and_dated(item)]
        return [
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
        ]
    answered = [cause for cause in causes if any(why.answer.strip() for why in cause.whys.all())]
    return [
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
    ]


def missing(checks: list[Check]) -> list[str]:
    return [check.todo for check in checks if not check.done]


# --- The version readers see ------------------------------------------------------------------


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _section(section) -> dict:
    return {
        "key": section.key,
        "title": section.title,
        "body": section.body,
        "internal": section.internal,
    }


def reader_document(incident: Incident, *, for_stakeholders: bool) -> dict[str, Any]:
    """The postmortem as a reader gets it, in the order a reader outside the team wants it.

    For stakeholders: sections marked internal and empty sections are left out, and so is the
    evidence behind each why (mostly links into internal tools) and who wrote each timeline
    entry. For the team (the exports): everything, internal sections marked as such.
    `incident` should come from document_for_ref. The result is plain data that can be stored
    as JSON and rendered later.
    """
    postmortem = incident.postmortem
    sections = [
        section
        for section in postmortem.sections.all()
        if not for_stakeholders or (not section.internal and section.body.strip())
    ]
    by_key = {section.key: section for section in sections}
    lead = [by_key[key] for key in LEAD_SECTION_KEYS if key in by_key]
    root_cause = by_key.get(ROOT_CAUSE_KEY)
    more = [s for s in sections if s not in lead and s is not root_cause]
    root_cause_internal = any(
        s.key == ROOT_CAUSE_KEY and s.internal for s in postmortem.sections.all()
    )
    causes = [] if for_stakeholders and root_cause_internal else list(postmortem.causes.all())
    return {
        "ref": incident.ref,
        "title": incident.title,
        "severity": {
            "level": incident.severity.level,
            "name": incident.severity.name,
            "meaning": incident.severity.meaning,
        },
        "status": incident.get_status_display(),
        "customer_facing": incident.customer_facing,
        "started_at": incident.started_at,
        "detected_at": incident.detected_at,
        "acknowledged_at": incident.acknowledged_at,
        "escalated_at": incident.escalated_at,
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "owner": _name(incident.owner),
        "team": incident.team.name if incident.team else "",
        "services": [service.name for service in incident.services.all()],
        "responders": [_name(person) for person in incident.responders.all()],
        "lead_sections": [_section(s) for s in lead],
        "root_cause": _section(root_cause) if root_cause else None,
        "causes": [
            {
                "kind": cause.kind,
                "kind_label": cause.get_kind_display(),
                "statement": cause.statement,
                "whys": [
                    {
                        "question": why.question,
                        "answer": why.answer,
                        "evidence": "" if for_stakeholders else why.evidence,
                    }
                    for why in cause.whys.all()
                ],
            }
            for cause in causes
        ],
        "more_sections": [_section(s) for s in more],
        "timeline": [
            {
                "occurred_at": entry.occurred_at,
                "kind": entry.kind,
                "kind_label": entry.get_kind_display(),
                "text": entry.text,
                "added_by": "" if for_stakeholders else _name(entry.added_by),
            }
            for entry in incident.timeline.all()
        ],
        "action_items": [
            {
                "id": item.pk,
                "title": item.title,
                "kind_label": item.get_kind_display(),
                "owner": _name(item.owner),
                "due_date": item.due_date,
                "status": item.status,
                "status_label": item.get_status_display(),
            }
            for item in incident.action_items.all()
        ],
    }


def reader_document_fingerprint(document: dict) -> str:
    """Changes whenever anything a reader sees changes; a polling page compares it."""
    encoded = json.dumps(document, cls=DjangoJSONEncoder, sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


_DATETIME_KEYS = {
    "started_at",
    "detected_at",
    "acknowledged_at",
    "escalated_at",
    "mitigated_at",
    "resolved_at",
    "occurred_at",
}


def _revive(value, key: str = ""):
    if isinstance(value, dict):
        return {k: _revive(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(item, key) for item in value]
    if isinstance(value, str) and value:
        if key in _DATETIME_KEYS:
            return datetime.fromisoformat(value)
        if key == "due_date":
            return date.fromisoformat(value)
    return value


def reader_document_for_display(document: dict) -> dict:
    """Times and dates back as objects (from stored JSON), and the spans derived from them."""
    revived = _revive(document)
    started, resolved = revived["started_at"], revived["resolved_at"]
    revived["duration"] = resolved - started if started and resolved else None
    detected = revived["detected_at"]
    revived["time_to_detect"] = detected - started if started and detected else None
    return revived


# --- Status changes ---------------------------------------------------------------------------


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
        if postmortem.status != Postmortem.Status.IN_REVIEW:
            raise PublishingRefused(
                "Only a postmortem in review can be published. Ask for a review first."
                if postmortem.status == Postmortem.Status.DRAFT
                else "It is published already. Send it back to draft to change it."
            )
        document = document_for_ref(incident.ref)
        gaps = missing(publish_checklist(document))
        if gaps and not user.is_staff:
            raise PublishingRefused("It cannot be published yet. Still missing:", missing=gaps)
        if gaps and not override_reason:
            raise PublishingRefused(
                "Still missing the items below. To publish anyway, say why.", missing=gaps
            )
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
        reason = f"Published with gaps: {override_reason}" if gaps else ""
        _set_status(postmortem, Postmortem.Status.PUBLISHED, reason=reason, user=user)
        if send_summary:
            summary_queue(publication=publication)
    return publication


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


# --- The summary sent out widely ----------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    subject: str
    text: str
    html: str
    slack: dict


def _first_paragraph(markdown: str, limit: int = 320) -> str:
    paragraph = next((p.strip() for p in re.split(r"\n\s*\n", markdown or "") if p.strip()), "")
    paragraph = " ".join(paragraph.split())
    if len(paragraph) <= limit:
        return paragraph
    cut = paragraph[:limit]
    sentence_end = cut.rfind(". ")
    return cut[: sentence_end + 1] if sentence_end > limit // 3 else cut.rstrip() + "…"


def root_cause_in_brief(document: dict) -> str:
    """The root cause in a sentence or two: the primary cause, else the section's opening."""
    causes = document.get("causes") or []
    primary = [cause for cause in causes if cause["kind"] == "primary"] or causes
    if primary:
        return _first_paragraph(primary[0]["statement"])
    root_cause = document.get("root_cause")
    return _first_paragraph(root_cause["body"]) if root_cause else ""


def _impact(document: dict) -> str:
    sections = {s["key"]: s for s in document["lead_sections"] + document["more_sections"]}
    for key in ("impact", "business-impact", "what-happened", "summary"):
        if key in sections and sections[key]["body"].strip():
            return sections[key]["body"].strip()
    return ""


def _document_url(ref: str) -> str:
    base = settings.HINDSIGHT_BASE_URL.rstrip("/")
    return f"{base}/incidents/{ref}/" if base else ""


def _slack_payload(context: dict) -> dict:
    doc = context["document"]
    lines = [
        f"*Postmortem published: {slack_escape(doc['ref'])} {slack_escape(doc['title'])}*",
        f"{doc['severity']['name']} · lasted {context['duration_text']}",
    ]
    if context["root_cause"]:
        lines.append(f"*Root cause:* {slack_escape(context['root_cause'])}")
    impact = _first_paragraph(context["impact"], limit=600)
    if impact:
        lines.append(f"*Impact:* {slack_escape(impact)}")
    if doc["action_items"]:
        lines.append("*Action items:*")
        lines += [
            f"• {slack_escape(item['title'])} — {slack_escape(item['owner'] or 'no owner yet')}"
            + (f", due {item['due_date']:%Y-%m-%d}" if item["due_date"] else "")
            for item in doc["action_items"]
        ]
    if context["url"]:
        lines.append(f"<{context['url']}|Read the postmortem>")
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def summary_for(publication: Publication) -> Summary:
    """Title, severity, duration, impact, the root cause in brief, action items and owners."""
    document = reader_document_for_display(publication.content)
    context = {
        "publication": publication,
        "document": document,
        "duration_text": duration(document["duration"]),
        "impact": _impact(document),
        "root_cause": root_cause_in_brief(document),
        "url": _document_url(document["ref"]),
    }
    context["impact_html"] = render_markdown(context["impact"])
    subject = f"Postmortem: {document['ref']} {document['severity']['name']} {document['title']}"
    return Summary(
        subject=subject,
        text=render_to_string("postmortems/publish_summary.txt", context),
        html=render_to_string("postmortems/publish_summary.html", context),
        slack=_slack_payload(context),
    )


def summary_targets(incident: Incident) -> tuple[list[str], list[Team]]:
    """The mailing list from the settings, and the teams involved that have a Slack webhook."""
    teams = {service.team for service in incident.services.select_related("team")}
    if incident.team is not None:
        teams.add(incident.team)
    with_slack = sorted((team for team in teams if team.slack_webhook_url), key=lambda t: t.name)
    return list(settings.HINDSIGHT_SUMMARY_EMAILS), with_slack


def summary_queue(*, publication: Publication) -> list[SummaryDelivery]:
    """One delivery row per destination; each is sent by a task once the transaction commits."""
    from postmortems.tasks import deliver_summary

    emails, teams = summary_targets(publication.postmortem.incident)
    deliveries = []
    if emails:
        deliveries.append(
            SummaryDelivery(
                publication=publication, channel=SummaryDelivery.Channel.EMAIL, recipients=emails
            )
        )
    deliveries += [
        SummaryDelivery(publication=publication, channel=SummaryDelivery.Channel.SLACK, team=team)
        for team in teams
    ]
    for delivery in deliveries:
        delivery.save()
        deliver_summary.delay_on_commit(delivery.pk)
    return deliveries


def summary_deliver(delivery_id: int) -> SummaryDelivery | None:
    """Send one delivery, at most once at a time.

    1. Claim it: move it from waiting to sending with a conditional UPDATE. If no row changed,
       another worker has it or it was sent already: do nothing.
    2. Send through the channel.
    3. Record the outcome. A failure that retrying may cure goes back to waiting (the task
       retries it) until the attempts run out; any other failure is final.
    """
    claimed = SummaryDelivery.objects.filter(
        pk=delivery_id, status=SummaryDelivery.Status.PENDING
    ).update(status=SummaryDelivery.Status.SENDING, attempts=F("attempts") + 1)
    if claimed != 1:
        return None
    delivery = SummaryDelivery.objects.select_related(
        "publication__postmortem__incident", "team"
    ).get(pk=delivery_id)
    summary = summary_for(delivery.publication)
    try:
        if delivery.channel == SummaryDelivery.Channel.EMAIL:
            send_email(
                to=delivery.recipients,
                subject=summary.subject,
                text=summary.text,
                html=summary.html,
            )
        else:
            if delivery.team is None or not delivery.team.slack_webhook_url:
                raise ChannelError("the team no longer has a Slack webhook", retryable=False)
            post_slack(webhook_url=delivery.team.slack_webhook_url, payload=summary.slack)
    except ChannelError as error:
        again = error.retryable and delivery.attempts < SUMMARY_ATTEMPTS
        delivery.status = SummaryDelivery.Status.PENDING if again else SummaryDelivery.Status.FAILED
        delivery.error = str(error)
        delivery.save(update_fields=["status", "error"])
        logger.warning(
            "Summary delivery %s failed (%s): %s",
            delivery.pk,
            "will retry" if again else "final",
            error,
        )
        return delivery
    delivery.status = SummaryDelivery.Status.SENT
    delivery.error = ""
    delivery.sent_at = timezone.now()
    delivery.save(update_fields=["status", "error", "sent_at"])
    return delivery
