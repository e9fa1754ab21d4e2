"""The publishing page (review, publish, stakeholder links) and the exports.

Publishing and making links are for the incident owner, its team's lead and admins (see
incidents.policy); the exports are for anyone who may read the document. Every form works as
a plain POST and, with htmx, swaps its own part of the page.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from incidents.models import Incident
from incidents.policy import require_manage
from kernel.limits import Refused, pdf_export_slot
from postmortems.blameless import NoSuchNote, document_notes, open_count, wording_acknowledge
from postmortems.document import document_for
from postmortems.export import (
    PDF_TIMEOUT_SECONDS,
    PdfUnavailable,
    export_filename,
    html_to_pdf,
    image_files,
    markdown_export,
    markdown_zip,
    paper_for,
    printable_html,
)
from postmortems.models import Postmortem, ShareLink
from postmortems.publish_forms import PublishForm, ReturnToDraftForm, ShareLinkForm
from postmortems.publishing.checklist import missing, publish_checklist, resolution_offer
from postmortems.publishing.summary import summary_deliveries, summary_queue, summary_targets
from postmortems.publishing.workflow import (
    PublishingRefused,
    incident_resolve_at_entry,
    latest_publication,
    postmortem_publish,
    postmortem_publish_check,
    postmortem_return_to_draft,
    postmortem_submit_for_review,
    status_changes,
)
from postmortems.share_links import share_link_create, share_link_revoke, share_links_for

PAGE = "postmortems/publishing.html"
PANEL_PARTS = ("review", "links")


def _managed_incident(request, ref: str) -> Incident:
    incident = document_for(request.user, ref)
    require_manage(request.user, incident)
    return incident


def _context(request, incident: Incident, **extra) -> dict:
    postmortem = incident.postmortem
    wording = document_notes(incident)
    checks = publish_checklist(incident, wording)
    emails, teams = summary_targets(incident)
    publications = list(postmortem.publications.select_related("published_by")[:10])
    deliveries = summary_deliveries(publications)
    for publication in publications:
        publication.summary_deliveries = deliveries[publication.pk]
    context = {
        "incident": incident,
        "postmortem": postmortem,
        "checks": checks,
        "wording": wording,
        "wording_open": open_count(wording),
        "resolution_offer": resolution_offer(incident),
        "missing": missing(checks),
        "summary_emails": emails,
        "summary_teams": teams,
        "publications": publications,
        "latest": publications[0] if publications else None,
        "status_changes": status_changes(postmortem),
        "links": share_links_for(postmortem),
        "publish_form": PublishForm(),
        "return_form": ReturnToDraftForm(),
        "link_form": ShareLinkForm(),
        # A part swapped into the document page also updates the status shown in its bar.
        "on_document_page": bool(request.htmx)
        and request.htmx.current_url_abs_path == incident.get_absolute_url(),
    }
    context.update(extra)
    return context


def _render(request, incident: Incident, part: str, *, status: int = 200, **extra):
    """The part that changed for htmx; the whole page otherwise."""
    template = f"{PAGE}#{part}" if request.htmx else PAGE
    return render(request, template, _context(request, incident, **extra), status=status)


def _done(request, incident: Incident, part: str, message: str):
    if request.htmx:
        return _render(request, incident, part, done=message)
    messages.success(request, message)
    return redirect(reverse("publishing", args=[incident.ref]) + f"#{part}")


@require_GET
@vary_on_headers("HX-Request")
def publishing(request, ref: str):
    """The publishing page; with htmx, one of its parts as a panel on the document page."""
    incident = _managed_incident(request, ref)
    part = request.GET.get("part")
    if request.htmx and part in PANEL_PARTS:
        return render(request, f"{PAGE}#panel", _context(request, incident, part=part))
    return render(request, PAGE, _context(request, incident))


@require_POST
def publish_submit(request, ref: str):
    incident = _managed_incident(request, ref)
    try:
        postmortem_submit_for_review(postmortem=incident.postmortem, user=request.user)
    except PublishingRefused as refused:
        return _render(request, incident, "review", status=409, refused=refused.message)
    return _done(request, document_for(request.user, ref), "review", "Sent for review.")


@require_POST
def publish_return(request, ref: str):
    incident = _managed_incident(request, ref)
    form = ReturnToDraftForm(request.POST)
    if not form.is_valid():
        return _render(request, incident, "review", status=422, return_form=form)
    try:
        postmortem_return_to_draft(
            postmortem=incident.postmortem, user=request.user, reason=form.cleaned_data["reason"]
        )
    except PublishingRefused as refused:
        return _render(request, incident, "review", status=409, refused=refused.message)
    return _done(request, document_for(request.user, ref), "review", "Back to draft.")


def _refused(request, incident: Incident, refused: PublishingRefused, form: PublishForm):
    return _render(
        request,
        incident,
        "review",
        status=422 if refused.missing else 409,
        refused=refused.message,
        refused_missing=refused.missing,
        publish_form=form,
    )


@require_POST
def publish(request, ref: str):
    incident = _managed_incident(request, ref)
    form = PublishForm(request.POST)
    if not form.is_valid():
        return _render(request, incident, "review", status=422, publish_form=form)
    if not form.cleaned_data["confirmed"]:
        # Stakeholders see it at once and it cannot be taken back quietly: ask once more,
        # unless it would be refused anyway.
        try:
            postmortem_publish_check(
                incident=incident,
                user=request.user,
                override_reason=form.cleaned_data["override_reason"],
            )
        except PublishingRefused as refused:
            return _refused(request, incident, refused, form)
        latest = latest_publication(incident.postmortem)
        return _render(
            request,
            incident,
            "review",
            publish_form=form,
            confirming=True,
            next_number=latest.number + 1 if latest else 1,
        )
    try:
        publication = postmortem_publish(
            incident=incident,
            user=request.user,
            override_reason=form.cleaned_data["override_reason"],
            send_summary=form.cleaned_data["send_summary"],
        )
    except PublishingRefused as refused:
        return _refused(request, incident, refused, form)
    sent = (
        " The summary is on its way." if summary_deliveries([publication])[publication.pk] else ""
    )
    return _done(request, document_for(request.user, ref), "review", f"Published.{sent}")


@require_POST
def publish_resolve(request, ref: str):
    """Mark the incident resolved at its Resolution entry's time, from the checklist."""
    incident = _managed_incident(request, ref)
    try:
        entry_id, version = int(request.POST["entry"]), int(request.POST["version"])
    except (KeyError, ValueError):
        return _render(
            request, incident, "review", status=400, refused="Choose a Resolution entry."
        )
    try:
        resolved = incident_resolve_at_entry(
            incident=incident, entry_id=entry_id, base_version=version, user=request.user
        )
    except PublishingRefused as refused:
        return _render(request, incident, "review", status=409, refused=refused.message)
    when = resolved.resolved_at.isoformat(sep=" ", timespec="minutes")
    return _done(request, document_for(request.user, ref), "review", f"Marked resolved at {when}.")


@require_POST
def wording_acknowledge_view(request, ref: str):
    """The owner lets the words of one note stay, with a reason; recorded with who and when."""
    incident = _managed_incident(request, ref)
    try:
        block_id = int(request.POST.get("block", ""))
    except ValueError:
        return _render(request, incident, "review", status=400, refused="Choose a note.")
    reason = request.POST.get("reason", "").strip()
    if len(reason) > 500 or "\x00" in reason:
        return _render(
            request,
            incident,
            "review",
            status=400,
            refused="Keep the reason under 500 characters of plain text.",
        )
    try:
        wording_acknowledge(
            incident=incident,
            kind_name=request.POST.get("kind", ""),
            block_id=block_id,
            note_key=request.POST.get("note", ""),
            reason=reason,
            user=request.user,
        )
    except NoSuchNote as gone:
        return _render(request, incident, "review", status=409, refused=str(gone))
    return _done(request, document_for(request.user, ref), "review", "Note acknowledged.")


@require_POST
def summary_send(request, ref: str):
    """Send the summary of the current publication again, or for the first time."""
    incident = _managed_incident(request, ref)
    postmortem = incident.postmortem
    publication = latest_publication(postmortem)
    if postmortem.status != Postmortem.Status.PUBLISHED or publication is None:
        return _render(
            request,
            incident,
            "review",
            status=409,
            refused="Only a published postmortem's summary can be sent.",
        )
    if not summary_queue(publication=publication):
        return _render(
            request,
            incident,
            "review",
            status=409,
            refused="There is nowhere to send it: no mailing list is set and no team "
            "involved has a Slack webhook.",
        )
    return _done(request, document_for(request.user, ref), "review", "The summary is on its way.")


@require_POST
def share_link_new(request, ref: str):
    incident = _managed_incident(request, ref)
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        return _render(request, incident, "links", status=422, link_form=form)
    link, token = share_link_create(
        postmortem=incident.postmortem,
        label=form.cleaned_data["label"],
        expires_at=form.expires_at(),
        hide_names=form.cleaned_data["hide_names"],
        share_draft=form.cleaned_data["share_draft"],
        kind=form.cleaned_data["kind"],
        user=request.user,
    )
    # The token exists only in this response: it is not stored, so it is not redirected to.
    url = request.build_absolute_uri(reverse("stakeholder", args=[token]))
    return _render(request, incident, "links", status=201, new_link=link, new_link_url=url)


@require_POST
def share_link_withdraw(request, ref: str, pk: int):
    incident = _managed_incident(request, ref)
    link = get_object_or_404(ShareLink, pk=pk, postmortem=incident.postmortem)
    if share_link_revoke(link=link, user=request.user):
        message = f"The link for {link.label} is revoked; it stopped working just now."
    else:
        message = f"The link for {link.label} was revoked already."
    return _done(request, incident, "links", message)


@require_GET
def export_markdown(request, ref: str):
    incident = document_for(request.user, ref)
    if image_files(incident):
        # The Markdown links its images as images/<id>.<ext>: they travel together, zipped.
        response = HttpResponse(markdown_zip(incident), content_type="application/zip")
        name = export_filename(incident, "zip")
    else:
        response = HttpResponse(
            markdown_export(incident), content_type="text/markdown; charset=utf-8"
        )
        name = export_filename(incident, "md")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
async def export_pdf(request, ref: str):
    """Chromium takes a second or two: it runs off the thread that serves the sync views."""
    user = await request.auser()
    incident = await sync_to_async(document_for)(user, ref)
    slot = await pdf_export_slot(user, hold_seconds=PDF_TIMEOUT_SECONDS + 30)
    if isinstance(slot, Refused):
        response = await sync_to_async(render)(
            request,
            "error.html",
            {"title": slot.title, "message": slot.message, "status": slot.status},
            status=slot.status,
        )
        response["Retry-After"] = str(slot.retry_after)
        return response
    paper = paper_for(request.headers.get("Accept-Language", ""))
    try:
        html = await sync_to_async(printable_html)(incident, paper=paper)
        pdf = await sync_to_async(html_to_pdf, thread_sensitive=False)(html)
    except PdfUnavailable as unavailable:
        return await sync_to_async(render)(
            request,
            "error.html",
            {"title": "The PDF cannot be made here", "message": str(unavailable), "status": 503},
            status=503,
        )
    finally:
        await asyncio.to_thread(slot.give_back)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(incident, "pdf")}"'
    return response
