"""Single sign-on against a real OpenID Connect provider (django-oidc-provider) on 127.0.0.1.

The provider runs in its own process with its own SQLite database and a fresh RS256 key. A
person signs in at the provider over real HTTP (httpx), the provider redirects back with a
code, and Hindsight exchanges it for signed tokens and the userinfo claims: nothing is mocked.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model

from incidents.sign_in import VIEWER_GROUP
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "hindsight-tests"
CLIENT_SECRET = "provider-side-test-secret"
PEOPLE = [
    {
        "username": "ada",
        "password": "ada-at-the-provider",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Quist",
        "groups": ["payments", "hindsight-admins", "coffee-club"],
    },
    {
        "username": "victor",
        "password": "victor-at-the-provider",
        "email": "victor@example.com",
        "first_name": "Victor",
        "last_name": "Reed",
        "groups": ["hindsight-viewers", "Search"],
    },
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[SimpleNamespace]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        OIDC_TEST_PROVIDER_DB=str(tmp_path_factory.mktemp("provider") / "provider.sqlite3"),
        OIDC_TEST_PROVIDER_URL=url,
    )
    spec = {
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": "http://testserver/oidc/callback/",
        },
        "people": PEOPLE,
    }
    subprocess.run(
        [sys.executable, "-m", "tests.oidc_provider.bootstrap", json.dumps(spec)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/openid/.well-known/openid-configuration", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("The test OpenID Connect provider did not start") from None
                time.sleep(0.2)
        yield SimpleNamespace(url=url)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def sso(db, settings, provider):
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.url}/openid/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.url}/openid/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.url}/openid/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider.url}/openid/jwks"
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_PROVIDER_NAME = "Test Identity"
    settings.OIDC_ADMIN_GROUP = "hindsight-admins"
    settings.OIDC_VIEWER_GROUP = "hindsight-viewers"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "incidents.sign_in.SingleSignOnBackend",
    ]
    return provider


def sign_in_at_provider(authorize_url: str, person: dict) -> str:
    """Follow the provider's redirects, filling in its login form; return Hindsight's callback."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        response = browser.get(authorize_url)
        for _ in range(10):
            if response.status_code == 200 and 'name="password"' in response.text:
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
                response = browser.post(
                    str(response.url),
                    data={
                        "csrfmiddlewaretoken": token.group(1),
                        "username": person["username"],
                        "password": person["password"],
                    },
                    headers={"Referer": str(response.url)},
                )
                continue
            assert response.is_redirect, response.text[:500]
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith("http://testserver/"):
                return location
            response = browser.get(location)
    raise AssertionError("the provider never sent the browser back to Hindsight")


def sign_in(client, person: dict):
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302
    assert start["Location"].startswith(f"{urlsplit(start['Location']).scheme}://127.0.0.1")
    callback = urlsplit(sign_in_at_provider(start["Location"], person))
    return client.get(f"{callback.path}?{callback.query}")


def test_login_page_offers_the_provider(client, sso):
    page = client.get("/login/")
    assert "Sign in with Test Identity" in page.content.decode()


def test_first_sign_in_creates_the_person_with_their_teams_and_role(client, sso):
    payments = factories.team("Payments")
    factories.team("Search")

    response = sign_in(client, PEOPLE[0])

    assert response.status_code == 302
    assert response["Location"] == "/"
    ada = get_user_model().objects.get(email="ada@example.com")
    assert (ada.username, ada.get_full_name()) == ("ada", "Ada Quist")
    assert list(ada.teams.all()) == [payments]
    assert ada.is_superuser and ada.is_staff
    assert not ada.has_usable_password()
    assert client.get("/").wsgi_request.user == ada


def test_viewer_group_makes_a_read_only_viewer(client, sso):
    search = factories.team("Search")

    sign_in(client, PEOPLE[1])

    victor = get_user_model().objects.get(email="victor@example.com")
    assert list(victor.groups.values_list("name", flat=True)) == [VIEWER_GROUP]
    assert list(victor.teams.all()) == [search]
    assert not (victor.is_staff or victor.is_superuser)


def test_second_sign_in_reuses_the_account_and_follows_the_provider(client, sso):
    payments = factories.team("Payments")
    search = factories.team("Search")
    sign_in(client, PEOPLE[0])
    ada = get_user_model().objects.get(email="ada@example.com")
    # Changed here meanwhile; the provider's word wins at the next sign-in.
    search.members.add(ada)
    payments.members.remove(ada)
    get_user_model().objects.filter(pk=ada.pk).update(is_superuser=False, is_staff=False)
    client.logout()

    response = sign_in(client, PEOPLE[0])

    assert response.status_code == 302
    assert get_user_model().objects.filter(email__iexact="ada@example.com").count() == 1
    ada.refresh_from_db()
    assert list(ada.teams.all()) == [payments]
    assert ada.is_superuser


def test_an_existing_account_with_that_email_is_signed_in_not_copied(client, sso):
    local = factories.user("ada.local", email="ADA@example.com")

    sign_in(client, PEOPLE[0])

    assert client.get("/").wsgi_request.user == local
    assert get_user_model().objects.filter(email__iexact="ada@example.com").count() == 1


def test_a_forged_code_signs_nobody_in(client, sso):
    start = client.get("/oidc/authenticate/")
    state = dict(pair.split("=", 1) for pair in urlsplit(start["Location"]).query.split("&"))[
        "state"
    ]

    response = client.get(f"/oidc/callback/?code=forged&state={state}", follow=True)

    assert response.redirect_chain[-1][0] == "/login/"
    assert "Signing in with Test Identity did not work" in response.content.decode()
    assert get_user_model().objects.count() == 0


def test_without_configuration_there_is_no_button_and_no_sso_url(client, settings):
    settings.OIDC_RP_CLIENT_ID = ""
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
