from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.safestring import SafeString, mark_safe

from kernel.markdown import render_markdown
from kernel.text import display_name
from kernel.text import initials as initials_of

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 has sanitised it


@register.filter
def duration(value: timedelta | None) -> str:
    """A span of time the way responders say it: 47m, 2h 05m, 3d 4h."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


@register.filter
def initials(user) -> str:
    return initials_of(user)


@register.filter
def person(user) -> str:
    if user is None:
        return "nobody"
    return display_name(user)


@register.filter
def field_display(obj, name: str) -> str:
    """A field's value as a person reads it: choice labels, names, or a dash for nothing."""
    display = getattr(obj, f"get_{name}_display", None)
    if display is not None:
        return display()
    value = getattr(obj, name, None)
    if hasattr(value, "all"):
        return ", ".join(str(item) for item in value.all()) or "—"
    if value is None or value == "":
        return "—"
    if hasattr(value, "get_full_name"):
        return person(value)
    return str(value)


@register.filter
def max_length(form, name: str) -> int | str:
    """The most characters a form field takes, or "" when it has no limit."""
    return getattr(form.fields[name], "max_length", None) or ""
