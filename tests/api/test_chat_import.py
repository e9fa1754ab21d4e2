from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.models import ChatImport
from incidents import policy
from incidents.chat_import import ChatFormatError, parse_chat
from incidents.models import TimelineEntry
from tests import factories

SLACK = (
    Path(__file__).parent.parent / "fixtures" / "chat" / "slack_incident_channel_2025-11-30.json"
)
BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def test_slack_export_reads_authors_times_and_marks_noise():
    lines = parse_chat(SLACK.read_text(), zone=BERLIN, day=date(2025, 11, 30))
    assert [(line.author, bool(line.noise)) for line in lines] == [
        ("Priya Raman", True),  # joined
        ("PagerDuty", True),  # a bot
        ("Priya Raman", False),
        ("Marcus Webb", True),  # joined
        ("Marcus Webb", False),
        ("Marcus Webb", False),
        ("Priya Raman", True),  # topic
    ]
    said = lines[4]
    assert said.when == datetime(2025, 11, 30, 14, 4, 12, 118829, tzinfo=UTC)
    assert said.text == "@Priya Raman deploy was 4f2c9e1 (pool size change). Rolling back now"
    assert "checkout dashboard (https://grafana.example.com/d/checkout)" in lines[5].text
    assert "& falling" in lines[5].text
    assert lines[4].key.startswith("slack:")


def test_copied_slack_thread_in_the_chosen_zone():
    thread = (
        "Priya Raman  2:14 PM\n"
        "checkout is throwing 500s\n"
        "looking at the deploy\n"
        "Marcus Webb  [2:15 PM]\n"
        "rolling back\n"
    )
    lines = parse_chat(thread, zone=BERLIN, day=date(2025, 11, 30))
    assert [(line.author, line.text) for line in lines] == [
        ("Priya Raman", "checkout is throwing 500s\nlooking at the deploy"),
        ("Marcus Webb", "rolling back"),
    ]
    # 14:14 in Berlin (winter) is 13:14 UTC.
    assert lines[0].when.astimezone(UTC).hour == 13


def test_copied_teams_thread_and_joins():
    thread = (
        "[14:14] Priya Raman\nerrors are up\n[14:16] Marcus Webb\nhas joined the conversation.\n"
    )
    lines = parse_chat(thread, zone=UTC, day=date(2025, 11, 30))
    assert [line.noise for line in lines] == ["", "joined or left"]


def test_transcript_rolls_past_midnight_and_keeps_dated_stamps():
    transcript = (
        "23:58 priya: still failing\n"
        "00:03 marcus: pool resized\n"
        "[2025-12-01T00:10:00Z] <deploy-bot> deployed 4f2c9e2\n"
    )
    lines = parse_chat(transcript, zone=UTC, day=date(2025, 11, 30))
    assert [line.when.isoformat() for line in lines] == [
        "2025-11-30T23:58:00+00:00",
        "2025-12-01T00:03:00+00:00",
        "2025-12-01T00:10:00+00:00",
    ]
    assert lines[2].noise == "a bot"


@pytest.mark.parametrize("raw", ["", "no times here at all", "[not json", '{"messages": 3}'])
def test_unreadable_chats_say_why(raw):
    with pytest.raises(ChatFormatError):
        parse_chat(raw, zone=UTC, day=date(2025, 11, 30))


def test_a_line_with_an_absurd_date_is_dropped_not_crashed():
    lines = parse_chat(
        "[0001-01-01 00:00] a: x\n[9999-12-31T23:59:59-05:00] b: y\n14:00 c: z\x00",
        zone=BERLIN,
        day=date(2025, 11, 30),
    )
    assert [(line.author, line.text) for line in lines] == [("c", "z")]


@pytest.mark.django_db
def test_preview_tick_import_and_reimport(owner_client, incident, owner):
    url = f"/incidents/{incident.ref}/chat-import/"
    page = owner_client.get(url)
    assert page.status_code == 200
    assert '<label for="id_chat">' in page.content.decode()
    upload = SimpleUploadedFile("2025-11-30.json", SLACK.read_bytes(), "application/json")
    preview = owner_client.post(
        url,
        {
            "step": "preview",
            "time_zone": "Europe/Berlin",
            "day": "2025-11-30",
            "export_file": upload,
        },
    )
    assert preview.status_code == 200
    html = preview.content.decode()
    # Shown in the chosen zone: 14:04:12 UTC is 15:04:12 in Berlin.
    assert "15:04:12" in html and "Europe/Berlin" in html
    assert html.count('name="line"') == 7
    assert html.count(" checked>") == 3
    raw = SLACK.read_text()
    lines = parse_chat(raw, zone=BERLIN, day=date(2025, 11, 30))
    chosen = [line.key for line in lines if not line.noise]
    done = owner_client.post(
        url,
        {
            "step": "import",
            "time_zone": "Europe/Berlin",
            "day": "2025-11-30",
            "chat": raw,
            "line": chosen,
        },
    )
    assert done.status_code == 302
    entries = incident.timeline.filter(source=TimelineEntry.Source.CHAT)
    assert entries.count() == 3
    assert entries.first().text.startswith("Priya Raman: I'm on it.")
    assert entries.first().added_by == owner
    assert entries.first().history.exists()
    # The same messages again add nothing, and the preview says they are there.
    again = owner_client.post(
        url,
        {
            "step": "import",
            "time_zone": "Europe/Berlin",
            "day": "2025-11-30",
            "chat": raw,
            "line": chosen,
        },
    )
    assert again.status_code == 302
    assert entries.count() == 3 and ChatImport.objects.count() == 3
    preview = owner_client.post(
        url, {"step": "preview", "time_zone": "UTC", "day": "2025-11-30", "chat": raw}
    )
    assert preview.content.decode().count("Imported already") == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"time_zone": "Mars/Olympus", "day": "2025-11-30", "chat": "14:00 a: b"},
        {"time_zone": "UTC", "day": "0001-01-01", "chat": "14:00 a: b"},
        {"time_zone": "UTC", "day": "2025-11-30", "chat": ""},
        {"time_zone": "UTC", "day": "2025-11-30", "chat": "nothing with a time"},
        {"time_zone": "UTC\r\n", "day": "99999-01-01", "chat": "\x00"},
    ],
)
def test_bad_input_is_422_with_words(owner_client, incident, data):
    response = owner_client.post(
        f"/incidents/{incident.ref}/chat-import/", {"step": "preview", **data}
    )
    assert response.status_code == 422
    assert 'class="errorlist' in response.content.decode() or "errors" in response.content.decode()
    assert not incident.timeline.filter(source=TimelineEntry.Source.CHAT).exists()


@pytest.mark.django_db
def test_the_page_asks_the_policy(owner_client, client, incident, monkeypatch):
    url = f"/incidents/{incident.ref}/chat-import/"
    monkeypatch.setattr(policy, "can_edit", lambda user, incident: False)
    assert owner_client.get(url).status_code == 403
    # A private incident does not exist for someone not on it.
    type(incident).objects.filter(pk=incident.pk).update(private=True)
    client.force_login(factories.user("outsider"))
    assert client.get(url).status_code == 404
    assert owner_client.get("/incidents/INC-99999999999/chat-import/").status_code == 404
