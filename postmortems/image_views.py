"""Uploading graphs and screenshots into the document, and serving them to who may see them.

Images are never served from a public URL of their storage: every request comes through here
and asks the incident's policy (or, for a stakeholder link, whether what the link shows
includes that image).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from incidents.policy import can_edit
from kernel.blocks import block_delete
from kernel.kinds import kind_named
from postmortems.document import incident_for
from postmortems.images import HOST_FIELDS, ImageRefused, image_attach
from postmortems.models import Image
from postmortems.publishing.reader import image_holders
from postmortems.share_links import share_link_for_token, stakeholder_view
from postmortems.stakeholder_views import reader_headers
from postmortems.views import DOCUMENT

CAPTION_MAX = 300


def _incident(request, ref: str, *, edit: bool):
    incident = incident_for(request.user, ref)
    if edit and not can_edit(request.user, incident):
        raise PermissionDenied("You may read this document but not edit it.")
    return incident


def _images_response(request, incident, host_kind: str, host, *, status: int = 200):
    context = {
        "incident": incident,
        "host": host,
        "host_kind": host_kind,
        "may_edit": can_edit(request.user, incident),
    }
    return render(request, f"{DOCUMENT}#images", context, status=status)


def _refused(request, incident, message: str, status: int = 400):
    if request.htmx or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect(incident.get_absolute_url())


@require_POST
def image_upload(request, ref: str, kind: str, pk: int):
    """Add one image to a section, a timeline entry or a why (its evidence)."""
    incident = _incident(request, ref, edit=True)
    if kind not in HOST_FIELDS:
        raise Http404("Images are shown with sections, timeline entries and whys")
    host = kind_named(kind).get(incident, pk)
    upload = request.FILES.get("image")
    if upload is None:
        return _refused(request, incident, "Choose an image to upload (PNG, JPEG or WebP).")
    caption = request.POST.get("caption", "").strip()
    if len(caption) > CAPTION_MAX or "\x00" in caption:
        return _refused(request, incident, f"Keep the caption under {CAPTION_MAX} characters.")
    try:
        image_attach(
            postmortem=incident.postmortem,
            host_kind=kind,
            block=host,
            upload=upload,
            caption=" ".join(caption.split()),
            user=request.user,
        )
    except ImageRefused as refused:
        return _refused(request, incident, str(refused), status=422)
    if request.htmx or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return _images_response(request, incident, kind, host, status=201)
    messages.success(request, "Image added.")
    return redirect(f"{incident.get_absolute_url()}#{kind}-{pk}")


@require_POST
def image_remove(request, ref: str, pk: int):
    incident = _incident(request, ref, edit=True)
    image = get_object_or_404(Image, pk=pk, postmortem__incident=incident)
    try:
        base_version = int(request.POST.get("base_version", ""))
    except ValueError:
        return HttpResponse("The remove form is missing its version.", status=400)
    host = image.host
    host_kind = next(name for name, field in HOST_FIELDS.items() if getattr(image, f"{field}_id"))
    result = block_delete(block=image, base_version=base_version, user=request.user)
    if result.stale:
        # Its caption changed since the page was loaded: show the images as they are now, to
        # look at again before removing.
        return _images_response(request, incident, host_kind, host, status=409)
    return _images_response(request, incident, host_kind, host)


def _file_response(image: Image, *, thumbnail: bool) -> FileResponse:
    stored = image.thumbnail if thumbnail else image.file
    try:
        handle = stored.storage.open(stored.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The image file is missing") from None
    response = FileResponse(
        handle,
        content_type="image/webp" if thumbnail else image.content_type,
        as_attachment=False,
        filename=f"image-{image.pk}.{'webp' if thumbnail else image.extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
def image_file(request, ref: str, pk: int):
    incident = _incident(request, ref, edit=False)
    image = get_object_or_404(Image, pk=pk, postmortem__incident=incident)
    return _file_response(image, thumbnail=request.GET.get("size") == "thumbnail")


def _shown_image_ids(document: dict | None) -> set[int]:
    if not document:
        return set()
    return {image["id"] for holder in image_holders(document) for image in holder.get("images", [])}


@login_not_required
@reader_headers
@require_GET
def stakeholder_image(request, token: str, pk: int):
    """An image on a stakeholder page: only one the page the link opens actually shows."""
    link = share_link_for_token(token)
    if link is None:
        raise Http404("No such link")
    if pk not in _shown_image_ids(stakeholder_view(link).document):
        raise Http404("No such image")
    image = get_object_or_404(Image, pk=pk, postmortem=link.postmortem)
    response = _file_response(image, thumbnail=request.GET.get("size") == "thumbnail")
    return response
