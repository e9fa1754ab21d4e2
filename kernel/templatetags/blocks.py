from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.safestring import SafeString, mark_safe

from kernel import fragments
from kernel.kinds import kind_named
from kernel.markdown import render_markdown
from kernel.text import display_name
from kernel.text import initials as initials_of

register = template.Library()


@register.simple_tag(takes_context=True)
def block_fragments(context, rows, kind_name: str) -> SafeString:
    """`{% block_fragments timeline "entry" %}`: each block's HTML, cached by version, in order.

    For the audience of the page (`may_edit`), with one cache round trip for the whole list.
    A single block may be given in place of a list.
    """
    rows = [rows] if hasattr(rows, "pk") else rows
    try:
        kind = kind_named(kind_name)
    except LookupError:
        # No kind of that name (another has taken its model over): the page's partial of that
        # name, rendered as it is, uncached.
        partial = context.template.extra_data["partials"][kind_name]
        parts = []
        for row in rows:
            with context.push(block=row):
                parts.append(partial.render(context))
        return mark_safe("".join(parts))  # noqa: S308 - rendered templates
    return fragments.many(
        kind,
        rows,
        document=context["incident"],
        audience_=fragments.audience(bool(context.get("may_edit"))),
    )


class CachedListNode(template.Node):
    def __init__(self, name: str, nodelist: template.NodeList):
        self.name = name
        self.nodelist = nodelist

    def render(self, context) -> str:
        cached = (context.get("cached_lists") or {}).get(self.name)
        if cached is not None and cached.html is not None:
            return cached.html
        html = self.nodelist.render(context)
        if cached is not None:
            fragments.keep_list(cached, html)
        return html


@register.tag
def cached_list(parser, token) -> CachedListNode:
    """`{% cached_list timeline %}…{% endcached_list %}`: the list's whole HTML, reused while
    none of its blocks changed (see fragments.cached_lists, which the page view asks first).
    Rendered as it is where the view did not ask."""
    try:
        _, name = token.split_contents()
    except ValueError:
        raise template.TemplateSyntaxError("cached_list takes the name of a list") from None
    nodelist = parser.parse(("endcached_list",))
    parser.delete_first_token()
    return CachedListNode(name, nodelist)


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
