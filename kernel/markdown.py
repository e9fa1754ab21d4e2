"""Markdown written by people, rendered to HTML that can carry no script."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# Raw HTML in the source is shown as text; nh3 then keeps only harmless tags and attributes.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_renderer.enable("strikethrough")

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}


# A section's text is shown to editors and readers, in every time zone, in pages, lists and live
# events: each version is rendered once per process, not once per look.
@lru_cache(maxsize=128)
def render_markdown(text: str) -> str:
    html = _renderer.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
