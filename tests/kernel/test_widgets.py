"""Dates and times are typed and shown in ISO order, 24-hour, with the zone named beside them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, Severity
from kernel.widgets import IsoDateField, IsoDateTimeField, IsoDateTimeInput

BERLIN = ZoneInfo("Europe/Berlin")


class MomentForm(forms.Form):
    at = IsoDateTimeField(label="Time", help_text="When it happened.")
    day = IsoDateField(label="Day", required=False)


def cleaned(at: str, day: str = "", zone: str = "Europe/Berlin"):
    with timezone.override(ZoneInfo(zone)):
        form = MomentForm({"at": at, "day": day})
        return form.cleaned_data if form.is_valid() else form.errors


def test_it_shows_the_moment_in_the_viewers_zone_in_iso_order_with_the_zone_named():
    form = MomentForm(initial={"at": datetime(2026, 11, 20, 13, 5, tzinfo=UTC)})
    with timezone.override(BERLIN):
        html = str(form["at"])
    assert 'type="text"' in html
    assert 'value="2026-11-20 14:05"' in html
    assert 'placeholder="YYYY-MM-DD HH:MM"' in html
    assert "YYYY-MM-DD HH:MM, 24-hour, Europe/Berlin" in html
    # The note is read out with the field, after its help text.
    assert 'aria-describedby="id_at_helptext id_at_format"' in html
    assert '<span class="iso-note" id="id_at_format">' in html


def test_seconds_show_only_when_there_are_some():
    form = MomentForm(initial={"at": datetime(2026, 11, 20, 13, 5, 7, tzinfo=UTC)})
    with timezone.override(UTC):
        assert 'value="2026-11-20 13:05:07"' in str(form["at"])


@pytest.mark.parametrize(
    "typed", ["2026-11-20 14:05", " 2026-11-20 14:05 ", "2026-11-20T14:05", "2026-11-20 14:05:00"]
)
def test_it_reads_the_typed_time_in_the_viewers_zone(typed):
    assert cleaned(typed)["at"] == datetime(2026, 11, 20, 13, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "zone", "message"),
    [
        ("yesterday-ish", "Europe/Berlin", "Enter a date and time as YYYY-MM-DD HH:MM"),
        ("11/20/2026 02:05 PM", "Europe/Berlin", "Enter a date and time as YYYY-MM-DD HH:MM"),
        ("20.11.2026 14:05", "Europe/Berlin", "Enter a date and time as YYYY-MM-DD HH:MM"),
        ("2026-11-20 25:00", "Europe/Berlin", "Enter a date and time as YYYY-MM-DD HH:MM"),
        ("2026-11-20 14:05\x00", "Europe/Berlin", "Enter a date and time as YYYY-MM-DD HH:MM"),
        ("0001-01-01 00:30", "Europe/Berlin", "outside the years this can store"),
        ("9999-12-31 23:59", "America/Los_Angeles", "outside the years this can store"),
        ("2026-03-29 02:30", "Europe/Berlin", "may be ambiguous or it may not exist"),
    ],
)
def test_anything_else_is_refused_in_words(typed, zone, message):
    errors = cleaned(typed, zone=zone)
    assert message in " ".join(errors["at"])


def test_the_first_and_last_years_are_taken_where_they_fit():
    assert cleaned("0001-01-01 00:00", zone="UTC")["at"] == datetime(1, 1, 1, tzinfo=UTC)
    assert cleaned("9999-12-31 23:59", zone="UTC")["at"].year == 9999


def test_a_day_is_typed_in_iso_order_only():
    assert cleaned("2026-11-20 14:05", day="2026-12-05")["day"] == date(2026, 12, 5)
    errors = cleaned("2026-11-20 14:05", day="12/05/2026")
    assert "Enter a date as YYYY-MM-DD" in " ".join(errors["day"])
    form = MomentForm(initial={"day": date(2026, 12, 5)})
    assert 'value="2026-12-05"' in str(form["day"])
    assert 'placeholder="YYYY-MM-DD"' in str(form["day"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "zone"),
    [("0001-01-01 00:30", "Europe/Berlin"), ("9999-12-31 23:59", "America/Los_Angeles")],
)
def test_opening_an_incident_in_year_1_or_9999_is_refused_without_a_server_error(
    owner_client, typed, zone
):
    owner_client.cookies["tz"] = zone
    response = owner_client.post(
        reverse("incident-new"),
        {
            "title": "Edge of time",
            "severity": Severity.objects.get(level=2).pk,
            "started_at": typed,
        },
    )
    assert response.status_code == 422
    # Incidents take the narrower range of years an incident can happen in.
    assert "Pick a time between the years 1970 and 2999" in response.content.decode()
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_the_new_incident_form_names_the_viewers_zone(owner_client):
    owner_client.cookies["tz"] = "Asia/Kolkata"
    page = owner_client.get(reverse("incident-new")).content.decode()
    assert "YYYY-MM-DD HH:MM, 24-hour, Asia/Kolkata" in page


class QuickMomentForm(forms.Form):
    at = IsoDateTimeField(
        label="At",
        required=False,
        time_of_day_is_today=True,
        widget=IsoDateTimeInput(seconds=True, hint="empty means now"),
    )


def test_a_field_to_the_second_asks_for_seconds_and_says_what_empty_means():
    form = QuickMomentForm(initial={"at": datetime(2026, 11, 20, 13, 5, tzinfo=UTC)})
    with timezone.override(BERLIN):
        html = str(form["at"])
    assert 'value="2026-11-20 14:05:00"' in html
    assert 'placeholder="YYYY-MM-DD HH:MM:SS"' in html
    assert "YYYY-MM-DD HH:MM:SS, 24-hour, Europe/Berlin · empty means now" in html


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("14:05", datetime(2026, 11, 20, 13, 5, tzinfo=UTC)),
        ("9:05:30", datetime(2026, 11, 20, 8, 5, 30, tzinfo=UTC)),
        ("2026-11-19 23:59:59", datetime(2026, 11, 19, 22, 59, 59, tzinfo=UTC)),
    ],
)
def test_a_time_alone_is_today_in_the_viewers_zone(typed, expected):
    # 23:30 UTC on the 19th is already the 20th in Berlin: "today" is the viewer's day.
    with (
        time_machine.travel(datetime(2026, 11, 19, 23, 30, tzinfo=UTC), tick=False),
        timezone.override(BERLIN),
    ):
        form = QuickMomentForm({"at": typed})
        assert form.is_valid(), form.errors
    assert form.cleaned_data["at"] == expected


@pytest.mark.parametrize("typed", ["24:00", "14:5", "14:05:60", "1405", "14:05 PM"])
def test_a_time_alone_is_refused_unless_it_is_one(typed):
    with timezone.override(BERLIN):
        form = QuickMomentForm({"at": typed})
        assert not form.is_valid()
    assert "Enter a time as HH:MM:SS (today)" in form.errors["at"][0]


def test_a_time_alone_is_refused_where_a_day_is_needed():
    assert "Enter a date and time as YYYY-MM-DD HH:MM" in cleaned("14:05")["at"][0]
