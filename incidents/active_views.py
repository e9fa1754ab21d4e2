"""The active incident view: what responders need while it is still going on.

The page reads the incident, its timeline and its latest status updates; every change goes
through one function of `incidents.response`, which tells the other open pages.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from hindsight.bus import get_bus
from incidents import policy
from incidents.active_forms import (
    MilestoneForm,
    QuickCaptureForm,
    RoleForm,
    SnoozeForm,
    StatusUpdateForm,
)
from incidents.models import Incident, StatusUpdate, TimelineEntry, incident_number
from incidents.quiet import quiet_state
from incidents.response import (
    KIND_KEYS,
    KIND_WORDS,
    MILESTONES,
    ROLES,
    milestone_mark,
    quick_capture,
    quiet_snooze,
    responder_join,
    role_assign,
    status_update_post,
)
from kernel.kinds import page_registry
from kernel.live import document_channel

PAGE = "incidents/active.html"
LATEST_UPDATES = 3


def _incident(request, ref: str, *, ask=policy.can_view) -> Incident:
    """The incident, or 404 for anyone who may not see it, 403 for a reader who may not act."""
    queryset = Incident.objects.select_related(
        "severity", "owner", "communications_lead", "scribe", "team", "postmortem"
    ).prefetch_related(
        "responders",
        Prefetch("timeline", TimelineEntry.objects.select_related("added_by")),
        # The timeline partial shows each entry's images (the document registers them).
        "timeline__images",
        Prefetch(
            "status_updates",
            StatusUpdate.objects.select_related("author").order_by("-posted_at", "-id"),
            to_attr="updates_newest_first",
        ),
    )
    number = incident_number(ref)
    if number is None:
        raise Http404("No incident with that reference")
    incident = policy.visible_incidents(request.user, queryset).filter(number=number).first()
    if incident is None or not policy.can_view(request.user, incident):
        raise Http404("No incident with that reference")
    if ask is not policy.can_view and not ask(request.user, incident):
        raise PermissionDenied("You may read this incident but not change it.")
    return incident


def _roster(incident: Incident) -> list[dict]:
    """Everyone with a part, each once, with the roles they hold, the commander first."""
    people: dict[int, dict] = {}
    for role, title in ROLES.items():
        person = getattr(incident, role)
        if person is not None:
            people.setdefault(person.pk, {"person": person, "roles": []})["roles"].append(title)
    for person in incident.responders.all():
        people.setdefault(person.pk, {"person": person, "roles": []})
    return list(people.values())


def _context(request, incident: Incident, **extra) -> dict:
    updates = incident.updates_newest_first
    latest = updates[0] if updates else None
    quiet = quiet_state(incident, last_update_at=latest.posted_at if latest else None)
    next_due = quiet.due_at
    if latest and latest.next_update_at:
        next_due = latest.next_update_at
    user = request.user
    roster = _roster(incident)
    return {
        "incident": incident,
        "timeline": list(incident.timeline.all()),
        "updates": updates[:LATEST_UPDATES],
        "latest_update": latest,
        "next_update_due": next_due,
        "quiet": quiet,
        "snoozed": incident.quiet_snoozed(),
        "roster": roster,
        "on_roster": any(row["person"].pk == user.pk for row in roster),
        "roles": ROLES,
        "milestones": [(name, getattr(incident, step.field)) for name, step in MILESTONES.items()],
        "can_edit": policy.can_edit(user, incident),
        "can_manage": policy.can_manage(user, incident),
        "reminds_me": user.pk in {incident.owner_id, incident.communications_lead_id},
        "time_zone": timezone.get_current_timezone_name(),
        "kind_words": KIND_WORDS,
        "kind_keys": KIND_KEYS,
        "capture_form": QuickCaptureForm(auto_id="capture-%s", label_suffix=""),
        "milestone_form": MilestoneForm(auto_id="milestone-%s", label_suffix=""),
        "update_form": StatusUpdateForm(
            auto_id="update-%s",
            label_suffix="",
            initial={
                "audience": StatusUpdate.Audience.INTERNAL,
                "next_update_at": (timezone.now() + quiet.interval).replace(
                    second=0, microsecond=0
                ),
            },
        ),
        "role_form": RoleForm(auto_id="role-%s", label_suffix=""),
        "snooze_form": SnoozeForm(auto_id="snooze-%s", label_suffix=""),
        **extra,
    }


@require_GET
def active(request, ref: str):
    incident = _incident(request, ref)
    if not incident.is_active:
        # Once resolved, the postmortem is the main view.
        return redirect(incident)
    context = _context(request, incident)
    context["last_event_id"] = get_bus().last_id(document_channel(incident.pk))
    context["block_kinds"] = page_registry()
    return render(request, PAGE, context)


@require_GET
def active_state(request, ref: str):
    """The state panel, for pages refreshing after someone changed the incident."""
    incident = _incident(request, ref)
    return render(request, f"{PAGE}#refresh", _context(request, incident))


@require_POST
def capture(request, ref: str):
    incident = _incident(request, ref, ask=policy.can_edit)
    form = QuickCaptureForm(request.POST, auto_id="capture-%s", label_suffix="")
    entry = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = quick_capture(
                incident=incident,
                text=data["text"],
                kind=data["kind"] or None,
                at=data["occurred_at"],
                user=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error, {"occurred_at": "occurred_at", "text": "text"})
    if entry is None:
        context = _context(request, incident, capture_form=form)
        return _answer(request, incident, "capture", context, status=422)
    incident = _incident(request, ref)
    context = _context(request, incident, captured=entry)
    return _answer(request, incident, "captured", context)


@require_POST
def milestone(request, ref: str):
    incident = _incident(request, ref, ask=policy.can_edit)
    form = MilestoneForm(request.POST, auto_id="milestone-%s", label_suffix="")
    error_text = ""
    if form.is_valid():
        try:
            milestone_mark(
                incident=incident,
                milestone=form.cleaned_data["milestone"],
                at=form.cleaned_data["at"],
                note=form.cleaned_data["note"],
                user=request.user,
            )
        except ValidationError as error:
            error_text = " ".join(error.messages)
    else:
        error_text = " ".join(message for errors in form.errors.values() for message in errors)
    incident = _incident(request, ref)
    if not incident.is_active and not error_text:
        return _client_redirect(request, incident.get_absolute_url())
    context = _context(request, incident, milestone_error=error_text)
    if error_text:
        context["milestone_form"] = form
    # A milestone adds its entry: the timeline comes back with the state.
    return _answer(request, incident, "changed", context, status=422 if error_text else 200)


@require_POST
def role(request, ref: str):
    incident = _incident(request, ref, ask=policy.can_manage)
    form = RoleForm(request.POST, auto_id="role-%s", label_suffix="")
    error_text = ""
    if form.is_valid():
        try:
            role_assign(
                incident=incident,
                role=form.cleaned_data["role"],
                person=form.cleaned_data["person"],
                user=request.user,
            )
        except ValidationError as error:
            error_text = " ".join(error.messages)
    else:
        error_text = "Pick a role and a person from the lists."
    incident = _incident(request, ref)
    context = _context(request, incident, role_error=error_text)
    # A hand-over is recorded in the timeline: it comes back with the roles.
    return _answer(request, incident, "changed", context, status=422 if error_text else 200)


@require_POST
def join(request, ref: str):
    incident = _incident(request, ref, ask=policy.can_edit)
    responder_join(incident=incident, person=request.user, user=request.user)
    incident = _incident(request, ref)
    return _answer(request, incident, "refresh", _context(request, incident))


@require_POST
def status_update(request, ref: str):
    incident = _incident(request, ref, ask=policy.can_edit)
    form = StatusUpdateForm(request.POST, auto_id="update-%s", label_suffix="")
    if form.is_valid():
        data = form.cleaned_data
        try:
            posted = status_update_post(
                incident=incident,
                known=data["known"],
                doing=data["doing"],
                audience=data["audience"],
                next_update_at=data["next_update_at"],
                user=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error, {"next_update_at": "next_update_at"})
        else:
            incident = _incident(request, ref)
            context = _context(request, incident, update_posted=posted)
            return _answer(request, incident, "update-posted", context)
    context = _context(request, incident, update_form=form)
    return _answer(request, incident, "update-form", context, status=422)


@require_POST
def snooze(request, ref: str):
    incident = _incident(request, ref, ask=policy.can_edit)
    form = SnoozeForm(request.POST, auto_id="snooze-%s", label_suffix="")
    error_text = ""
    if form.is_valid():
        until = timezone.now() + timedelta(minutes=form.cleaned_data["minutes"])
        try:
            quiet_snooze(
                incident=incident,
                until=until,
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as error:
            error_text = " ".join(error.messages)
    else:
        error_text = "Say why, and for how long."
    incident = _incident(request, ref)
    context = _context(request, incident, snooze_error=error_text)
    return _answer(request, incident, "refresh", context, status=422 if error_text else 200)


def _answer(request, incident: Incident, part: str, context: dict, *, status: int = 200):
    """The changed part for htmx; without JavaScript, the page again (its errors shown)."""
    if request.htmx:
        return render(request, f"{PAGE}#{part}", context, status=status)
    if status < 400:
        return redirect("incident-active", ref=incident.ref)
    context["last_event_id"] = get_bus().last_id(document_channel(incident.pk))
    context["block_kinds"] = page_registry()
    return render(request, PAGE, context, status=status)


def _add_errors(form, error: ValidationError, fields: dict[str, str]) -> None:
    """A rule the service enforces, shown on the form field it concerns."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(fields.get(name), messages)
    else:
        form.add_error(None, error.messages)


def _client_redirect(request, url: str):
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
