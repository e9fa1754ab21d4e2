"""Searching everything written: ranked full-text search on PostgreSQL, a plain substring
search on the embedded SQLite. Both return the same hits and both read only incidents the
policy lets the reader see."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident
from search.indexing import BY_KIND, CONFIG, KINDS, MARK_START, MARK_STOP, Indexed
from search.models import SearchEntry

PER_PAGE = 20
SNIPPET_CHARS = 90


@dataclass
class Hit:
    incident: Incident
    kind: str
    block_id: int
    snippet: SafeString
    rank: float = 0.0

    @property
    def kind_label(self) -> str:
        return SearchEntry.Kind(self.kind).label

    @property
    def url(self) -> str:
        anchor = BY_KIND[self.kind].anchor.format(pk=self.block_id)
        return f"{self.incident.get_absolute_url()}#{anchor}"


@dataclass
class Results:
    hits: list[Hit]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


def marked(headline: str) -> SafeString:
    """Escape the user's text, then turn the headline's markers into <mark>."""
    html = escape(headline).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above; only our own tags were added


def search(incidents: QuerySet[Incident], q: str, page: int = 1) -> Results:
    """`incidents` must already be what the reader may see (and any filters)."""
    if connection.vendor == "postgresql":
        return search_postgres(incidents, q, page)
    return search_fallback(incidents, q, page)


def search_postgres(incidents: QuerySet[Incident], q: str, page: int = 1) -> Results:
    """1. Match the entries' vectors (GIN index) against the query, within `incidents`.
    2. Rank the matches and keep one page of them.
    3. Only for that page, ask PostgreSQL for the highlighted snippet (ts_headline is slow,
       so it must not run over every match)."""
    query = SearchQuery(q, search_type="websearch", config=CONFIG)
    matches = SearchEntry.objects.filter(vector=query, incident__in=incidents)
    total = matches.count()
    start = (page - 1) * PER_PAGE
    ranked = list(
        matches.annotate(rank=SearchRank(F("vector"), query))
        .order_by("-rank", "-incident_id", "id")
        .values_list("id", "rank")[start : start + PER_PAGE]
    )
    rank_of = dict(ranked)
    rows = (
        SearchEntry.objects.filter(pk__in=rank_of)
        .select_related("incident__severity")
        .annotate(
            headline=SearchHeadline(
                Concat("heading", Value("\n"), "body", output_field=TextField()),
                query,
                config=CONFIG,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                max_words=35,
                min_words=15,
            )
        )
    )
    hits = [
        Hit(row.incident, row.kind, row.block_id, marked(row.headline.strip()), rank_of[row.pk])
        for row in rows
    ]
    hits.sort(key=lambda hit: (-hit.rank, -hit.incident.pk))
    return Results(hits, total, page)


def _words(q: str) -> list[str]:
    return [w for w in re.findall(r"\w+", q.lower()) if len(w) > 1][:8]


def _snippet(text: str, words: list[str]) -> SafeString:
    """A window of the text around the first word found, each found word marked."""
    lower = text.lower()
    found = [lower.find(w) for w in words if w in lower]
    first = min(found) if found else 0
    start = max(0, first - SNIPPET_CHARS // 2)
    window = text[start : start + 2 * SNIPPET_CHARS]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    html = pattern.sub(lambda m: f"{MARK_START}{m.group(0)}{MARK_STOP}", window)
    prefix = "… " if start else ""
    suffix = " …" if start + 2 * SNIPPET_CHARS < len(text) else ""
    return marked(prefix + html + suffix)


def _fallback_kind(indexed: Indexed, incidents, words: list[str]) -> list[Hit]:
    fields = {
        SearchEntry.Kind.INCIDENT: ("title",),
        SearchEntry.Kind.SECTION: ("body",),
        SearchEntry.Kind.ENTRY: ("text",),
        SearchEntry.Kind.CAUSE: ("statement",),
        SearchEntry.Kind.WHY: ("question", "answer", "evidence"),
        SearchEntry.Kind.ITEM: ("title", "outcome", "wont_do_reason"),
    }[indexed.kind]
    path = {
        SearchEntry.Kind.INCIDENT: "pk",
        SearchEntry.Kind.SECTION: "postmortem__incident",
        SearchEntry.Kind.ENTRY: "incident",
        SearchEntry.Kind.CAUSE: "postmortem__incident",
        SearchEntry.Kind.WHY: "cause__postmortem__incident",
        SearchEntry.Kind.ITEM: "incident",
    }[indexed.kind]
    blocks = indexed.model.objects.filter(**{f"{path}__in": incidents})
    for word in words:
        any_field = None
        for name in fields:
            condition = Q(**{f"{name}__icontains": word})
            any_field = condition if any_field is None else any_field | condition
        blocks = blocks.filter(any_field)
    hits = []
    if indexed.related:
        blocks = blocks.select_related(*indexed.related)
    for block in blocks[:200]:
        incident_id = indexed.incident_id(block)
        text = "\n".join(filter(None, [indexed.heading(block), indexed.body(block)]))
        hits.append(Hit(incident_id, indexed.kind, block.pk, _snippet(text, words)))
    return hits


def search_fallback(incidents: QuerySet[Incident], q: str, page: int = 1) -> Results:
    """Every word must appear in the block (any case); titles first, then the newest."""
    words = _words(q)
    if not words:
        return Results([], 0, page)
    hits = [hit for indexed in KINDS for hit in _fallback_kind(indexed, incidents, words)]
    by_id = incidents.model.objects.select_related("severity").in_bulk({h.incident for h in hits})
    for hit in hits:
        hit.incident = by_id[hit.incident]
    order = {indexed.kind: n for n, indexed in enumerate(KINDS)}
    hits.sort(key=lambda hit: (order[hit.kind], -hit.incident.started_at.timestamp()))
    start = (page - 1) * PER_PAGE
    return Results(hits[start : start + PER_PAGE], len(hits), page)
