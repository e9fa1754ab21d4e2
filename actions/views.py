"""Action items outside the document page: my items, the weekly review, one item's page,
quick updates from any list, reminder preferences and review meetings.

Whoever may edit an incident's postmortem may update its action items (incidents.policy), and
nobody sees an item of an incident they may not see; the history records who changed what.
Marking a team's week reviewed is for its members and its lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from actions.forms import (
    ActionItemForm,
    ActionItemUpdateForm,
    NagPreferenceForm,
    RecheckForm,
    ReviewFilterForm,
    ReviewMeetingForm,
    SnoozeForm,
    WeeklyReviewForm,
)
from actions.items import (
    action_item_history,
    action_item_recheck,
    action_item_snooze,
    action_item_update,
)
from actions.models import ActionItem, NagPreference, ReviewMeeting
from actions.preventive import PreventiveItemForm, preventive_item_create
from actions.review import (
    GROUP_KEYS,
    GROUPS,
    Group,
    group_page,
    review_counts,
    review_groups,
    review_items,
    risks_to_revisit,
    week_of,
    weekly_review_mark,
)
from actions.tickets import connection_for
from incidents.models import Team
from incidents.policy import (
    is_admin,
    require_action_item_edit,
    require_edit,
    require_facilitate,
    visible_action_items,
    visible_team_records,
)
from postmortems.document import incident_for
from premortems.models import Premortem
from premortems.rounds import RoundRefused
from premortems.views import PAGE as PREMORTEM_PAGE
from premortems.views import board_context

REVIEW = "actions/review.html"
ITEM = "actions/item.html"
PRINT_LIMIT = 200
CHANGED_EVENT = "action-items-changed"


# No list holds a million pages: a bigger number is a mistake, and would overflow the OFFSET.
MAX_PAGE = 100_000


def _visible_items(user) -> QuerySet:
    """Action items of the incidents and premortems `user` may see."""
    return visible_action_items(user, ActionItem.objects.all())


def _items_for_rows(user):
    return _visible_items(user).select_related("incident__severity", "premortem", "owner", "team")


def _item(user, pk: int) -> ActionItem:
    return get_object_or_404(_items_for_rows(user), pk=pk)


def _editable_item(request, pk: int) -> ActionItem:
    """An item whose forms the person may open and post: a reader gets a 403 in words."""
    item = _item(request.user, pk)
    require_action_item_edit(request.user, item)
    return item


def _number(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _page(value: str | None) -> int:
    page = max(_number(value) or 1, 1)
    if page > MAX_PAGE:
        raise BadRequest(f"There is no page {page}: the lists here end long before that.")
    return page


# My action items ---------------------------------------------------------------------------


@require_GET
def my_action_items(request):
    items = list(
        _items_for_rows(request.user)
        .filter(owner=request.user)
        .order_by("status", "due_date", "id")
    )
    return render(
        request,
        "actions/mine.html",
        {
            "open_items": [item for item in items if item.is_open],
            "closed_items": [item for item in items if not item.is_open],
            "today": timezone.localdate(),
        },
    )


# The weekly review -------------------------------------------------------------------------


def _may_mark_reviewed(user, team: Team) -> bool:
    return is_admin(user) or team.lead_id == user.pk or team.members.filter(pk=user.pk).exists()


@dataclass
class ReviewScope:
    """What a review request asks to see: its filters and the day it is read on."""

    filter_form: ReviewFilterForm
    filters: dict
    items: QuerySet
    today: date
    now: datetime
    query: str  # the filters, to carry on in links

    @classmethod
    def of(cls, params: QueryDict, user) -> ReviewScope:
        filter_form = ReviewFilterForm(params or None)
        filters = filter_form.filters()
        query = params.copy()
        for name in ("group", "page"):
            query.pop(name, None)
        return cls(
            filter_form,
            filters,
            visible_action_items(user, review_items(filters)),
            timezone.localdate(),
            timezone.now(),
            query.urlencode(),
        )


def _review_context(request, scope: ReviewScope, *, review_form=None) -> dict:
    counts = review_counts(scope.items, today=scope.today, now=scope.now)
    group = request.GET.get("group")
    pages = {group: _page(request.GET.get("page"))} if group in GROUP_KEYS else {}
    team = scope.filters.get("team")
    context = {
        "filter_form": scope.filter_form,
        "counts": counts,
        "groups": review_groups(scope.items, counts, today=scope.today, now=scope.now, pages=pages),
        "risks": risks_to_revisit(scope.filters, today=scope.today),
        "query": scope.query,
        "today": scope.today,
        "team": team,
    }
    if team is not None:
        reviews = list(team.weekly_reviews.select_related("reviewed_by")[:9])
        this_week = next((r for r in reviews if r.week == week_of(scope.today)), None)
        context.update(
            weekly_reviews=[r for r in reviews if r is not this_week][:8],
            this_week=this_week,
            review_form=review_form or WeeklyReviewForm(),
            may_mark=_may_mark_reviewed(request.user, team),
        )
    return context


@require_GET
@vary_on_headers("HX-Request")
def review(request):
    scope = ReviewScope.of(request.GET, request.user)
    if request.htmx and request.htmx.target == "review-counts":
        counts = review_counts(scope.items, today=scope.today, now=scope.now)
        return render(request, f"{REVIEW}#counts", {"counts": counts, "query": scope.query})
    spec = next((spec for spec in GROUPS if spec.key == request.GET.get("group")), None)
    if request.htmx and spec is not None:
        # "Show more" in one group: only that group's next rows.
        page = _page(request.GET.get("page"))
        rows, more = group_page(scope.items, spec, today=scope.today, now=scope.now, page=page)
        group = Group(spec, count=None, items=rows, page=page, has_more=more)
        context = {"group": group, "query": scope.query, "today": scope.today}
        return render(request, f"{REVIEW}#more-rows", context)
    return render(request, REVIEW, _review_context(request, scope))


@require_GET
def review_print(request):
    scope = ReviewScope.of(request.GET, request.user)
    counts = review_counts(scope.items, today=scope.today, now=scope.now)
    groups = review_groups(scope.items, counts, today=scope.today, now=scope.now, size=PRINT_LIMIT)
    context = {
        "filter_form": scope.filter_form,
        "counts": counts,
        "groups": groups,
        "today": scope.today,
        "printed_at": scope.now,
    }
    return render(request, "actions/review_print.html", context)


@require_POST
def review_mark(request):
    team = get_object_or_404(Team, pk=_number(request.POST.get("team")) or 0)
    if not _may_mark_reviewed(request.user, team):
        raise PermissionDenied("Only the team's members and lead mark its week reviewed.")
    form = WeeklyReviewForm(request.POST)
    if not form.is_valid():
        scope = ReviewScope.of(QueryDict(f"team={team.pk}"), request.user)
        context = _review_context(request, scope, review_form=form)
        return render(request, REVIEW, context, status=422)
    marked, created = weekly_review_mark(
        team=team,
        notes=form.cleaned_data["notes"],
        user=request.user,
        today=timezone.localdate(),
        now=timezone.now(),
    )
    if created:
        messages.success(request, f"{team} marked reviewed for the week of {marked.week:%d %b}.")
    else:
        who = marked.reviewed_by.get_full_name() if marked.reviewed_by else "someone"
        messages.info(request, f"{team} was already marked reviewed this week, by {who}.")
    return redirect(f"{reverse('action-review')}?team={team.pk}")


# Quick updates from a list (HTMX) ---------------------------------------------------------


def _row(request, item: ActionItem, *, status: int = 200, **extra):
    context = {"item": item, "today": timezone.localdate(), **extra}
    return render(request, f"{REVIEW}#item-row", context, status=status)


# Several rows can have a form open at once, beside the filters: each gets ids of its own.
def _update_form(item: ActionItem, data=None) -> ActionItemUpdateForm:
    return ActionItemUpdateForm(
        data,
        instance=item,
        auto_id=f"update-{item.pk}-%s",
        initial={"base_version": item.version},
    )


def _snooze_form(item: ActionItem, data=None, *, today) -> SnoozeForm:
    return SnoozeForm(
        data,
        today=today,
        auto_id=f"snooze-{item.pk}-%s",
        initial={"base_version": item.version},
    )


def _saved_row(request, pk: int):
    response = _row(request, _item(request.user, pk), saved=True)
    return trigger_client_event(response, CHANGED_EVENT, {"id": pk})


@require_GET
def item_row(request, pk: int):
    return _row(request, _item(request.user, pk))


@require_http_methods(["GET", "POST"])
def item_update(request, pk: int):
    item = _editable_item(request, pk)
    if request.method == "GET":
        form = _update_form(item)
        return render(request, f"{REVIEW}#item-form", {"item": item, "form": form})
    form = _update_form(_item(request.user, pk), request.POST)
    if not form.is_valid():
        return render(request, f"{REVIEW}#item-form", {"item": item, "form": form}, status=422)
    changes = {k: v for k, v in form.cleaned_data.items() if k != "base_version"}
    result = action_item_update(
        item, base_version=form.cleaned_data["base_version"], user=request.user, **changes
    )
    if result.stale:
        data = request.POST.copy()
        data["base_version"] = result.current.version
        current = _item(request.user, pk)
        return render(
            request,
            f"{REVIEW}#item-form",
            {
                "item": current,
                "form": _update_form(current, data),
                "conflict": current,
            },
            status=409,
        )
    return _saved_row(request, pk)


@require_http_methods(["GET", "POST"])
def item_snooze(request, pk: int):
    item = _editable_item(request, pk)
    today = timezone.localdate()
    if not item.is_open:
        message = "This item is closed; reopen it before snoozing it."
        if request.htmx:
            return _row(request, item, status=409, notice=message)
        messages.error(request, message)
        return redirect(item)
    if request.method == "GET":
        form = _snooze_form(item, today=today)
        return render(request, f"{REVIEW}#snooze-form", {"item": item, "form": form})
    form = _snooze_form(item, request.POST, today=today)
    if not form.is_valid():
        if request.htmx:
            return render(
                request, f"{REVIEW}#snooze-form", {"item": item, "form": form}, status=422
            )
        return _item_page(request, item, snooze_form=form, status=422)
    result = action_item_snooze(
        item=item,
        until=form.cleaned_data["until"],
        reason=form.cleaned_data["reason"],
        base_version=form.cleaned_data["base_version"],
        user=request.user,
    )
    if result.stale:
        current = _item(request.user, pk)
        data = request.POST.copy()
        data["base_version"] = current.version
        form = _snooze_form(current, data, today=today)
        due = f"{current.due_date:%Y-%m-%d}" if current.due_date else "on no date"
        note = f"It is now due {due}; save again to snooze it anyway."
        if request.htmx:
            return render(
                request,
                f"{REVIEW}#snooze-form",
                {"item": current, "form": form, "conflict": current, "conflict_note": note},
                status=409,
            )
        return _item_page(
            request, current, snooze_form=form, conflict=current, conflict_note=note, status=409
        )
    if request.htmx:
        return _saved_row(request, pk)
    messages.success(request, f"Snoozed until {form.cleaned_data['until']:%d %b %Y}.")
    return redirect(item)


def _recheck_form(item: ActionItem, data=None) -> RecheckForm:
    return RecheckForm(
        data, auto_id=f"recheck-{item.pk}-%s", initial={"base_version": item.version}
    )


@require_http_methods(["GET", "POST"])
def item_recheck(request, pk: int):
    """Answer "is it still working?" for a done item whose re-check day has come."""
    item = _editable_item(request, pk)
    today = timezone.localdate()
    if not item.recheck_due(today):
        message = "This item has no re-check due; it may have been re-checked already."
        if request.htmx:
            return _row(request, item, status=409, notice=message)
        messages.info(request, message)
        return redirect(item)
    if request.method == "GET":
        form = _recheck_form(item)
        return render(request, f"{REVIEW}#recheck-form", {"item": item, "form": form})
    form = _recheck_form(item, request.POST)
    if not form.is_valid():
        if request.htmx:
            context = {"item": item, "form": form}
            return render(request, f"{REVIEW}#recheck-form", context, status=422)
        return _item_page(request, item, recheck_form=form, status=422)
    result = action_item_recheck(
        item=item,
        still_working=form.cleaned_data["result"] == RecheckForm.WORKING,
        note=form.cleaned_data["note"],
        today=today,
        base_version=form.cleaned_data["base_version"],
        user=request.user,
    )
    if result.stale:
        message = "Someone changed this item since you opened the form. Look again."
        if request.htmx:
            return _row(request, _item(request.user, pk), status=409, notice=message)
        messages.error(request, message)
        return redirect(item)
    if request.htmx:
        return _saved_row(request, pk)
    messages.success(request, "Re-check recorded.")
    return redirect(item)


# One action item's own page ----------------------------------------------------------------


def _item_page(
    request,
    item: ActionItem,
    *,
    form=None,
    snooze_form=None,
    recheck_form=None,
    status=200,
    **extra,
):
    today = timezone.localdate()
    context = {
        "item": item,
        "today": today,
        "form": form or ActionItemForm(instance=item, initial={"base_version": item.version}),
        "snooze_form": snooze_form or _snooze_form(item, today=today),
        "recheck_form": recheck_form or _recheck_form(item),
        "changes": action_item_history(item),
        "tracker_connection": connection_for(item),
        **extra,
    }
    return render(request, ITEM, context, status=status)


@require_http_methods(["GET", "POST"])
def item_detail(request, pk: int):
    item = get_object_or_404(
        _visible_items(request.user).select_related(
            "incident__severity",
            "incident__owner",
            "premortem__facilitator",
            "owner",
            "team",
            "cause",
            "created_by",
        ),
        pk=pk,
    )
    if request.method == "GET":
        return _item_page(request, item)
    require_action_item_edit(request.user, item)
    form = ActionItemForm(request.POST, instance=ActionItem.objects.get(pk=pk))
    if not form.is_valid():
        return _item_page(request, item, form=form, status=422)
    changes = {k: v for k, v in form.cleaned_data.items() if k != "base_version"}
    result = action_item_update(
        item, base_version=form.cleaned_data["base_version"], user=request.user, **changes
    )
    if result.stale:
        data = request.POST.copy()
        data["base_version"] = result.current.version
        current = ActionItem.objects.get(pk=pk)
        return _item_page(
            request,
            item,
            form=ActionItemForm(data, instance=current),
            conflict=current,
            status=409,
        )
    messages.success(request, "Saved.")
    return redirect(item)


# Reminder preferences ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def nag_preferences(request):
    preference = NagPreference.objects.filter(user=request.user).first() or NagPreference(
        user=request.user
    )
    form = NagPreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST":
        if request.POST.get("resume"):
            preference.paused_until = None
            saved = "Reminders are back on."
        elif form.is_valid():
            preference = form.save(commit=False)
            saved = "Your reminder preferences are saved."
        else:
            saved = ""
        if saved:
            preference._history_user = request.user
            preference.save()
            messages.success(request, saved)
            return redirect("nag-preferences")
    status = 422 if form.is_bound and form.errors else 200
    return render(
        request,
        "actions/preferences.html",
        {"form": form, "preference": preference, "today": timezone.localdate()},
        status=status,
    )


# Review meetings ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def review_meetings(request, ref: str):
    incident = incident_for(request.user, ref)
    if request.method == "POST":
        require_edit(request.user, incident)
    meeting = ReviewMeeting(incident=incident, recorded_by=request.user)
    form = ReviewMeetingForm(
        request.POST or None, instance=meeting, initial={"held_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        meeting = form.save(commit=False)
        meeting._history_user = request.user
        meeting.save()
        messages.success(request, f"Review meeting of {meeting.held_on:%d %b %Y} recorded.")
        return redirect("review-meetings", ref=incident.ref)
    meetings = list(incident.review_meetings.select_related("recorded_by"))
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "actions/meetings.html",
        {"incident": incident, "meetings": meetings, "form": form},
        status=status,
    )


# Preventive items from a premortem -----------------------------------------------------------


@require_POST
def premortem_item_new(request, premortem: int, group: int):
    """Turn one of a premortem's groups into a preventive action item."""
    found = get_object_or_404(
        visible_team_records(request.user, Premortem.objects.select_related("team")),
        pk=premortem,
    )
    require_facilitate(request.user, found)
    chosen = get_object_or_404(found.groups, pk=group)
    form = PreventiveItemForm(request.POST)
    if not form.is_valid():
        context = {**board_context(found, request.user), "item_form": form, "item_group": chosen}
        return render(request, PREMORTEM_PAGE, context, status=422)
    try:
        preventive_item_create(
            premortem=found, group=chosen, user=request.user, **form.cleaned_data
        )
    except RoundRefused as error:
        context = {**board_context(found, request.user), "refusal": str(error)}
        return render(request, PREMORTEM_PAGE, context, status=409)
    messages.success(request, "Filed: it is reminded about and reviewed like any other item.")
    return redirect(f"{found.get_absolute_url()}#group-{chosen.pk}")
