"""Read-only links for stakeholders without an account: a customer, the executives, support.

A link opens one postmortem and nothing else. Its token carries 256 bits of randomness and
only its SHA-256 hash is stored, so the full link is shown once, when it is made; a lost link is
replaced by a new one. A revoked or expired link stops working at once, open pages included:
they poll for changes and are told the link is gone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from incidents.audit import Action, audit
from kernel.live import document_event_on_commit
from postmortems.document import document_for_ref
from postmortems.models import Postmortem, Publication, ShareLink
from postmortems.publishing.reader import (
    reader_document,
    reader_document_fingerprint,
    reader_document_for_display,
)
from postmortems.publishing.workflow import latest_publication

TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters; anything unlike a token is refused before hashing.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_link_create(
    *,
    postmortem: Postmortem,
    label: str,
    user,
    expires_at: datetime | None = None,
    hide_names: bool = False,
    share_draft: bool = False,
    kind: str = ShareLink.Kind.POSTMORTEM,
) -> tuple[ShareLink, str]:
    """Make a link and hand back its token; the token is not stored and cannot be shown again."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink(
        postmortem=postmortem,
        label=label,
        token_hash=token_digest(token),
        expires_at=expires_at,
        hide_names=hide_names,
        share_draft=share_draft,
        kind=kind,
        created_by=user,
    )
    link.full_clean()
    link.save()
    shows = "the working draft" if share_draft else "the published version"
    names = ", names hidden" if hide_names else ""
    until = f"expires {expires_at:%Y-%m-%d %H:%M}" if expires_at else "never expires"
    audit(user, Action.SHARE_LINK_MADE, postmortem.incident, f"“{label}”: {shows}{names}, {until}.")
    return link, token


def share_link_revoke(*, link: ShareLink, user) -> bool:
    """Revoke a link; False when it was revoked already (by someone else, perhaps)."""
    with transaction.atomic():
        revoked = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=user
        )
        if revoked:
            audit(user, Action.SHARE_LINK_REVOKED, link.postmortem.incident, f"“{link.label}”.")
            # Open reader pages check their link again on any event: this one closes them.
            document_event_on_commit(
                link.postmortem.incident_id, {"type": "share-link", "action": "revoked"}
            )
    return revoked == 1


def share_link_for_token(token: str) -> ShareLink | None:
    """The usable link for a token: None when it is unknown, revoked or expired.

    Every way in through a link (its page, its content refresh, its event stream) asks this
    first, so a revoked link stops working everywhere at the same moment.
    """
    if not isinstance(token, str) or not TOKEN_SHAPE.match(token):
        return None
    return (
        ShareLink.objects.select_related("postmortem__incident")
        .filter(token_hash=token_digest(token), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )


def share_link_record_view(link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk).update(
        view_count=F("view_count") + 1, last_viewed_at=timezone.now()
    )


def share_links_for(postmortem: Postmortem) -> list[ShareLink]:
    return list(postmortem.share_links.select_related("created_by", "revoked_by"))


@dataclass(frozen=True)
class StakeholderView:
    """What a link's page shows."""

    link: ShareLink
    document: dict | None  # None while nothing has been published
    draft: bool  # the working draft, not a published version
    publication: Publication | None
    revising: bool  # published before, and back in the team's hands now
    fingerprint: str
    # A live-updates link: the incident's state and its stakeholder updates, newest first.
    live: dict | None = None


def people_by_role(incident) -> list[tuple[object, str]]:
    """Everyone on the incident with the role a reader is told instead of their name."""
    roles: dict[int, tuple[object, str]] = {}
    if incident.owner is not None:
        roles[incident.owner.pk] = (incident.owner, "the incident owner")
    if incident.team is not None and incident.team.lead is not None:
        roles.setdefault(incident.team.lead.pk, (incident.team.lead, "the team lead"))
    responders = [p for p in incident.responders.order_by("pk") if p.pk not in roles]
    for number, person in enumerate(responders, start=1):
        roles[person.pk] = (person, f"responder {number}")
    others = [item.owner for item in incident.action_items.select_related("owner")]
    others += [entry.added_by for entry in incident.timeline.select_related("added_by")]
    for person in others:
        if person is not None and person.pk not in roles:
            roles[person.pk] = (person, "a colleague")
    return list(roles.values())


# Short first or last names ("Al", "Bo") would match too many ordinary words.
SHORTEST_NAME_PART = 3


def name_replacer(people: list[tuple[object, str]]):
    """A function that turns every name of these people in a text into their role."""
    spellings: dict[str, str] = {}
    for person, role in people:
        full = person.get_full_name().strip()
        for spelling in (full, person.get_username(), person.first_name, person.last_name):
            spelling = (spelling or "").strip()
            if len(spelling) >= SHORTEST_NAME_PART or spelling == full and spelling:
                spellings.setdefault(spelling.casefold(), role)
    if not spellings:
        return lambda text: text
    # Longest first, so "Marcus Webb" becomes one role, not "responder 1 Webb".
    alternatives = sorted(spellings, key=len, reverse=True)
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(a) for a in alternatives) + r")(?!\w)", re.IGNORECASE
    )

    def replace(text: str) -> str:
        return pattern.sub(lambda match: spellings[match.group(0).casefold()], text)

    return replace


# Keys of a reader document that are not written text: left as they are.
_NOT_TEXT = {"ref", "key", "kind", "kind_label", "status", "status_label", "severity"}


def _replace_names(value, replace, key: str = ""):
    if key in _NOT_TEXT:
        return value
    if isinstance(value, dict):
        return {k: _replace_names(v, replace, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_names(item, replace, key) for item in value]
    if isinstance(value, str):
        return replace(value)
    return value


def _without_names(document: dict, people: list[tuple[object, str]]) -> dict:
    """No one's name anywhere: the name fields emptied, and every name of someone on the
    incident typed into the text (sections, timeline, causes, items) turned into their role."""
    document = _replace_names(document, name_replacer(people))
    return {
        **document,
        "owner": "",
        "responders": [],
        "action_items": [{**item, "owner": ""} for item in document["action_items"]],
    }


def _with_live_action_status(document: dict, postmortem: Postmortem) -> dict:
    """The published action items, each with its status as it is today.

    Readers follow the follow-up work long after publishing, so its progress is the one thing
    not frozen at publish time. An item deleted since keeps the status it was published with.
    """
    from actions.models import ActionItem

    items = document["action_items"]
    current = dict(
        ActionItem.objects.filter(
            incident_id=postmortem.incident_id, pk__in=[item["id"] for item in items]
        ).values_list("pk", "status")
    )
    labels = dict(ActionItem.Status.choices)
    updated = []
    for item in items:
        status = current.get(item["id"], item["status"])
        updated.append({**item, "status": status, "status_label": labels.get(status, status)})
    return {**document, "action_items": updated}


def _live_updates(postmortem: Postmortem) -> dict:
    """What a live-updates link shows of an incident: its state and its stakeholder updates.

    Nothing else of the draft: no names, no timeline, no internal updates.
    """
    from incidents.models import StatusUpdate

    incident = postmortem.incident
    updates = StatusUpdate.objects.filter(
        incident=incident, audience=StatusUpdate.Audience.STAKEHOLDERS
    ).order_by("-posted_at", "-id")
    return {
        "ref": incident.ref,
        "title": incident.title,
        "severity": incident.severity.name,
        "status": incident.get_status_display(),
        "status_key": incident.status,
        "status_meaning": incident.status_meaning,
        "active": incident.is_active,
        "started_at": incident.started_at,
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "updates": [
            {
                "posted_at": update.posted_at,
                "known": update.known,
                "doing": update.doing,
                "next_update_at": update.next_update_at,
            }
            for update in updates
        ],
    }


def stakeholder_view(link: ShareLink) -> StakeholderView:
    postmortem = link.postmortem
    publication = None
    if link.share_draft and not link.shows_live_updates:
        document = reader_document(document_for_ref(postmortem.incident.ref), for_stakeholders=True)
    else:
        publication = latest_publication(postmortem)
        if publication is not None:
            document = _with_live_action_status(publication.content, postmortem)
        elif postmortem.status == Postmortem.Status.PUBLISHED:
            # Marked published without a frozen version (set by hand or imported): the
            # current text is what was published.
            document = reader_document(
                document_for_ref(postmortem.incident.ref), for_stakeholders=True
            )
        else:
            document = None
    if document is not None and link.hide_names:
        document = _without_names(document, people_by_role(postmortem.incident))
    live = _live_updates(postmortem) if link.shows_live_updates else None
    fingerprint = reader_document_fingerprint(
        {
            "document": document,
            "publication": publication.number if publication else None,
            "status": postmortem.status,
            "live": live,
        }
    )
    return StakeholderView(
        link=link,
        document=reader_document_for_display(document) if document is not None else None,
        draft=link.share_draft,
        publication=publication,
        revising=publication is not None and postmortem.status != Postmortem.Status.PUBLISHED,
        fingerprint=fingerprint,
        live=live,
    )
