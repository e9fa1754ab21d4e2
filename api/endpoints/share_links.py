"""Stakeholder links of a postmortem: make one (its address is shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from django.http import Http404
from django.urls import reverse
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from api.core import MAX_INT, Error, InvalidInput, form_errors, incident_for, managed_incident
from api.endpoints.action_items import Day
from incidents import policy
from postmortems.models import ShareLink
from postmortems.publish_forms import ShareLinkForm
from postmortems.share_links import share_link_create, share_link_revoke, share_links_for

router = Router(tags=["share links"])
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 422: InvalidInput, 429: Error}
Id = Annotated[int, Field(ge=1, le=MAX_INT)]


class LinkOut(Schema):
    id: int
    label: str
    state: str
    hide_names: bool
    share_draft: bool
    expires_at: str | None
    created_by: str | None
    view_count: int


class NewLinkOut(LinkOut):
    url: str


def link_out(link: ShareLink) -> dict:
    return {
        "id": link.pk,
        "label": link.label,
        "state": link.state,
        "hide_names": link.hide_names,
        "share_draft": link.share_draft,
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "created_by": link.created_by.get_username() if link.created_by else None,
        "view_count": link.view_count,
    }


@router.get("/incidents/{ref}/share-links/", response={200: list[LinkOut], **ERRORS})
def link_list(request, ref: str):
    incident = incident_for(request, ref)
    if not policy.can_manage(request.user, incident):
        raise HttpError(403, f"{incident.ref}'s links are shown only to the people who manage it.")
    return [link_out(link) for link in share_links_for(incident.postmortem)]


class LinkIn(Schema):
    label: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00\r\n]*$")
    expires_on: Day | None = Field(None, description="The link stops working after this day.")
    hide_names: bool = False
    share_draft: bool = False


@router.post("/incidents/{ref}/share-links/", response={201: NewLinkOut, **ERRORS})
def link_make(request, ref: str, payload: LinkIn):
    """Make a link; its address is in this answer only, since only its hash is stored."""
    incident = managed_incident(request, ref)
    form = ShareLinkForm(payload.model_dump())
    if not form.is_valid():
        raise form_errors(form)
    link, token = share_link_create(
        postmortem=incident.postmortem,
        label=form.cleaned_data["label"],
        expires_at=form.expires_at(),
        hide_names=form.cleaned_data["hide_names"],
        share_draft=form.cleaned_data["share_draft"],
        user=request.user,
    )
    url = request.build_absolute_uri(reverse("stakeholder", args=[token]))
    return Status(201, {**link_out(link), "url": url})


@router.post("/incidents/{ref}/share-links/{link_id}/revoke/", response={200: LinkOut, **ERRORS})
def link_revoke(request, ref: str, link_id: Id):
    incident = managed_incident(request, ref)
    link = ShareLink.objects.filter(pk=link_id, postmortem=incident.postmortem).first()
    if link is None:
        raise Http404(f"{incident.ref} has no share link {link_id}.")
    share_link_revoke(link=link, user=request.user)
    link.refresh_from_db()
    return link_out(link)
