from __future__ import annotations

import pytest

from incidents import policy
from postmortems.models import ShareLink
from postmortems.share_links import share_link_for_token

pytestmark = pytest.mark.django_db


def test_make_list_and_revoke(writer, incident):
    made = writer.post(
        f"/incidents/{incident.ref}/share-links/", {"label": "Acme Corp", "share_draft": True}
    )
    assert made.status_code == 201
    url = made.json()["url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = share_link_for_token(token)
    assert link.label == "Acme Corp"
    listed = writer.get(f"/incidents/{incident.ref}/share-links/").json()
    assert [entry["label"] for entry in listed] == ["Acme Corp"]
    assert "url" not in listed[0]
    revoked = writer.post(f"/incidents/{incident.ref}/share-links/{link.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert share_link_for_token(token) is None


def test_links_need_can_manage(writer, incident, monkeypatch):
    monkeypatch.setattr(policy, "can_manage", lambda user, incident: False)
    response = writer.post(f"/incidents/{incident.ref}/share-links/", {"label": "Acme"})
    assert response.status_code == 403
    assert not ShareLink.objects.exists()
    assert writer.get(f"/incidents/{incident.ref}/share-links/").status_code == 403


def test_bad_link_input_is_422(writer, incident):
    for body in ({"label": ""}, {"label": "a\nb"}, {"label": "x", "expires_on": "2001-01-01"}):
        assert writer.post(f"/incidents/{incident.ref}/share-links/", body).status_code == 422
