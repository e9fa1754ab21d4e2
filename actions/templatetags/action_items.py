from __future__ import annotations

from datetime import date

from django import template

from actions.models import ActionItem

register = template.Library()


@register.filter
def days_overdue(item: ActionItem, today: date) -> int:
    return item.days_overdue(today)


@register.filter
def recheck_due(item: ActionItem, today: date) -> bool:
    return item.recheck_due(today)
