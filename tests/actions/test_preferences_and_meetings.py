"""Reminder settings per person, and recording an incident's review meeting."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from actions.models import NagPreference, ReviewMeeting
from tests.actions.conftest import MONDAY

pytestmark = pytest.mark.django_db

PREFERENCES = "/actions/preferences/"


@pytest.fixture(autouse=True)
def on_monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def test_everyone_starts_with_email_and_slack(owner_client):
    response = owner_client.get(PREFERENCES)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_by_email" checked' in html and 'id="id_by_slack" checked' in html
    assert ">Pause reminders until" in html


def test_pausing_for_a_holiday_and_resuming(owner_client, owner):
    response = owner_client.post(
        PREFERENCES, {"by_email": "on", "by_slack": "on", "paused_until": "2026-12-06"}
    )
    assert response.status_code == 302
    preference = NagPreference.objects.get(user=owner)
    assert preference.paused_until == date(2026, 12, 6)
    assert preference.history.first().history_user == owner
    page = owner_client.get(PREFERENCES).content.decode()
    assert "Reminders are paused until Sunday 6 December 2026." in page

    owner_client.post(PREFERENCES, {"resume": "1"})
    preference.refresh_from_db()
    assert preference.paused_until is None
    assert (preference.by_email, preference.by_slack) == (True, True)


def test_turning_off_every_channel_is_refused_in_place(owner_client, owner):
    response = owner_client.post(PREFERENCES, {"paused_until": ""})
    assert response.status_code == 422
    assert "Keep at least one way to reach you" in response.content.decode()
    assert not NagPreference.objects.filter(user=owner).exists()


def test_people_only_ever_change_their_own_settings(client, owner, teammate):
    client.force_login(teammate)
    client.post(PREFERENCES, {"by_email": "on", "user": owner.pk})
    assert NagPreference.objects.get().user == teammate


def test_a_review_meeting_is_recorded_for_the_incident(owner_client, owner, incident):
    url = f"/actions/meetings/{incident.ref}/"
    page = owner_client.get(url).content.decode()
    assert "No review meeting recorded yet." in page and ">Held on" in page
    response = owner_client.post(url, {"held_on": "2026-11-20", "notes": "Agreed <3> owners"})
    assert response.status_code == 302
    meeting = ReviewMeeting.objects.get()
    assert (meeting.incident, meeting.held_on, meeting.recorded_by) == (
        incident,
        date(2026, 11, 20),
        owner,
    )
    page = owner_client.get(url).content.decode()
    assert "Held on 2026-11-20" in page and "Agreed &lt;3&gt; owners" in page


def test_a_meeting_cannot_be_recorded_ahead_of_time(owner_client, incident):
    url = f"/actions/meetings/{incident.ref}/"
    response = owner_client.post(url, {"held_on": "2026-11-30"})
    assert response.status_code == 422
    assert "Record a meeting once it has been held." in response.content.decode()
    assert owner_client.get("/actions/meetings/INC-999999/").status_code == 404


def test_the_postmortem_page_links_to_its_review_meetings(owner_client, incident):
    html = owner_client.get(incident.get_absolute_url()).content.decode()
    assert f'href="/actions/meetings/{incident.ref}/">Review meetings</a>' in html
