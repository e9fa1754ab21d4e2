"""Search over everything written: ranked and highlighted on PostgreSQL, plain on SQLite."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from incidents.models import Incident, TimelineEntry
from search.models import SearchEntry
from search.queries import search_fallback, search_postgres
from tests import factories


def section(incident, key: str, body: str):
    found = incident.postmortem.sections.get(key=key)
    found.body = body
    found.save()
    return found


@pytest.fixture
def written(owner):
    titled = factories.incident(owner=owner, title="Database failover stalled checkout")
    mentioned = factories.incident(owner=owner, title="Slow search results")
    entry = factories.timeline_entry(
        mentioned, minutes=5, text="Someone asked whether the database was involved; it was not."
    )
    cause = factories.cause(titled, "Replica lag hid the failover", whys=0)
    why = cause.whys.create(
        question="Why did the failover stall?", answer="The fencing script timed out", position=0
    )
    item = factories.action_item(titled, title="Shorten the fencing timeout")
    summary = section(titled, "summary", "Checkout failed while the primary was fenced.")
    return {
        "titled": titled,
        "mentioned": mentioned,
        "entry": entry,
        "cause": cause,
        "why": why,
        "item": item,
        "summary": summary,
    }


def test_a_title_ranks_above_a_passing_mention(owner, written):
    results = search_postgres(owner, "database")
    found = [(hit.incident, hit.kind) for hit in results.hits]
    # Opening an incident writes its title into the first timeline entry, so it is found twice.
    assert found[0] == (written["titled"], "incident")
    assert sorted(found[1:], key=lambda f: f[0].pk) == [
        (written["titled"], "entry"),
        (written["mentioned"], "entry"),
    ]
    assert results.hits[0].rank > max(hit.rank for hit in results.hits[1:])


def test_hits_are_highlighted_and_link_to_their_block(owner, written):
    results = search_postgres(owner, "fencing")
    by_kind = {hit.kind: hit for hit in results.hits}
    # "fenced" in the summary shares the stem.
    assert set(by_kind) == {"why", "action", "section"}
    assert "<mark>fenced</mark>" in by_kind["section"].snippet
    assert "<mark>fencing</mark>" in by_kind["why"].snippet
    assert by_kind["why"].url == f"/incidents/{written['titled'].ref}/#why-{written['why'].pk}"
    assert by_kind["action"].url.endswith(f"#action-{written['item'].pk}")


def test_stemming_finds_other_forms_of_a_word(owner, written):
    results = search_postgres(owner, "fails")
    assert [hit.kind for hit in results.hits] == ["section"]
    assert "<mark>failed</mark>" in results.hits[0].snippet


def test_the_index_follows_saves_and_deletes(owner, written):
    summary = written["summary"]
    summary.body = "Nothing about it now."
    summary.save()
    assert "section" not in [h.kind for h in search_postgres(owner, "fenced").hits]
    written["entry"].delete()
    assert [h.incident for h in search_postgres(owner, "database").hits] == [
        written["titled"],
        written["titled"],
    ]
    written["titled"].title = "Primary election stalled"
    written["titled"].save()
    assert [h.kind for h in search_postgres(owner, "database").hits] == ["entry"]


def test_user_text_in_a_snippet_is_escaped(owner):
    incident = factories.incident(owner=owner)
    factories.timeline_entry(incident, text="<script>alert(1)</script> pager <b>storm</b>")
    hit = search_postgres(owner, "pager").hits[0]
    assert "<script" not in hit.snippet and "<b>" not in hit.snippet
    assert "<mark>pager</mark>" in hit.snippet


def test_the_fallback_finds_the_same_blocks_without_postgres_search(owner, written):
    results = search_fallback(owner, "Database")
    assert [(hit.incident, hit.kind) for hit in results.hits] == [
        (written["titled"], "incident"),
        (written["mentioned"], "entry"),  # newest first among the timeline hits
        (written["titled"], "entry"),
    ]
    assert "<mark>Database</mark>" in results.hits[0].snippet
    assert results.hits[1].url.endswith(f"#entry-{written['entry'].pk}")
    # Every word must appear in the block.
    assert [h.kind for h in search_fallback(owner, "fencing script").hits] == ["why"]


def test_the_fallback_escapes_user_text(owner):
    incident = factories.incident(owner=owner)
    factories.timeline_entry(incident, text="<img src=x onerror=alert(1)> pager")
    snippet = search_fallback(owner, "pager").hits[0].snippet
    assert "<img" not in snippet and "<mark>pager</mark>" in snippet


def test_the_page_searches_with_the_list_filters(owner_client, written):
    page = owner_client.get(reverse("search"), {"q": "database"})
    assert page.status_code == 200
    text = page.content.decode()
    assert f"#entry-{written['entry'].pk}" in text
    assert "<mark>" in text
    written["mentioned"].severity = factories.severity(3)
    written["mentioned"].save()
    filtered = owner_client.get(reverse("search"), {"q": "database", "severity": 1})
    assert {h.incident for h in filtered.context["results"].hits} == {written["titled"]}


def test_the_header_has_one_search_box(owner_client, db):
    text = owner_client.get(reverse("dashboard")).content.decode()
    assert text.count('role="search"') == 1
    assert 'action="/search/"' in text


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 201},
        {"q": "\x00"},
        {"q": "pool", "page": "0"},
        {"q": "pool", "page": "99999999999"},
        {"q": "pool", "severity": "abc"},
    ],
)
def test_bad_input_answers_400(owner_client, params, db):
    assert owner_client.get(reverse("search"), params).status_code == 400


@pytest.mark.parametrize(
    "q", ["pool\r\nSet-Cookie: x", '"unclosed', "-", "!!!&&|", "a:*", "<mark>"]
)
def test_odd_queries_answer_calmly(owner_client, written, q):
    response = owner_client.get(reverse("search"), {"q": q})
    assert response.status_code == 200


def test_search_asks_a_fixed_number_of_queries(owner_client, owner, django_assert_max_num_queries):
    for n in range(3):
        factories.timeline_entry(factories.incident(owner=owner), text=f"pager storm {n}")
    with django_assert_max_num_queries(10) as few:
        owner_client.get(reverse("search"), {"q": "pager"})
    for n in range(10):
        factories.timeline_entry(factories.incident(owner=owner), text=f"pager storm again {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(reverse("search"), {"q": "pager"})
    assert response.context["results"].total == 13


def test_rebuild_indexes_what_bypassed_save(owner, written):
    summary = written["summary"]
    summary.__class__.objects.filter(pk=summary.pk).update(body="A quorum was lost")
    assert search_postgres(owner, "quorum").total == 0
    from search.indexing import rebuild

    rebuild()
    assert search_postgres(owner, "quorum").total == 1
    assert SearchEntry.objects.filter(kind="entry").count() == TimelineEntry.objects.count()


def test_newer_comes_first_among_equal_hits(owner):
    older = factories.incident(owner=owner, title="Pager storm", started_at=days_ago(9))
    newer = factories.incident(owner=owner, title="Pager storm", started_at=days_ago(2))
    for search_in in (search_postgres, search_fallback):
        titles = [h.incident for h in search_in(owner, "storm").hits if h.kind == "incident"]
        assert titles == [newer, older], search_in


def days_ago(days: int):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(days=days)


@pytest.fixture
def secret(owner, teammate):
    team = factories.team("Payments")
    team.members.add(teammate)
    hidden = factories.incident(owner=owner, title="Quorum lost on the ledger", private=True)
    hidden.team = team
    hidden.save()
    factories.timeline_entry(hidden, text="The ledger quorum was lost at noon")
    return hidden


@pytest.mark.parametrize("search_in", [search_postgres, search_fallback])
def test_a_private_incident_is_absent_for_an_outsider(secret, owner, teammate, outsider, search_in):
    assert search_in(outsider, "quorum").hits == []
    assert search_in(outsider, "quorum").total == 0
    assert {h.incident for h in search_in(teammate, "quorum").hits} == {secret}
    assert {h.incident for h in search_in(owner, "quorum").hits} == {secret}
    assert search_in(AnonymousUser(), "quorum").hits == []
    admin = factories.user("root", is_superuser=True)
    assert {h.incident for h in search_in(admin, "quorum").hits} == {secret}


def test_the_private_flag_follows_the_incident(secret, outsider, client):
    secret.private = False
    secret.save()
    assert {h.kind for h in search_postgres(outsider, "quorum").hits} == {"incident", "entry"}
    secret.private = True
    secret.save()
    client.force_login(outsider)
    page = client.get(reverse("search"), {"q": "quorum ledger"})
    assert page.status_code == 200
    assert "ledger" not in page.content.decode().split("</h1>", 1)[1].replace("quorum ledger", "")
    assert page.context["results"].total == 0


@pytest.mark.parametrize("search_in", [search_postgres, search_fallback])
def test_more_matches_than_the_cap_rank_the_most_recent(owner, monkeypatch, search_in):
    monkeypatch.setattr("search.queries.CAP", 3)
    old = factories.incident(owner=owner, title="Disk full", started_at=days_ago(30))
    for n in range(4):
        factories.timeline_entry(
            factories.incident(owner=owner, started_at=days_ago(n + 1)), text=f"disk full {n}"
        )
    results = search_in(owner, "disk")
    assert results.capped and results.total == 3
    assert old not in {hit.incident for hit in results.hits}
    assert len(results.hits) == 3


def test_the_page_says_when_the_matches_were_capped(owner_client, owner, monkeypatch):
    monkeypatch.setattr("search.queries.CAP", 2)
    for n in range(3):
        factories.timeline_entry(factories.incident(owner=owner), text=f"disk full {n}")
    text = owner_client.get(reverse("search"), {"q": "disk"}).content.decode()
    assert "More than 2 places found: these are the best of the 2 most recent." in text


@pytest.mark.parametrize(
    "q", ["!:&|()'", "a & b | !c", "(database", "database:*", "'", "&", "x <-> y", "\u00a0é"]
)
def test_query_syntax_characters_answer_calmly(owner_client, written, q):
    response = owner_client.get(reverse("search"), {"q": q})
    assert response.status_code == 200
    assert response.context["results"] is None or response.context["results"].total >= 0


@pytest.mark.parametrize(
    ("dates", "found"),
    [
        ({"since": "0001-01-01", "until": "9999-12-31"}, True),
        ({"since": "9999-12-31"}, False),
        ({"until": "0001-01-01"}, False),
    ],
)
def test_far_dates_answer_calmly(owner_client, written, dates, found):
    response = owner_client.get(reverse("search"), {"q": "database", **dates})
    assert response.status_code == 200
    assert bool(response.context["results"].hits) is found


@pytest.mark.parametrize(
    "dates",
    [
        {"since": "2026-13-01"},
        {"since": "10000-01-01"},
        {"since": "12/01/2026"},
        {"since": "2026-11-20", "until": "2026-11-19"},
    ],
)
def test_bad_dates_answer_400_in_words(owner_client, db, dates):
    response = owner_client.get(reverse("search"), {"q": "pool", **dates})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode() or "on or after" in response.content.decode()


def test_the_day_filter_keeps_incidents_started_in_it(owner_client, owner):
    from django.utils import timezone

    early = factories.incident(owner=owner, title="Cert expired", started_at=days_ago(40))
    late = factories.incident(owner=owner, title="Cert expired", started_at=days_ago(1))
    since = timezone.localdate(days_ago(10)).isoformat()
    response = owner_client.get(reverse("search"), {"q": "cert", "since": since})
    assert {hit.incident for hit in response.context["results"].hits} == {late}
    until = timezone.localdate(days_ago(40)).isoformat()
    response = owner_client.get(reverse("search"), {"q": "cert", "until": until})
    assert {hit.incident for hit in response.context["results"].hits} == {early}


def test_a_page_past_the_last_says_how_many_there_were(owner_client, written):
    response = owner_client.get(reverse("search"), {"q": "database", "page": 5})
    assert response.status_code == 200
    results = response.context["results"]
    assert results.hits == [] and results.total == 3


@pytest.mark.parametrize("search_in", [search_postgres, search_fallback])
def test_an_incident_made_private_without_its_save_is_still_hidden(secret, outsider, search_in):
    """A bulk update skips the model's save; the entries' copy of the flag follows anyway."""
    Incident.objects.filter(pk=secret.pk).update(private=False)
    assert search_in(outsider, "quorum").hits
    Incident.objects.filter(pk=secret.pk).update(private=True)
    assert search_in(outsider, "quorum").hits == []
    assert search_in(outsider, "quorum").total == 0
