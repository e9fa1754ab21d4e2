"""A block's HTML rendered once per version and audience, and shared by everyone who reads it.

The key is (kind, id, version, audience) plus whatever else the HTML shows: the time zone and
day it was rendered in (times and "overdue" depend on them), what the kind's `fragment_stamp`
says of the rows it shows besides its own (a section's images, an item's cause) and the
template's own text, so a deploy with changed markup never serves the old. Nothing in a
fragment differs per person: controls come per audience (may edit, may only read), never a
name, a CSRF token or "you".

Django's cache holds the fragments: Redis when configured, local memory in the embedded mode.
Page loads, the list responses, catch-up after a reconnect and live events all read from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from kernel.kinds import BlockKind, block_prefetch, kind_named, kinds

# Who a fragment is rendered for: the people who may edit the document see its controls.
EDIT = "edit"
READ = "read"
AUDIENCES = (EDIT, READ)

# Long enough to outlive any meeting; a version that is superseded is simply never asked for.
FRAGMENT_SECONDS = 24 * 60 * 60


def audience(may_edit: bool) -> str:
    return EDIT if may_edit else READ


@lru_cache(maxsize=64)
def template_stamp(template_name: str) -> str:
    """A short digest of the template's text: changed markup never meets old cached HTML."""
    source = get_template(template_name.partition("#")[0]).template.source
    return hashlib.blake2s(source.encode(), digest_size=6).hexdigest()


def _key_prefix(kind: BlockKind, audience_: str) -> str:
    """The part of the keys shared by every block of a kind rendered here and now."""
    return ":".join(
        (
            "fragment",
            # Two sites (or a test run beside a benchmark) sharing one Redis never mix blocks.
            settings.DATABASES["default"]["NAME"],
            kind.name,
            audience_,
            timezone.get_current_timezone_name(),
            timezone.localdate().isoformat(),
            template_stamp(kind.template),
        )
    )


@dataclass(frozen=True)
class LightRow:
    """A block known by its id, version and stamp only (see BlockKind.light_rows): enough to
    find its HTML in the cache. The row itself is loaded only if the HTML is not there."""

    pk: int
    version: int
    stamp: str


def _stamp(kind: BlockKind, block) -> str:
    return block.stamp if isinstance(block, LightRow) else kind.fragment_stamp(block)


def _keys(kind: BlockKind, blocks: list, audience_: str) -> list[str | None]:
    """Where each block's HTML is cached; None for all of a kind whose HTML is not cached."""
    if kind.fragment_stamp is None:
        return [None] * len(blocks)
    prefix = _key_prefix(kind, audience_)
    return [_block_key(prefix, block.pk, block.version, _stamp(kind, block)) for block in blocks]


def _block_key(prefix: str, pk: int, version: int, stamp: str) -> str:
    if len(stamp) > 40:
        stamp = hashlib.blake2s(stamp.encode(), digest_size=10).hexdigest()
    return f"{prefix}:{pk}:{version}:{stamp}"


def fragment_key(kind: BlockKind, block, audience_: str) -> str | None:
    return _keys(kind, [block], audience_)[0]


# Fragments read ahead for the page being rendered (see `primed`), by key.
_primed: ContextVar[dict[str, str] | None] = ContextVar("primed_fragments", default=None)


def document_blocks(lists: dict[str, list]) -> Iterator[tuple[BlockKind, object]]:
    """Every cached-kind block a document page shows, from its lists (see kinds.document_lists)
    and the lists inside their blocks (whys inside causes)."""
    for kind in kinds():
        if kind.fragment_stamp is None:
            continue
        if kind.document_list in lists:
            yield from ((kind, block) for block in lists[kind.document_list])
        elif kind.parent and kind.parent_field:
            parent = kind_named(kind.parent)
            field = kind.model._meta.get_field(kind.parent_field.removesuffix("_id"))
            accessor = field.remote_field.get_accessor_name()
            for holder in lists.get(parent.document_list, ()):
                yield from ((kind, block) for block in getattr(holder, accessor).all())


@contextmanager
def primed(blocks: Iterable[tuple[BlockKind, object]], audience_: str):
    """Read every fragment a page will show in one cache round trip, before it is rendered."""
    by_kind: dict[BlockKind, list] = {}
    for kind, block in blocks:
        by_kind.setdefault(kind, []).append(block)
    keys = [key for kind, rows in by_kind.items() for key in _keys(kind, rows, audience_) if key]
    token = _primed.set(cache.get_many(keys) if keys else {})
    try:
        yield
    finally:
        _primed.reset(token)


def render(kind: BlockKind, block, *, document, audience_: str, **extra) -> SafeString:
    """A block's HTML as its kind's partial shows it, with nothing cached or looked up."""
    context = {
        "incident": document,
        "block": block,
        "kind": kind,
        "may_edit": audience_ == EDIT,
        "today": timezone.localdate(),
        **extra,
    }
    return mark_safe(get_template(f"{kind.template}#{kind.partial}").render(context))  # noqa: S308


def block_html(kind: BlockKind, block, *, document, audience_: str) -> SafeString:
    """One block's HTML, from the cache when that version was rendered for that audience."""
    return many(kind, [block], document=document, audience_=audience_)


def many(kind: BlockKind, blocks: Iterable, *, document, audience_: str) -> SafeString:
    """Several blocks' HTML in their order, with one cache round trip for all of them.

    What is missing is rendered and stored, so the next page load, list, catch-up or live
    event of that version reads it back instead of rendering it again.
    """
    blocks = list(blocks)
    keys = _keys(kind, blocks, audience_)
    found = _primed.get() or {}
    asked = [key for key in keys if key and key not in found]
    if asked:
        found = {**found, **cache.get_many(asked)}
    # Light rows whose HTML is not cached are loaded now, the few of them in one query.
    unknown = [
        block.pk
        for block, key in zip(blocks, keys, strict=True)
        if isinstance(block, LightRow) and found.get(key) is None
    ]
    loaded = {}
    if unknown:
        rows = kind.blocks(document).filter(pk__in=unknown).prefetch_related(*block_prefetch(kind))
        loaded = {row.pk: row for row in rows}
    rendered, missing = [], {}
    for block, key in zip(blocks, keys, strict=True):
        html = found.get(key) if key else None
        if html is None and isinstance(block, LightRow):
            if block.pk not in loaded:
                continue  # deleted since its light row was read
            block = loaded[block.pk]
            # Stored under the key it was asked by: if it changed meanwhile, that key is never
            # asked again, and the page's events bring the newer version.
        if html is None:
            html = render(kind, block, document=document, audience_=audience_)
            if key:
                missing[key] = str(html)
        rendered.append(html)
    if missing:
        cache.set_many(missing, FRAGMENT_SECONDS)
    return mark_safe("".join(rendered))  # noqa: S308 - each part is a rendered template


def for_audiences(kind: BlockKind, block, *, document) -> dict[str, str]:
    """The block's HTML for each audience: what a live event carries."""
    return {
        name: str(block_html(kind, block, document=document, audience_=name)) for name in AUDIENCES
    }


def _list_place(kind: BlockKind, rows: list[LightRow], document, audience_, page) -> tuple:
    """Where a whole list's HTML is kept, and the digest of its blocks' keys (it changes
    whenever one of them does, a block comes or goes, or the order changes).

    One place per list, audience and variant: a newer state of the list replaces the older,
    so a document saved every second keeps one copy of each list, not one per save.
    """
    prefix = _key_prefix(kind, audience_)
    blocks = "|".join(_block_key(prefix, row.pk, row.version, row.stamp) for row in rows)
    digest = hashlib.blake2s(blocks.encode(), digest_size=16).hexdigest()
    return f"list:{prefix}:{document.pk}:{page}", digest


@dataclass(frozen=True)
class CachedList:
    key: str
    digest: str
    html: str | None
    # The list's blocks as light rows, in order: they stand in for the loaded rows when the
    # list has to be assembled again and its kind caches each block's HTML.
    rows: list[LightRow]


def cached_lists(
    document, audience_: str, *, template: str, variant: str = ""
) -> dict[str, CachedList]:
    """Each whole-list-cached list of the document page: where it is kept, its HTML if what
    is kept there is of the blocks as they are now, and its blocks as light rows.

    The list HTML is the list's partial (wrapper and controls included), so it may show only
    what its blocks, the audience, the time zone, the day and the document's reference decide;
    `variant` names anything else the page changes in it (an ordering asked for). The page's
    `template` is part of the place, so changed markup never meets a list kept before.
    """
    page = f"{template_stamp(template)}:{variant}"
    lists = {}
    for kind in kinds():
        if kind.light_rows is None or not kind.document_list:
            continue
        rows = [LightRow(*row) for row in kind.light_rows(document)]
        lists[kind.document_list] = (*_list_place(kind, rows, document, audience_, page), rows)
    found = cache.get_many([key for key, _, _ in lists.values()]) if lists else {}
    cached = {}
    for name, (key, digest, rows) in lists.items():
        kept_digest, html = found.get(key) or (None, None)
        cached[name] = CachedList(key, digest, html if kept_digest == digest else None, rows)
    return cached


def caches_blocks(list_name: str) -> bool:
    """Whether each block of the document's list `list_name` has its own HTML cached, so that
    light rows can stand in for the list's unchanged blocks."""
    return any(
        kind.document_list == list_name and kind.fragment_stamp is not None for kind in kinds()
    )


def keep_list(cached: CachedList, html: str) -> None:
    """Keep a list's HTML rendered after `cached_lists` found none for its blocks as they are."""
    cache.set(cached.key, (cached.digest, html), FRAGMENT_SECONDS)
