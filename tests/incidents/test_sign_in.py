"""The login page: throttling (django-axes), password sign-in switched off, idle sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY

from tests import factories

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LOCKED = "Too many failed sign-ins; try again in 15 minutes or ask an admin"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def priya(db):
    return factories.user("priya")


def log_in(client, username: str, password: str = factories.PASSWORD, address="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def fail(client, username: str, times: int, address="10.0.0.1") -> None:
    for _ in range(times):
        response = log_in(client, username, "not my password", address)
        assert response.status_code in (200, 429)


def test_a_right_password_signs_in(client, priya):
    response = log_in(client, "priya")
    assert response.status_code == 302
    assert signed_in(client)


def test_five_wrong_passwords_then_the_right_one_is_refused(client, priya):
    fail(client, "priya", 3)
    fourth = log_in(client, "priya", "still wrong").content.decode()
    assert "Please enter a correct username and password" in fourth
    assert LOCKED in log_in(client, "priya", "wrong again").content.decode()

    response = log_in(client, "priya")

    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not signed_in(client)


def test_the_lock_out_follows_the_username_to_another_address(client, priya):
    fail(client, "priya", 5, address="10.0.0.1")

    assert log_in(client, "priya", address="10.9.9.9").status_code == 429


def test_the_lock_out_follows_the_address_to_another_username(client, priya):
    factories.user("marcus")
    for name in ["alice", "bob", "carol", "dave", "erin"]:
        fail(client, name, 1, address="10.0.0.7")

    assert log_in(client, "marcus", address="10.0.0.7").status_code == 429
    assert log_in(client, "marcus", address="10.0.0.8").status_code == 302


def test_after_the_cool_off_the_right_password_works(client, priya):
    with time_machine.travel(START, tick=False) as traveller:
        fail(client, "priya", 5)
        traveller.shift(timedelta(minutes=10))
        locked = log_in(client, "priya")
        assert locked.status_code == 429
        assert "try again in 5 minutes" in locked.content.decode()

        traveller.shift(timedelta(minutes=6))

        assert log_in(client, "priya").status_code == 302
        assert signed_in(client)


def test_an_admin_unlocks_in_the_admin(client, priya):
    admin = factories.user("root", is_staff=True, is_superuser=True)
    fail(client, "priya", 5)
    assert log_in(client, "priya").status_code == 429
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    assert attempts

    admin_client = type(client)()
    admin_client.force_login(admin)
    page = admin_client.get("/admin/axes/accessattempt/")
    assert "priya" in page.content.decode()
    admin_client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )

    assert not AccessAttempt.objects.exists()
    assert log_in(client, "priya").status_code == 302


def test_the_test_clients_login_goes_through_axes_with_a_request(client, priya):
    """Axes needs the request; its documented way for tests is to pass one to login()."""
    from django.http import HttpRequest

    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "10.0.0.3"
    assert client.login(request=request, username="priya", password=factories.PASSWORD)


def test_with_password_login_off_the_form_is_gone_and_posts_are_refused(client, priya, settings):
    settings.HINDSIGHT_PASSWORD_LOGIN = False
    settings.OIDC_RP_CLIENT_ID = "hindsight"
    settings.OIDC_PROVIDER_NAME = "Acme ID"

    page = client.get("/login/").content.decode()
    assert 'name="password"' not in page
    assert "Sign in with Acme ID" in page

    response = log_in(client, "priya")
    assert response.status_code == 403
    assert "Signing in with a password is switched off here" in response.content.decode()
    assert not signed_in(client)


def test_with_password_login_off_the_admin_login_refuses_passwords_too(client, db, settings):
    settings.HINDSIGHT_PASSWORD_LOGIN = False
    factories.user("root", is_staff=True, is_superuser=True)

    client.post("/admin/login/", {"username": "root", "password": factories.PASSWORD})

    assert not signed_in(client)


class TestIdleSessions:
    @pytest.fixture(autouse=True)
    def _idle_time(self, settings):
        settings.HINDSIGHT_SESSION_IDLE_MINUTES = 60
        settings.SESSION_COOKIE_AGE = 60 * 60

    def test_a_session_ends_after_the_idle_time(self, client, priya):
        with time_machine.travel(START, tick=False) as traveller:
            client.force_login(priya)
            traveller.shift(timedelta(minutes=61))

            response = client.get("/incidents/")

        assert response.status_code == 302
        assert response["Location"].startswith("/login/")

    def test_using_the_app_keeps_the_session_alive(self, client, priya):
        with time_machine.travel(START, tick=False) as traveller:
            client.force_login(priya)
            for _ in range(4):
                traveller.shift(timedelta(minutes=50))
                assert client.get("/incidents/").status_code == 200

    def test_an_open_page_listening_for_changes_does_not(self, client, priya):
        incident = factories.incident(owner=priya)
        with time_machine.travel(START, tick=False) as traveller:
            client.force_login(priya)
            traveller.shift(timedelta(minutes=40))
            client.get(f"/incidents/{incident.ref}/changes/")
            client.post(f"/incidents/{incident.ref}/presence/")
            traveller.shift(timedelta(minutes=21))

            response = client.get("/incidents/")

        assert response.status_code == 302

    def test_the_cookie_lasts_the_idle_time(self, client, priya):
        response = log_in(client, "priya")
        assert response.cookies["sessionid"]["max-age"] == 60 * 60
