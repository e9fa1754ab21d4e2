from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from api.models import ApiToken
from api.tokens import api_token_create, api_token_for_bearer, token_digest
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_a_token_is_stored(owner):
    row, token = api_token_create(user=owner, name="deploy", scope="write")
    stored = ApiToken.objects.get(pk=row.pk)
    assert stored.token_hash == token_digest(token)
    assert token not in {stored.token_hash, stored.prefix, stored.name}
    assert token.startswith(stored.prefix)


def test_command_prints_the_token_as_its_last_line(owner, capsys):
    call_command("create_api_token", "priya", "--scope", "write", "--name", "cli", "--days", "3")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    row = api_token_for_bearer(token)
    assert row.user == owner and row.scope == "write" and row.name == "cli"
    assert row.expires_at - timezone.now() > timedelta(days=2, hours=23)


def test_command_refuses_an_unknown_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody")


def test_no_token_or_a_bad_one_answers_401(incident, owner):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = ApiClient(None).get("/incidents/", **headers)
        assert response.status_code == 401
        assert "Bearer" in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_stops_working(owner):
    row, token = api_token_create(user=owner, name="short", days=1)
    client = ApiClient(token)
    assert client.get("/incidents/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        assert client.get("/incidents/").status_code == 401


def test_a_revoked_token_or_one_of_a_deactivated_user_stops_working(owner):
    row, token = api_token_create(user=owner, name="x")
    client = ApiClient(token)
    owner.is_active = False
    owner.save()
    assert client.get("/incidents/").status_code == 401
    owner.is_active = True
    owner.save()
    assert client.get("/incidents/").status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    assert client.get("/incidents/").status_code == 401


def test_tokens_page_makes_shows_once_and_revokes(owner_client, owner, outsider):
    page = owner_client.get("/account/tokens/")
    assert page.status_code == 200
    assert b'<label for="id_name">' in page.content
    made = owner_client.post(
        "/account/tokens/new/",
        {"name": "deploy", "scope": "write", "days": "30"},
        HTTP_HX_REQUEST="true",
    )
    assert made.status_code == 201
    row = ApiToken.objects.get(user=owner)
    token = made.content.decode().split('id="new-token" value="')[1].split('"')[0]
    assert api_token_for_bearer(token) == row
    # Shown once: the list afterwards holds its first characters only.
    assert token.encode() not in owner_client.get("/account/tokens/").content
    # Someone else cannot revoke it.
    other = owner_client.__class__()
    other.force_login(outsider)
    assert other.post(f"/account/tokens/{row.pk}/revoke/").status_code == 404
    revoked = owner_client.post(f"/account/tokens/{row.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert revoked.status_code == 200 and "stopped working" in revoked.content.decode()
    assert api_token_for_bearer(token) is None


def test_tokens_page_refuses_a_bad_form_with_words(owner_client):
    response = owner_client.post(
        "/account/tokens/new/",
        {"name": "", "scope": "admin", "days": "99999"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "Please fix" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_rate_limit_answers_429_with_retry_after(owner, monkeypatch):
    from api.core import api

    limit = 5
    (throttle,) = api.throttle
    monkeypatch.setattr(throttle, "num_requests", limit)
    client = ApiClient(api_token_create(user=owner, name="busy")[1])
    statuses = [client.get("/incidents/", {"limit": 1}).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [200] * limit
    last = client.get("/incidents/")
    assert last.status_code == 429
    assert int(last["Retry-After"]) >= 1
    assert "Retry-After" in last.json()["detail"]
    # Another token of the same person is counted on its own.
    assert (
        ApiClient(api_token_create(user=owner, name="other")[1]).get("/incidents/").status_code
        == 200
    )
