"""Searching everything written: ranked full-text search on PostgreSQL, a plain substring
search on the embedded SQLite. Both return the same kind of hits, both rank a bounded set of
candidates, and both read only incidents the policy lets the reader see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchHeadline, SearchQuery
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident
from incidents.policy import visible_incidents, visible_rows
from kernel.kinds import BlockKind, kind_named, searchable_kinds
from search.indexing import CONFIG, MARK_START, MARK_STOP
from search.models import SearchEntry

PER_PAGE = 20
MAX_PAGE = 25
# At most this many matches are ranked: for a word found in more places, the most recent
# CAP of them (and the page says so). Every one of them can be paged to.
CAP = PER_PAGE * MAX_PAGE
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
        try:
            kind = kind_named(self.kind)
        except LookupError:
            return self.kind
        return kind.search.label or kind.label

    @property
    def url(self) -> str:
        return f"{self.incident.get_absolute_url()}#{self.kind}-{self.block_id}"


@dataclass
class Results:
    hits: list[Hit]
    total: int
    page: int
    # More than CAP places matched: these are the best of the most recent CAP.
    capped: bool = False

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // PER_PAGE)))

    @property
    def cap_text(self) -> str:
        return f"{CAP:,}"


def marked(headline: str) -> SafeString:
    """Escape the user's text, then turn the headline's markers into <mark>."""
    html = escape(headline).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above; only our own tags were added


def search(
    reader,
    q: str,
    *,
    page: int = 1,
    within: QuerySet[Incident] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Results:
    """What `reader` may see that matches `q`, ranked; `within` narrows to some incidents
    (the list's filters), `since`/`until` to incidents started in that span."""
    search_in = search_postgres if connection.vendor == "postgresql" else search_fallback
    return search_in(reader, q, page=page, within=within, since=since, until=until)


def search_postgres(reader, q, *, page=1, within=None, since=None, until=None) -> Results:
    """1. Take the matches (GIN index) the reader may see, most recent first, at most CAP + 1:
       for a rare word the planner reads them from the GIN index, for a very common one it
       walks the entries' start index and stops after CAP + 1; nothing counts every match.
    2. Rank those candidates (a title above a block's heading above its text; the newer
       first among equals) and keep one page, with how many candidates there were.
    3. Only for that page, ask PostgreSQL for the highlighted snippet (ts_headline is slow,
       so it must not run over every match)."""
    query = SearchQuery(q, search_type="websearch", config=CONFIG)
    matches = SearchEntry.objects.filter(visible_rows(reader), vector=query)
    if within is not None:
        matches = matches.filter(incident__in=within)
    if since is not None:
        matches = matches.filter(started_at__gte=since)
    if until is not None:
        matches = matches.filter(started_at__lt=until)
    candidates = matches.order_by("-started_at", "-id").values_list("id", "started_at", "vector")
    try:
        sql, params = candidates[: CAP + 1].query.sql_with_params()
    except EmptyResultSet:  # the reader may see nothing at all
        return Results([], 0, page)
    start = (page - 1) * PER_PAGE
    with connection.cursor() as cursor:
        # The (CAP + 1)th most recent match only tells that there were more than CAP.
        cursor.execute(
            f"""SELECT id, ts_rank(vector, websearch_to_tsquery(%s::regconfig, %s)) AS rank,
                       total
                FROM (SELECT c.*, count(*) OVER () AS total,
                             row_number() OVER (ORDER BY c.started_at DESC, c.id DESC) AS n
                      FROM ({sql}) AS c(id, started_at, vector)) AS c
                WHERE n <= %s
                ORDER BY rank DESC, started_at DESC, id DESC
                LIMIT %s OFFSET %s""",
            [CONFIG, q, *params, CAP, PER_PAGE, start],
        )
        ranked = cursor.fetchall()
        if ranked or page == 1:
            total = ranked[0][2] if ranked else 0
        else:  # a page past the last one: say how many there were
            cursor.execute(f"SELECT count(*) FROM ({sql}) AS c", params)
            total = cursor.fetchone()[0]
    rank_of = {pk: rank for pk, rank, _ in ranked}
    rows = (
        SearchEntry.objects.filter(pk__in=rank_of)
        .select_related("incident__severity")
        .defer("vector")
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
    hits = {
        row.pk: Hit(row.incident, row.kind, row.block_id, marked(row.headline.strip()), rank)
        for row in rows
        for rank in [rank_of[row.pk]]
    }
    return Results([hits[pk] for pk in rank_of if pk in hits], min(total, CAP), page, total > CAP)


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


def _all_in(fields: tuple[str, ...], words: list[str]) -> Q:
    """Every word in one of `fields` (any case)."""
    every = Q()
    for word in words:
        anywhere = Q()
        for name in fields:
            anywhere |= Q(**{f"{name}__icontains": word})
        every &= anywhere
    return every


def _fallback_kind(kind: BlockKind, incidents: QuerySet[Incident], words: list[str]) -> list:
    """(score, started, hit) for the most recent CAP + 1 blocks of `kind` holding every word.
    Scored like the PostgreSQL rank's weights: the incident's title 3, a block's heading 2,
    its text 1."""
    search = kind.search
    path = "" if search.incident == "pk" else f"{search.incident}__"
    blocks = (
        kind.model.objects.filter(**{f"{search.incident}__in": incidents})
        .filter(_all_in(search.heading + search.body, words))
        .annotate(started=F(f"{path}started_at"), incident_ref=F(search.incident))
        .order_by(f"-{path}started_at", "-pk")
    )
    found = []
    for block in blocks[: CAP + 1]:
        heading = "\n".join(str(getattr(block, name) or "") for name in search.heading)
        body = "\n".join(str(getattr(block, name) or "") for name in search.body)
        in_heading = any(word in heading.lower() for word in words)
        score = (3 if search.weight == "A" else 2) if in_heading else 1
        text = "\n".join(part for part in (heading, body) if part.strip())
        hit = Hit(block.incident_ref, kind.name, block.pk, _snippet(text, words))
        found.append((score, block.started, hit))
    return found


def search_fallback(reader, q, *, page=1, within=None, since=None, until=None) -> Results:
    """Every word must appear in the block (any case); the incident's title first, then a
    block's heading, then its text, the newest first among equals."""
    words = _words(q)
    if not words:
        return Results([], 0, page)
    incidents = visible_incidents(reader, within)
    if since is not None:
        incidents = incidents.filter(started_at__gte=since)
    if until is not None:
        incidents = incidents.filter(started_at__lt=until)
    found = [hit for kind in searchable_kinds() for hit in _fallback_kind(kind, incidents, words)]
    # As on PostgreSQL: the most recent CAP matches, then the best of them first.
    found.sort(key=lambda f: (f[1], f[2].block_id), reverse=True)
    capped = len(found) > CAP
    found = found[:CAP]
    found.sort(key=lambda f: (f[0], f[1], f[2].block_id), reverse=True)
    start = (page - 1) * PER_PAGE
    hits = [hit for _, _, hit in found[start : start + PER_PAGE]]
    by_id = Incident.objects.select_related("severity").in_bulk({hit.incident for hit in hits})
    for hit in hits:
        hit.incident = by_id[hit.incident]
    return Results(hits, min(len(found), CAP), page, capped)
