"""How long the document page of a long incident takes to serve, beside the login page.

One uvicorn process, one document with 300 timeline entries, 50 action items and the written
sections; the document page and the login page are asked for in turn, so both see the same
machine load. Every other document request follows a save of one timeline entry, so the
page is measured both with its long lists reused whole and with one list assembled again.
Prints the server round trip (loopback, so nearly all of it is server time), the ratio of the
medians, the page weight, and the queries of one page load at two sizes, with nothing cached
and with the lists reused (each should be the same number at both sizes).

    .venv/bin/python bench/document_page.py [--rounds 200] [--entries 300] [--actions 50]
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import timedelta

import httpx
from live_server import percentile, prepare, uvicorn

logging.getLogger("httpx").setLevel(logging.WARNING)


def fill(ref: str, entries: int, actions: int) -> None:
    """Give the bench document a long timeline, many action items and written sections."""
    from django.contrib.auth import get_user_model

    from actions.models import ActionItem
    from incidents.models import Incident, TimelineEntry
    from postmortems.models import Cause, Why

    incident = Incident.objects.get(number=int(ref.split("-")[1]))
    user = get_user_model().objects.get(username="editor0")
    start = incident.started_at.replace(microsecond=0)  # as typed: to the second
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            occurred_at=start + timedelta(minutes=n),
            text=f"Step {n}: checked the replica lag on db-{n % 7} and paged the on-call DBA.",
            added_by=user,
        )
        for n in range(entries - incident.timeline.count())
    )
    causes = [
        Cause.objects.create(postmortem=incident.postmortem, statement=f"Cause {n}", position=n)
        for n in range(5)
    ]
    for cause in causes:
        Why.objects.bulk_create(
            Why(cause=cause, question=f"Why {n}?", answer="Because.", position=n) for n in range(3)
        )
    ActionItem.objects.bulk_create(
        ActionItem(
            incident=incident,
            title=f"Alert on replica lag above {n} seconds",
            owner=user,
            cause=causes[n % len(causes)],
            due_date=start.date() + timedelta(days=30),
        )
        for n in range(actions)
    )
    for section in incident.postmortem.sections.all():
        section.body = "## What happened\n\n" + "A *paragraph* of prose with `code`. " * 20
        section.save()


def save_an_entry(ref: str, n: int) -> None:
    """One timeline entry saved through its service, as the page's editor saves it."""
    from django.contrib.auth import get_user_model

    from incidents.editing import timeline_entry_update
    from incidents.models import TimelineEntry

    entry = TimelineEntry.objects.filter(incident__number=int(ref.split("-")[1])).order_by("pk")[
        n % 50
    ]
    timeline_entry_update(
        entry,
        base_version=entry.version,
        user=get_user_model().objects.get(username="editor0"),
        text=f"Step {n}: checked the replica lag again.",
    )


def queries(ref: str, cookie_user: str) -> tuple[int, int]:
    """Queries of a page load with nothing cached, then of the next one (its lists reused)."""
    from django.core.cache import cache

    _queries(ref, cookie_user)  # the process's first page load also fills its own caches
    cache.clear()
    return _queries(ref, cookie_user), _queries(ref, cookie_user)


def _queries(ref: str, cookie_user: str) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=cookie_user))
    with CaptureQueriesContext(connection) as captured:
        client.get(f"/incidents/{ref}/", HTTP_HOST="127.0.0.1")
    return len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--actions", type=int, default=50)
    args = parser.parse_args()
    setup = prepare(editors=1)
    ref = setup["ref"]
    fill(ref, entries=30, actions=5)
    small = queries(ref, "editor0")
    fill(ref, entries=args.entries, actions=args.actions - 5)
    large = queries(ref, "editor0")
    with uvicorn() as (url, _port):
        document, after_save, login = [], [], []
        weight = 0
        # Two clients: the signed-in one's cookies must not reach the login page.
        with httpx.Client(base_url=url) as client, httpx.Client(base_url=url) as anonymous:
            for n in range(args.rounds + 10):
                # Every other round follows a save of one timeline entry, as in a war room: that
                # list is then assembled again from its blocks' fragments (one rendered afresh).
                saved = n % 2 == 1
                if saved:
                    save_an_entry(ref, n)
                started = time.perf_counter()
                response = client.get(f"/incidents/{ref}/", headers={"Cookie": setup["cookies"][0]})
                took = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (n, response.headers)
                weight = len(response.content)
                if n >= 10:  # the first requests warm the process and its caches
                    (after_save if saved else document).append(took)
                started = time.perf_counter()
                response = anonymous.get("/login/")
                took = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.status_code
                if n >= 10:
                    login.append(took)
    print(
        f"document page: {args.entries} timeline entries, {args.actions} action items, "
        f"{args.rounds} rounds, one uvicorn process, interleaved with the login page"
    )
    series = (
        ("document page", document),
        ("  after a save", after_save),
        ("login page", login),
    )
    for label, values in series:
        print(
            f"  {label:<14} p50 {percentile(values, 50):7.1f} ms   p95 "
            f"{percentile(values, 95):7.1f} ms   (n={len(values)})"
        )
    ratio = percentile(document, 50) / percentile(login, 50)
    ratio_saved = percentile(after_save, 50) / percentile(login, 50)
    print(
        f"  ratio of medians {ratio:.1f}× ({ratio_saved:.1f}× after a save)   "
        f"page weight {weight / 1024:.0f} KiB"
    )
    print(
        f"  queries per page load, afresh / lists reused: {small[0]} / {small[1]} at 30 entries, "
        f"{large[0]} / {large[1]} at {args.entries}"
    )


if __name__ == "__main__":
    main()
