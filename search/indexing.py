"""Keeping the search entries current: each block of a searchable kind is indexed when saved.

What is searchable is the kind registry's to say: a `BlockKind` registered with a
`kernel.kinds.Searchable` (its incident lookup, heading and body fields, weight) is indexed
and found, with nothing here to change. A save of such a block, through any service, upserts
its entry in one statement that also computes the weighted vector and copies the incident's
start and private flag; a delete removes it; a database trigger brings those copies up to
date on all its entries whenever an incident's flag or start changes, however it is written.
Other writes that bypass `save()` (queryset `update()`, bulk inserts) are
caught up by `python manage.py rebuild_search_index`, set-based, one statement per kind.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from incidents.models import Incident
from kernel.kinds import BlockKind, kind_of, searchable_kinds
from search.models import SearchEntry

# Control characters nobody types, stripped from indexed text so snippets can be marked with
# them and escaped safely before <mark> goes in.
MARK_START, MARK_STOP = "\x02", "\x03"
CONFIG = "english"
HEADING_CHARS = 300

ENTRIES = SearchEntry._meta.db_table
INCIDENTS = Incident._meta.db_table
COLUMNS = "incident_id, kind, block_id, heading, body, vector, started_at, private"
# From rows (incident_id, kind, block_id, heading, body, weight) joined to their incident `i`.
VALUES = f"""
SELECT v.incident_id, v.kind, v.block_id, v.heading, v.body,
       setweight(to_tsvector('{CONFIG}', v.heading), v.weight::"char")
       || setweight(to_tsvector('{CONFIG}', v.body), 'C'),
       i.started_at, i.private
"""
ON_CONFLICT = """
ON CONFLICT (kind, block_id) DO UPDATE
SET incident_id = EXCLUDED.incident_id, heading = EXCLUDED.heading, body = EXCLUDED.body,
    vector = EXCLUDED.vector, started_at = EXCLUDED.started_at, private = EXCLUDED.private
"""


def clean(text: str) -> str:
    return text.replace("\x00", "").replace(MARK_START, "").replace(MARK_STOP, "")


def joined(block: Model, fields: tuple[str, ...]) -> str:
    parts = (str(getattr(block, name) or "") for name in fields)
    return clean("\n".join(part for part in parts if part.strip()))


def entry_values(kind: BlockKind, block: Model) -> tuple:
    return (
        kind.incident_id(block),
        kind.name,
        block.pk,
        joined(block, kind.search.heading)[:HEADING_CHARS],
        joined(block, kind.search.body),
        kind.search.weight,
    )


def index_blocks(kind: BlockKind, blocks: Iterable[Model]) -> int:
    """Upsert the entries of `blocks` (all of one kind) in one statement; PostgreSQL only."""
    if connection.vendor != "postgresql":
        return 0
    rows, empty = [], []
    for block in blocks:
        values = entry_values(kind, block)
        # An entry belongs to an incident: a premortem's preventive item has none, and
        # premortems stay out of search (their reasons are hidden until revealed).
        searchable = values[0] is not None and (values[3] or values[4])
        (rows if searchable else empty).append(values)
    if empty:
        SearchEntry.objects.filter(kind=kind.name, block_id__in=[v[2] for v in empty]).delete()
    if not rows:
        return 0
    placeholders = ", ".join(["(%s::bigint, %s, %s::bigint, %s, %s, %s)"] * len(rows))
    sql = f"""INSERT INTO {ENTRIES} ({COLUMNS}) {VALUES}
    FROM (VALUES {placeholders}) AS v(incident_id, kind, block_id, heading, body, weight)
    JOIN {INCIDENTS} i ON i.id = v.incident_id {ON_CONFLICT}"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
    return len(rows)


def _saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    kind = kind_of(sender)
    if kind is not None and kind.search is not None:
        index_blocks(kind, [instance])
    # An incident's start and private flag reach its entries by a database trigger (migration
    # 0004), whatever way the incident was written.


def _deleted(sender, instance, **kwargs) -> None:
    kind = kind_of(sender)
    if kind is not None and kind.search is not None:
        SearchEntry.objects.filter(kind=kind.name, block_id=instance.pk).delete()


def connect() -> None:
    """Listen to every model's saves, so a kind registered later (or in a test) is indexed."""
    post_save.connect(_saved, dispatch_uid="search-index-saved")
    post_delete.connect(_deleted, dispatch_uid="search-index-deleted")


def _text(fields: tuple[str, ...], columns: list[str]) -> str:
    """SQL joining the non-empty columns with newlines, as `joined` does."""
    if not fields:
        return "''"
    parts = ", ".join(f"NULLIF(btrim(s.{column}::text), '')" for column in columns)
    text = f"concat_ws(E'\\n', {parts})"
    return f"replace(replace({text}, chr(2), ''), chr(3), '')"


def index_kind(kind: BlockKind) -> int:
    """Index every block of `kind` again in one statement (after bulk writes or a restore)."""
    search = kind.search
    fields = [search.incident, "pk", *search.heading, *search.body]
    sql, params = kind.model.objects.values_list(*fields).query.sql_with_params()
    names = [f"c{n}" for n in range(len(fields))]
    heading = _text(search.heading, names[2 : 2 + len(search.heading)])
    body = _text(search.body, names[2 + len(search.heading) :])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ENTRIES} WHERE kind = %s", [kind.name])
        cursor.execute(
            f"""INSERT INTO {ENTRIES} ({COLUMNS}) {VALUES}
            FROM (SELECT s.c0 AS incident_id, %s::text AS kind, s.c1 AS block_id,
                         left({heading}, {HEADING_CHARS}) AS heading, {body} AS body,
                         %s::text AS weight
                  FROM ({sql}) AS s({", ".join(names)})) AS v
            JOIN {INCIDENTS} i ON i.id = v.incident_id
            WHERE v.heading <> '' OR v.body <> ''""",
            [kind.name, search.weight, *params],
        )
        return cursor.rowcount


def rebuild() -> int:
    """Index every block of every searchable kind again; drop entries of kinds no longer so."""
    if connection.vendor != "postgresql":
        return 0
    kinds = searchable_kinds()
    SearchEntry.objects.exclude(kind__in=[kind.name for kind in kinds]).delete()
    return sum(index_kind(kind) for kind in kinds)
