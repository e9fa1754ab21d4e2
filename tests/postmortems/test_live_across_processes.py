"""Two server processes behind one proxy: a save through one reaches streams on the other,
presence is shared, a page catches up on whichever process it reconnects to, and caps count
across both."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from postmortems.models import Section
from tests import factories
from tests.servers import AsgiServer, EventStream, free_port, server_env

CSRF = "twoprocessescsrftoken0123456789a"  # 32 characters: a valid unmasked CSRF secret
STREAMS_PER_USER = 2


@pytest.fixture(scope="module")
def two_servers(django_db_setup, django_db_blocker):
    env = server_env(HINDSIGHT_STREAMS_PER_USER=str(STREAMS_PER_USER))
    first = AsgiServer(env, free_port())
    second = AsgiServer(env, free_port({first.port}))
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()


def signed_in(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def post(server: AsgiServer, path: str, cookie: str, fields: dict) -> tuple[int, dict]:
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(
        f"{server.url}{path}",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Cookie": f"{cookie}; csrftoken={CSRF}", "X-CSRFToken": CSRF},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read().decode()}


def is_save_of(section: Section, version: int):
    return lambda event: (
        event["event"] == "change"
        and (
            event["data"].get("kind"),
            event["data"].get("id"),
            event["data"].get("version"),
        )
        == ("section", section.pk, version)
    )


@pytest.mark.django_db(transaction=True)
def test_a_save_presence_and_catch_up_cross_between_server_processes(two_servers):
    first, second = two_servers
    priya = factories.user("priya", first_name="Priya", last_name="Raman")
    marcus = factories.user("marcus", first_name="Marcus", last_name="Webb")
    incident = factories.incident(owner=priya)
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    priya_cookie, marcus_cookie = signed_in(priya), signed_in(marcus)
    events = f"/incidents/{incident.ref}/events/"
    autosave = f"/incidents/{incident.ref}/section/{section.pk}/autosave/"

    # Marcus's page holds its stream on the second process; Priya saves through the first.
    stream = EventStream(second, events, marcus_cookie)
    assert stream.status == 200
    stream.until(lambda event: event["event"] == "ready")
    status, saved = post(first, autosave, priya_cookie, {"body": "One", "base_version": 1})
    assert (status, saved["version"]) == (200, 2)
    delivered = stream.until(is_save_of(section, 2))
    assert delivered["data"]["by"] == "Priya Raman"

    # Presence: Priya's page beats on the first, Marcus's page on the second sees her.
    assert post(first, f"/incidents/{incident.ref}/presence/", priya_cookie, {"tab": "p"})[0] == 200
    status, here = post(second, f"/incidents/{incident.ref}/presence/", marcus_cookie, {"tab": "m"})
    assert status == 200
    assert {person["name"] for person in here["people"]} == {"Priya Raman", "Marcus Webb"}
    seen = stream.until(lambda event: event["event"] == "presence")
    assert "Priya Raman" in {person["name"] for person in seen["data"]["people"]}

    # The connection drops; two saves go by; the page reconnects, this time to the first.
    last_seen = delivered["id"]
    stream.close()
    for version in (2, 3):
        status, _ = post(
            first, autosave, priya_cookie, {"body": f"v{version}", "base_version": version}
        )
        assert status == 200
    again = EventStream(first, events, marcus_cookie, last_event_id=last_seen)
    assert again.status == 200
    caught_up = []
    while (event := again.next_event())["event"] != "ready":
        caught_up.append(event)
    again.close()
    saves = [e["data"]["version"] for e in caught_up if e["data"].get("kind") == "section"]
    assert saves == [3, 4]


@pytest.mark.django_db(transaction=True)
def test_a_persons_stream_cap_counts_both_processes_and_frees_a_closed_slot(two_servers):
    first, second = two_servers
    priya = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.incident(owner=priya)
    cookie = signed_in(priya)
    events = f"/incidents/{incident.ref}/events/"

    held = [EventStream(first, events, cookie), EventStream(second, events, cookie)]
    refused = EventStream(first, events, cookie)

    assert [stream.status for stream in held] == [200, 200]
    assert refused.status == 429
    assert int(refused.response.getheader("Retry-After")) >= 1
    assert b"at most 2" in refused.response.read()
    held[1].close()  # the tab on the second process closes
    # The second process notices the closed connection and gives its place back.
    for _ in range(100):
        reopened = EventStream(first, events, cookie)
        if reopened.status == 200:
            break
        reopened.close()
        time.sleep(0.1)
    assert reopened.status == 200
    reopened.close()
    held[0].close()
