"""The version readers see: the postmortem in the order a reader outside the team wants it."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from incidents.models import Incident

# Readers outside engineering want these first: what happened, what it cost, what was done
# for the people affected. The timeline and the analysis follow.
LEAD_SECTION_KEYS = ("summary", "what-happened", "business-impact", "impact", "aftercare")
ROOT_CAUSE_KEY = "root-cause"


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _images(block) -> list[dict]:
    return [
        {
            "id": image.pk,
            "caption": image.caption,
            "width": image.width,
            "height": image.height,
            "file": f"{image.pk}.{image.extension}",
        }
        for image in block.images.all()
    ]


def _section(section) -> dict:
    return {
        "key": section.key,
        "title": section.title,
        "body": section.body,
        "internal": section.internal,
        "images": _images(section),
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
                        # Evidence stays with the team, and the images of it with it.
                        "images": [] if for_stakeholders else _images(why),
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
                "images": _images(entry),
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


def image_holders(document: dict) -> list[dict]:
    """The parts of a reader document that can hold images: sections, entries, whys."""
    holders = list(document.get("lead_sections", [])) + list(document.get("more_sections", []))
    if document.get("root_cause"):
        holders.append(document["root_cause"])
    holders += list(document.get("timeline", []))
    holders += [why for cause in document.get("causes", []) for why in cause.get("whys", [])]
    return holders


def with_image_sources(document: dict, source) -> dict:
    """A copy of `document` whose images each carry `src`, as `source(image)` gives it."""
    copied = copy.deepcopy(document)
    for holder in image_holders(copied):
        for image in holder.get("images", []):
            image["src"] = source(image)
    return copied
