"""The incident's document page and the in-place editing of its blocks."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from hindsight.bus import get_bus
from incidents.access import IncidentAccess, incident_access_audit
from incidents.models import Incident
from incidents.policy import (
    can_edit,
    can_manage,
    can_open_incident,
    require_edit,
    require_manage,
)
from kernel import fragments
from kernel.blocks import block_create, block_delete, block_move
from kernel.forms import MAX_VERSION
from kernel.history import document_history, history_revert, history_runs
from kernel.kinds import BlockKind, kind_named
from kernel.live import document_channel
from kernel.text import display_name
from postmortems.document import document_context, document_for, incident_for, load_document
from postmortems.forms import PostmortemRequestForm
from postmortems.requests import postmortem_request

DOCUMENT = "postmortems/document.html"
HISTORY_RUNS_PER_PAGE = 40


def _access_of(incident: Incident) -> IncidentAccess:
    return IncidentAccess.of(Incident.objects.get(pk=incident.pk))


def editable_kind(name: str) -> BlockKind:
    try:
        kind = kind_named(name)
    except LookupError:
        raise Http404("No such kind of block") from None
    if not kind.editable:
        raise Http404("Blocks of this kind are not edited in place")
    return kind


def _form(kind: BlockKind, *args, instance, user, incident, new: bool = False, **kwargs):
    """A block's form, its field ids unique on a page where several blocks are open at once.

    Fields only the incident's managers may change (owner, team, responders, ...) are shown
    disabled to everyone else, and a disabled field ignores whatever is posted for it.
    """
    form_class = kind.new_form if new else kind.form
    key = "new" if new else instance.pk
    form = form_class(
        *args, instance=instance, auto_id=f"{kind.name}-{key}-%s", label_suffix="", **kwargs
    )
    if not can_manage(user, incident):
        for name in getattr(form, "MANAGED_FIELDS", ()):
            form.fields[name].disabled = True
    return form


def _render_block(request, incident, kind: BlockKind, block, *, status=200, **extra):
    """The block as the document page shows it to this person's audience.

    Plain looks come from the fragment cache; a block shown with a note for this person alone
    ("Saved.", a warning) is rendered for them.
    """
    audience = fragments.audience(can_edit(request.user, incident))
    if extra:
        html = fragments.render(kind, block, document=incident, audience_=audience, **extra)
    else:
        html = fragments.block_html(kind, block, document=incident, audience_=audience)
    return HttpResponse(html, status=status)


def _render_form(request, incident, kind: BlockKind, block, form, *, status=200, **extra):
    new = extra.get("new", False)
    context = {
        "incident": incident,
        "may_edit": True,  # only those who may edit get a form
        "block": block,
        "form": form,
        "kind": kind,
        "form_label": kind.form_label(block, new=new),
        "parent_id": kind.parent_id(block),
        # A new block's form opens outside the table or list, so it needs no holder.
        "form_holder": None if new else kind.form_holder,
        **extra,
    }
    return render(request, f"{DOCUMENT}#block-form", context, status=status)


def list_response(request, incident, kind: BlockKind, parent_id: int | None):
    """The list blocks of a kind live in, as the document page shows it."""
    context = document_context(incident)
    context["may_edit"] = can_edit(request.user, incident)
    if kind.parent:
        # The list lives inside a block of another kind (whys inside their cause).
        context["block"] = kind_named(kind.parent).get(incident, parent_id or 0)
    return render(request, f"{kind.template}#{kind.list_partial}", context)


def _render_list(request, ref: str, kind: BlockKind, block):
    """The list a block lives in, re-rendered, replacing the list wherever the request came from."""
    parent_id = kind.parent_id(block)
    response = list_response(request, document_for(request.user, ref), kind, parent_id)
    target = f"#{kind.list_partial}-{parent_id}" if parent_id else f"#{kind.list_partial}"
    return reswap(retarget(response, target), "outerHTML")


@require_GET
def document(request, ref: str):
    # Read the event position before the document: whatever is saved after this point is
    # replayed when the page's event stream connects, so nothing falls in between.
    incident = incident_for(request.user, ref)
    last_event_id = get_bus().last_id(document_channel(incident.pk))
    may_edit = can_edit(request.user, incident)
    audience = fragments.audience(may_edit)
    quick_wins = request.GET.get("actions") == "quick-wins"
    # Long lists whose blocks are unchanged since some page showed them are reused whole,
    # and their rows are not even loaded.
    cached = fragments.cached_lists(
        incident, audience, template=DOCUMENT, variant="quick-wins" if quick_wins else ""
    )
    # A list assembled again from its blocks' cached HTML needs only the changed blocks' rows
    # (not for a ranking, which reads every item).
    light = {
        name: part.rows
        for name, part in cached.items()
        if part.html is None
        and fragments.caches_blocks(name)
        and not (quick_wins and name == "action_items")
    }
    reused = [name for name, part in cached.items() if part.html is not None]
    load_document(incident, leave_out=[*reused, *light])
    context = document_context(incident, leave_out=[*reused, *light])
    context.update(light)
    context["cached_lists"] = cached
    if "timeline" in cached:  # what the header's picture is kept under
        context["timeline_versions"] = [(row.pk, row.version) for row in cached["timeline"].rows]
    context["last_event_id"] = last_event_id
    context["may_edit"] = may_edit
    context["may_manage"] = can_manage(request.user, incident)
    if quick_wins:
        if "action_items" in context:  # else their list is reused, sorted as asked
            # Each item ranks itself (low effort and high impact first); the sort is stable,
            # so items of one rank keep the order they were filed in.
            context["action_items"].sort(key=lambda item: item.quick_win_rank)
        context["quick_wins_first"] = True
    lists = {name: context[name] for name in context if isinstance(context[name], list)}
    with fragments.primed(fragments.document_blocks(lists), audience):
        return render(request, DOCUMENT, context)


@require_http_methods(["GET", "POST"])
def block(request, ref: str, kind: str, pk: int):
    """GET shows the block; POST saves it from the version the editor started with."""
    incident = incident_for(request.user, ref)
    kind_ = editable_kind(kind)
    current = kind_.get(incident, pk)
    if request.method == "GET":
        # An editor that saved as it went closes by asking for the block "as saved".
        saved = {"saved": True} if request.GET.get("saved") == "1" else {}
        return _render_block(request, incident, kind_, current, **saved)

    require_edit(request.user, incident)
    who = _access_of(incident) if kind_.model is Incident else None
    form = _form(
        kind_,
        request.POST,
        instance=kind_.get(incident, pk),
        user=request.user,
        incident=incident,
    )
    if not form.is_valid():
        return _render_form(request, incident, kind_, current, form, status=422)
    changes = {
        name: value
        for name, value in form.cleaned_data.items()
        if name != "base_version" and name not in kind_.m2m_fields
    }
    m2m = {name: form.cleaned_data[name] for name in kind_.m2m_fields}
    result = kind_.update(
        current,
        base_version=form.cleaned_data["base_version"],
        user=request.user,
        **changes,
        **m2m,
    )
    if result.stale:
        # Keep what they typed in the form, now based on the current version, and show the
        # text that was saved in between beside it.
        data = request.POST.copy()
        data["base_version"] = result.current.version
        stale_form = _form(
            kind_, data, instance=result.current, user=request.user, incident=incident
        )
        return _render_form(
            request,
            incident,
            kind_,
            result.current,
            stale_form,
            status=409,
            conflict=result.current,
        )
    if kind_.after_save:
        kind_.after_save(result.block)
    if who is not None:
        incident_access_audit(user=request.user, before=who, after=_access_of(result.block))
    response = _render_block(
        request, incident, kind_, kind_.get(incident, pk), saved=True, merged=result.merged
    )
    return trigger_client_event(response, "block-saved", {"kind": kind_.name, "id": pk})


@require_GET
def block_edit(request, ref: str, kind: str, pk: int):
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    kind_ = editable_kind(kind)
    current = kind_.get(incident, pk)
    form = _form(
        kind_,
        instance=current,
        user=request.user,
        incident=incident,
        initial={"base_version": current.version},
    )
    return _render_form(request, incident, kind_, current, form)


@require_http_methods(["GET", "POST"])
def block_new(request, ref: str, kind: str):
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    kind_ = editable_kind(kind)
    if kind_.new_block is None:
        raise Http404("Blocks of this kind cannot be added")
    new = kind_.new_block(incident, request)
    if request.method == "GET":
        form = _form(kind_, instance=new, new=True, user=request.user, incident=incident)
        return _render_form(request, incident, kind_, new, form, new=True)
    form = _form(kind_, request.POST, instance=new, new=True, user=request.user, incident=incident)
    if not form.is_valid():
        return _render_form(request, incident, kind_, new, form, new=True, status=422)
    created = block_create(block=form.instance, user=request.user)
    return _render_list(request, ref, kind_, created)


@require_POST
def block_remove(request, ref: str, kind: str, pk: int):
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    kind_ = editable_kind(kind)
    if not kind_.deletable:
        raise Http404("Blocks of this kind cannot be deleted")
    current = kind_.get(incident, pk)
    try:
        base_version = int(request.POST.get("base_version", ""))
    except ValueError:
        return HttpResponse("The delete form is missing its version.", status=400)
    if not 1 <= base_version <= MAX_VERSION:
        return HttpResponse("The delete form carries a version no block can have.", status=400)
    result = block_delete(block=current, base_version=base_version, user=request.user)
    if result.stale:
        return _render_block(
            request,
            incident,
            kind_,
            result.current,
            status=409,
            notice="Someone changed this since you loaded it. Look again before deleting.",
        )
    return _render_list(request, ref, kind_, current)


@require_POST
def block_reorder(request, ref: str, kind: str, pk: int):
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    kind_ = editable_kind(kind)
    if not kind_.movable:
        raise Http404("Blocks of this kind keep their own order")
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("Say up or down.", status=400)
    current = kind_.get(incident, pk)
    block_move(block=current, siblings=kind_.siblings(current), offset=offset, user=request.user)
    return _render_list(request, ref, kind_, current)


def _history_block(value: str) -> tuple[str, int] | None:
    """`section-12` → ("section", 12); anything else shows the whole document."""
    name, _, pk = value.rpartition("-")
    if not name or not pk.isdigit() or len(pk) > 12:
        return None
    return name, int(pk)


@require_GET
def history(request, ref: str):
    """The document's changes, newest first: runs of one person's saves of one block, paged."""
    incident = incident_for(request.user, ref)
    block = _history_block(request.GET.get("block", ""))
    runs = history_runs(document_history(incident, block=block))
    page = Paginator(runs, HISTORY_RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "incident": incident,
        "page": page,
        # Not "block": inside {% block %} Django's template engine uses that name itself.
        "only_block": block,
        "block_label": runs[0].latest.label if block and runs else "",
    }
    return render(request, "postmortems/history.html", context)


@require_POST
def revert(request, ref: str, kind: str, history_id: int):
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    kind_ = editable_kind(kind)
    if kind_.model is Incident:
        # The header holds who may see the incident: a revert could change that too.
        require_manage(request.user, incident)
    outcome = history_revert(
        incident=incident, kind=kind_, history_id=history_id, user=request.user
    )
    if outcome.ok:
        messages.success(request, outcome.message)
    else:
        messages.error(request, outcome.message)
    return redirect("history", ref=incident.ref)


@require_http_methods(["GET", "POST"])
def ask_for_postmortem(request, ref: str):
    """Anyone who can see the incident may ask for its postmortem; the owner is told."""
    incident = incident_for(request.user, ref)
    may_ask = can_open_incident(request.user)
    form = PostmortemRequestForm(request.POST or None)
    if request.method == "POST":
        if not may_ask:
            return HttpResponse("Viewers cannot ask for a postmortem.", status=403)
        if form.is_valid():
            _, told = postmortem_request(
                incident=incident, user=request.user, reason=form.cleaned_data["reason"]
            )
            if told is not None:
                messages.success(request, f"Asked. {display_name(told)} is told by e-mail.")
            else:
                messages.warning(
                    request, "Asked and recorded, but nobody owns the incident to be told."
                )
            return redirect("ask-for-postmortem", ref=incident.ref)
    asked = list(incident.postmortem.requests.select_related("requested_by"))
    context = {"incident": incident, "form": form, "asked": asked, "may_ask": may_ask}
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "postmortems/ask.html", context, status=status)
