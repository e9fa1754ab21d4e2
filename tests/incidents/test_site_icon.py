"""Browsers ask every site for /favicon.ico: it answers, and pages point at the icon."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_favicon_answers_with_an_icon_browsers_may_cache(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age=604800" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO header
    assert b"PNG" in body


def test_it_answers_only_reading(client):
    assert client.post("/favicon.ico").status_code == 405


def test_pages_link_the_icon(owner_client):
    html = owner_client.get(reverse("incident-list")).content.decode()
    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in html
    assert 'type="image/svg+xml"' in html
