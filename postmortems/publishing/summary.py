"""The summary of a published postmortem, sent widely by e-mail and to the teams' Slack.

It goes out through the delivery engine as the topic "summary", one Delivery per place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string

from incidents.models import Incident, Team
from incidents.slack import slack_address
from kernel import delivery as engine
from kernel.channels import one_line, slack_escape
from kernel.markdown import render_markdown
from kernel.models import Delivery
from kernel.templatetags.blocks import duration
from postmortems.models import Publication
from postmortems.publishing.reader import reader_document_for_display

TOPIC = "summary"


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
        subject=one_line(subject),
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


def summary_queue(*, publication: Publication) -> list[Delivery]:
    """One delivery per destination; each is sent by a worker once the transaction commits."""
    emails, teams = summary_targets(publication.postmortem.incident)
    deliveries = []
    if emails:
        deliveries.append(
            Delivery(
                topic=TOPIC, subject_id=publication.pk, channel="email", address={"to": emails}
            )
        )
    deliveries += [
        Delivery(topic=TOPIC, subject_id=publication.pk, channel="slack", address=slack_address(t))
        for t in teams
    ]
    return engine.queue(deliveries)


def summary_deliveries(publications: list[Publication]) -> dict[int, list[Delivery]]:
    """The summary deliveries of these publications, by publication id: one query."""
    found: dict[int, list[Delivery]] = {publication.pk: [] for publication in publications}
    rows = Delivery.objects.filter(topic=TOPIC, subject_id__in=found).order_by("pk")
    for delivery in rows:
        found[delivery.subject_id].append(delivery)
    return found


def _compose(delivery: Delivery, publications: dict[int, Publication]) -> engine.Message:
    publication = publications.get(delivery.subject_id)
    if publication is None:
        raise engine.ChannelError("the publication no longer exists", retryable=False)
    summary = summary_for(publication)
    return engine.Message(
        subject=summary.subject,
        text=summary.text,
        html=summary.html,
        slack=summary.slack,
        data={"ref": publication.content["ref"], "publication": publication.number},
    )


SUMMARY_TOPIC = engine.Topic(
    name=TOPIC,
    label="Published postmortem summary",
    compose=_compose,
    prepare=lambda deliveries: Publication.objects.in_bulk({d.subject_id for d in deliveries}),
)
