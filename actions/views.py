from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from actions.models import ActionItem


@require_GET
def my_action_items(request):
    items = list(
        ActionItem.objects.filter(owner=request.user)
        .select_related("incident__severity", "cause")
        .order_by("status", "due_date", "id")
    )
    open_items = [item for item in items if item.is_open]
    closed_items = [item for item in items if not item.is_open]
    return render(
        request,
        "actions/mine.html",
        {"open_items": open_items, "closed_items": closed_items, "today": timezone.localdate()},
    )
