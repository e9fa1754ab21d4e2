"""The one registry of block kinds: everything the engine, history, live events and the page
script need to know about a kind of block, registered by the app that owns it.

Each app registers its kinds in its `AppConfig.ready()`. Nothing else keeps a table of kinds or
compares kind names: the save engine, the history, the live events, the document views, the
block-form partial and the page script (which gets `page_registry()` as JSON) all read this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Max, Prefetch
from django.shortcuts import get_object_or_404

from kernel.text import shorten

# The document object every callable below is given: the incident whose page shows the block.
# The kernel does not know what it is; the apps that register kinds do.
Document = Any


@dataclass(frozen=True)
class Searchable:
    """What the search over everything written reads of a kind's blocks. Registering a kind
    with one makes its blocks searchable: they are indexed on save and found by `/search/`.
    """

    # The lookup from a block to its incident ("postmortem__incident"), for set-based work.
    incident: str
    # The fields naming the block (weighed `weight`) and the fields of its text (weighed C).
    heading: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    # "A" for what names the incident itself, "B" for what heads one block.
    weight: str = "B"
    # What a hit of this kind is called in the results, when not the kind's label.
    label: str = ""


@dataclass(frozen=True)
class FormHolder:
    """The element an edit form is shown in when it replaces a block that a table or a list
    holds, where a bare form is not allowed: the table keeps only rows, the list only items.

    The holder takes the block's id and its `block` class, so whatever finds a block by either
    (the page script, `hx-target="closest .block"`) finds the open form the same way.
    """

    tag: str
    css_class: str
    # A table row's one cell spans this many columns.
    colspan: int | None = None


def table_row(colspan: int) -> FormHolder:
    """For blocks that are rows of a table `colspan` columns wide."""
    return FormHolder(tag="tr", css_class="form-row", colspan=colspan)


# For blocks that are items of a list (`<ol>` or `<ul>`).
LIST_ITEM = FormHolder(tag="li", css_class="form-item")


@dataclass(frozen=True)
class BlockKind:
    # In URLs, element ids (`<name>-<pk>`), events and history links.
    name: str
    model: type[models.Model]
    # What a person calls one of them ("Timeline entry"); the history and form labels use it.
    label: str
    # The template that owns this kind's partials, and the partial showing one block.
    template: str
    partial: str
    # This kind's blocks in one document, and the document a block belongs to.
    blocks: Callable[[Document], models.QuerySet]
    incident_id: Callable[[models.Model], int | None]
    # The history rows of this kind in one document, and the fields a diff shows and a revert
    # restores (internal bookkeeping such as `position` stays out).
    history: Callable[[Document], models.QuerySet]
    tracked_fields: tuple[str, ...]
    # The words naming one block (or one of its history rows) in the history.
    describe: Callable[[Any], str] = field(default=lambda record: "")
    # The name of one block's edit form, when it is not just the kind's label (a section's
    # form is named by its title, so "Incident summary" finds it).
    aria_label: Callable[[models.Model], str] | None = None
    # Editing. A kind without a form is kept for the record only (its rows appear in the
    # history and are never edited or reverted in place).
    form: type | None = None
    # The versioned-save service for this kind: `update(block, base_version=, user=, **fields)`.
    update: Callable[..., Any] | None = None
    m2m_fields: tuple[str, ...] = ()
    # Text fields merged three ways when someone saved in between; see kernel.merge.
    merge_fields: tuple[str, ...] = ()
    # The text field the page saves as it is typed (sections), if any.
    autosave_field: str | None = None
    # Keeps the text of a save that could not be merged: (block, text, base_version, user).
    keep_conflict: Callable[..., models.Model | None] | None = None
    after_save: Callable[[models.Model], None] | None = None
    # Adding, moving and deleting: only for kinds that live in a list the page can refresh.
    new_form: type | None = None
    new_block: Callable | None = None
    list_partial: str | None = None
    # When the list lives inside a block of another kind (whys inside their cause): that kind,
    # and the field of this kind naming the block holding the list.
    parent: str | None = None
    parent_field: str | None = None
    siblings: Callable[[models.Model], models.QuerySet] | None = None
    deletable: bool = False
    # What the document page gets of this kind: a context name, the rows, the prefetch.
    document_list: str | None = None
    document_rows: Callable[[Document], list] | None = None
    prefetch: tuple = ()
    # Kinds whose HTML is cached by version (kernel.fragments): what else a block's HTML shows
    # besides its own row, as a short string that changes when that does (a section's images,
    # the cause an item addresses). None: rendered afresh each time.
    fragment_stamp: Callable[[models.Model], str] | None = None
    # A list whose whole HTML is cached too (kernel.fragments.cached_lists): each block of the
    # document's list as (pk, version, stamp), in the page's order, read without loading the
    # rows; the stamp is what `fragment_stamp` says of the loaded row. `document_path` is the
    # relation the page prefetches the rows through, left out while the list's HTML is reused.
    light_rows: Callable[[Document], list[tuple[int, int, str]]] | None = None
    document_path: str | None = None
    # What an edit form is shown in, in place of a block that is a table row or a list item.
    # None: the form itself takes the block's place.
    form_holder: FormHolder | None = None
    # Kinds whose lists show something of this kind's blocks (causes show the action items
    # addressing them): open pages re-read those lists when a block of this kind changes.
    refreshes: tuple[str, ...] = ()
    # The text people write in this kind, which the page reads back to them with notes on
    # wording that blames (see postmortems.blameless), and whether naming people belongs in it
    # (a timeline says who did what; an analysis should not).
    prose_fields: tuple[str, ...] = ()
    names_expected: Callable[[models.Model], bool] = field(default=lambda block: True)
    # The live channel of a block that belongs to no incident's document (an action item a
    # premortem filed): its changes are announced there instead.
    channel: Callable[[models.Model], str | None] | None = None
    # Found by the search over everything written, if set.
    search: Searchable | None = None

    @property
    def editable(self) -> bool:
        return self.form is not None

    @property
    def movable(self) -> bool:
        return self.siblings is not None

    def get(self, document: Document, pk: int) -> models.Model:
        return get_object_or_404(self.blocks(document), pk=pk)

    def parent_id(self, block) -> int | None:
        return getattr(block, self.parent_field) if self.parent_field else None

    def form_label(self, block, *, new: bool = False) -> str:
        """The name of an edit form, read out by screen readers and used to find it."""
        if new:
            return f"New {self.label.lower()}"
        return self.aria_label(block) if self.aria_label else self.label

    def for_page(self) -> dict:
        """What the page script needs to know: where a changed block's list lives."""
        return {
            "list": self.list_partial,
            "parent": self.parent,
            "autosave": self.autosave_field,
        }


_KINDS: dict[str, BlockKind] = {}


def register(kind: BlockKind) -> BlockKind:
    if kind.name in _KINDS and _KINDS[kind.name] != kind:
        raise ValueError(f"A block kind named {kind.name!r} is registered already.")
    if any(k.model is kind.model and k.name != kind.name for k in _KINDS.values()):
        raise ValueError(f"{kind.model.__name__} is registered as another kind already.")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def kinds() -> list[BlockKind]:
    return list(_KINDS.values())


def kind_named(name: str) -> BlockKind:
    """The kind of that name; LookupError if none is registered."""
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(name) from None


def kind_of(block: models.Model | type[models.Model]) -> BlockKind | None:
    model = block if isinstance(block, type) else type(block)
    return next((kind for kind in _KINDS.values() if kind.model is model), None)


def searchable_kinds() -> list[BlockKind]:
    return [kind for kind in _KINDS.values() if kind.search is not None]


def page_registry() -> dict[str, dict]:
    return {kind.name: kind.for_page() for kind in _KINDS.values() if kind.editable}


def document_prefetch(leave_out: Iterable[str] = ()) -> list:
    """What a document page prefetches, without the lists named in `leave_out` (their HTML is
    reused whole, so their rows are not needed)."""
    paths = [kind.document_path for kind in _KINDS.values() if kind.document_list in leave_out]
    return [
        lookup
        for kind in _KINDS.values()
        for lookup in kind.prefetch
        if not any(_under(_lookup_path(lookup), path) for path in paths if path)
    ]


def block_prefetch(kind: BlockKind) -> list:
    """What the document page prefetches under the kind's rows (a timeline entry's images),
    as lookups from the rows themselves: for loading some of them on their own."""
    if not kind.document_path:
        return []
    prefix = f"{kind.document_path}__"
    found = []
    for lookup in document_prefetch():
        path = _lookup_path(lookup)
        if not path.startswith(prefix):
            continue
        if isinstance(lookup, Prefetch):
            found.append(
                Prefetch(path.removeprefix(prefix), lookup.queryset, to_attr=lookup.to_attr)
            )
        else:
            found.append(path.removeprefix(prefix))
    return found


def _lookup_path(lookup) -> str:
    return lookup.prefetch_through if isinstance(lookup, Prefetch) else lookup


def _under(lookup: str, path: str) -> bool:
    return lookup == path or lookup.startswith(f"{path}__")


def document_lists(document: Document, leave_out: Iterable[str] = ()) -> dict[str, list]:
    return {
        kind.document_list: kind.document_rows(document)
        for kind in _KINDS.values()
        if kind.document_list and kind.document_rows and kind.document_list not in leave_out
    }


def next_position(queryset: models.QuerySet) -> int:
    top = queryset.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def described(prefix: str, text: str, width: int = 60) -> str:
    return f"{prefix}: {shorten(text, width)}" if prefix else shorten(text, width)
