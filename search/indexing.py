"""Keeping the search entries current: each written block is indexed when it is saved.

Every searchable kind is one `Indexed` row in `KINDS` (its model, how to read its incident,
heading and body, and its anchor on the document). A save of any of them, through any service,
upserts its entry in one statement that also computes the weighted vector; a delete removes
it. Writes that bypass `save()` (queryset `update()`, plain bulk inserts) are caught up by
`python manage.py rebuild_search_index`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from actions.models import ActionItem
from incidents.models import Incident, TimelineEntry
from postmortems.models import Cause, Section, Why
from search.models import SearchEntry

# Control characters nobody types, stripped from indexed text so snippets can be marked with
# them and escaped safely before <mark> goes in.
MARK_START, MARK_STOP = "\x02", "\x03"
CONFIG = "english"


@dataclass(frozen=True)
class Indexed:
    kind: str
    model: type[Model]
    incident_id: Callable[[Model], int]
    heading: Callable[[Model], str]
    body: Callable[[Model], str]
    heading_weight: str  # "A" for what names the incident, "B" for what heads a block
    anchor: str  # the block's id on the document page, with {pk}
    related: tuple[str, ...] = ()  # select_related for a rebuild


def _joined(*parts: str) -> str:
    return "\n".join(part for part in parts if part and part.strip())


KINDS = [
    Indexed(
        SearchEntry.Kind.INCIDENT, Incident, lambda i: i.pk, lambda i: i.title, lambda i: "", "A",
        "incident-{pk}",
    ),
    Indexed(
        SearchEntry.Kind.SECTION, Section, lambda s: s.postmortem.incident_id,
        lambda s: "", lambda s: s.body, "B", "section-{pk}", ("postmortem",),
    ),
    Indexed(
        SearchEntry.Kind.ENTRY, TimelineEntry, lambda e: e.incident_id, lambda e: "",
        lambda e: e.text, "B", "entry-{pk}",
    ),
    Indexed(
        SearchEntry.Kind.CAUSE, Cause, lambda c: c.postmortem.incident_id,
        lambda c: c.statement, lambda c: "", "B", "cause-{pk}", ("postmortem",),
    ),
    Indexed(
        SearchEntry.Kind.WHY, Why, lambda w: w.cause.postmortem.incident_id,
        lambda w: w.question, lambda w: _joined(w.answer, w.evidence), "B", "why-{pk}",
        ("cause__postmortem",),
    ),
    Indexed(
        SearchEntry.Kind.ITEM, ActionItem, lambda a: a.incident_id, lambda a: a.title,
        lambda a: _joined(a.outcome, a.wont_do_reason), "B", "action-{pk}",
    ),
]  # fmt: skip
BY_MODEL = {indexed.model: indexed for indexed in KINDS}
BY_KIND = {indexed.kind: indexed for indexed in KINDS}


def clean(text: str) -> str:
    return text.replace("\x00", "").replace(MARK_START, "").replace(MARK_STOP, "")


UPSERT = f"""
INSERT INTO search_searchentry (incident_id, kind, block_id, heading, body, vector)
SELECT v.incident_id, v.kind, v.block_id, v.heading, v.body,
       setweight(to_tsvector('{CONFIG}', v.heading), v.weight::"char")
       || setweight(to_tsvector('{CONFIG}', v.body), 'C')
FROM (VALUES %s) AS v(incident_id, kind, block_id, heading, body, weight)
ON CONFLICT (kind, block_id) DO UPDATE
SET incident_id = EXCLUDED.incident_id, heading = EXCLUDED.heading, body = EXCLUDED.body,
    vector = EXCLUDED.vector
"""


def entry_values(indexed: Indexed, block: Model) -> tuple:
    return (
        indexed.incident_id(block),
        indexed.kind,
        block.pk,
        clean(indexed.heading(block))[:300],
        clean(indexed.body(block)),
        indexed.heading_weight,
    )


def index_blocks(indexed: Indexed, blocks: Iterable[Model]) -> int:
    """Upsert the entries of `blocks` (all of one kind) in one statement; PostgreSQL only."""
    if connection.vendor != "postgresql":
        return 0
    rows, empty = [], []
    for block in blocks:
        values = entry_values(indexed, block)
        # An entry belongs to an incident: a premortem's preventive item has none, and
        # premortems stay out of search (their reasons are hidden until revealed).
        searchable = values[0] is not None and (values[3] or values[4])
        (rows if searchable else empty).append(values)
    if empty:
        SearchEntry.objects.filter(kind=indexed.kind, block_id__in=[v[2] for v in empty]).delete()
    if not rows:
        return 0
    placeholders = ", ".join(["(%s::bigint, %s, %s::bigint, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(UPSERT % placeholders, [value for row in rows for value in row])
    return len(rows)


def _saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        index_blocks(BY_MODEL[sender], [instance])


def _deleted(sender, instance, **kwargs) -> None:
    SearchEntry.objects.filter(kind=BY_MODEL[sender].kind, block_id=instance.pk).delete()


def connect() -> None:
    for indexed in KINDS:
        uid = f"search-{indexed.kind}"
        post_save.connect(_saved, sender=indexed.model, dispatch_uid=uid)
        post_delete.connect(_deleted, sender=indexed.model, dispatch_uid=uid)


def rebuild(batch: int = 2000) -> int:
    """Index every block again, in batches (after bulk writes or a restore)."""
    total = 0
    for indexed in KINDS:
        queryset = indexed.model.objects.order_by("pk")
        if indexed.related:
            queryset = queryset.select_related(*indexed.related)
        last = 0
        while blocks := list(queryset.filter(pk__gt=last)[:batch]):
            total += index_blocks(indexed, blocks)
            last = blocks[-1].pk
    return total
