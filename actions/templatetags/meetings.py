"""What the review meeting page shows of a meeting's agenda and clock."""

from __future__ import annotations

from django import template

from actions import meetings

register = template.Library()


@register.filter
def agenda(meeting) -> list[meetings.AgendaPart]:
    return meetings.agenda(meeting)


@register.filter
def clock(seconds: float) -> str:
    """Seconds as minutes and seconds, `12:05`; the page's script keeps it ticking."""
    whole = int(seconds or 0)
    return f"{whole // 60:02d}:{whole % 60:02d}"


@register.simple_tag
def blameless_reminder() -> str:
    return meetings.BLAMELESS_REMINDER
