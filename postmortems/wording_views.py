"""Notes on wording: read back to a person as they write, and acknowledged before publishing."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from incidents.policy import can_edit
from postmortems.blameless import Checker
from postmortems.document import incident_for
from postmortems.views import DOCUMENT, editable_kind

# Longer than any block holds (a section holds 100,000 characters): text beyond this is not read.
READ_AT_MOST = 100_000


@require_POST
def wording_notes(request, ref: str, kind: str):
    """The notes on what the editor of one block has typed so far, as a fragment beside it."""
    incident = incident_for(request.user, ref)
    if not can_edit(request.user, incident):
        raise PermissionDenied("You may read this document but not edit it.")
    kind_ = editable_kind(kind)
    if not kind_.prose_fields:
        raise Http404("Blocks of this kind have no text to read")
    block_id = request.POST.get("block", "")
    if block_id and not (block_id.isdigit() and len(block_id) <= 12):
        return HttpResponse("The block is named by its number.", status=400)
    block = kind_.get(incident, int(block_id)) if block_id else kind_.model()
    values = {field: request.POST.get(field, "")[:READ_AT_MOST] for field in kind_.prose_fields}
    notes = Checker().block_notes(kind_, block, values)
    form = kind_.form(instance=block) if kind_.form else None
    labels = {name: str(form.fields[name].label) for name in kind_.prose_fields if form}
    context = {
        "notes": [(note, labels.get(note.field, note.field)) for note in notes],
        "several": len(kind_.prose_fields) > 1,
    }
    return render(request, f"{DOCUMENT}#wording-notes", context)
