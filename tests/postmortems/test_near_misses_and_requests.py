"""Near misses are incidents with no customer impact, counted apart; anyone who can see an
incident may ask for its postmortem, and the owner is told."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from incidents.models import Incident
from kernel import delivery as engine
from kernel.models import Delivery
from postmortems.models import PostmortemRequest
from tests import factories

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_a_near_miss_cannot_be_customer_facing(incident):
    incident.near_miss, incident.customer_facing = True, True
    with pytest.raises(Exception, match="untick Customer-facing"):
        incident.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(near_miss=True, customer_facing=True)


def test_near_misses_are_marked_and_counted_apart(owner_client, owner):
    factories.incident(owner=owner, title="Checkout down")
    factories.incident(owner=owner, title="Expired certificate caught in staging", near_miss=True)
    html = owner_client.get("/incidents/").content.decode()
    assert "1 incident · 1 near miss" in html
    assert html.count('class="tag near-miss"') == 1
    only = owner_client.get("/incidents/?kind=near-miss").content.decode()
    assert "Expired certificate" in only and "Checkout down" not in only
    assert "0 incidents · 1 near miss" in only
    assert owner_client.get("/incidents/?kind=%00").status_code == 200


def test_the_document_names_a_near_miss(owner_client, owner):
    near = factories.incident(owner=owner, title="Expired certificate", near_miss=True)
    html = owner_client.get(near.get_absolute_url()).content.decode()
    assert '<span class="tag near-miss">Near miss</span>' in html


def ask_url(incident) -> str:
    return f"{incident.get_absolute_url()}ask/"


def test_anyone_who_can_see_it_asks_and_the_owner_is_told(client, owner, outsider, incident):
    client.force_login(outsider)
    page = client.get(ask_url(incident)).content.decode()
    assert ">Why a postmortem would help" in page

    refused = client.post(ask_url(incident), {"reason": "  "})
    assert refused.status_code == 422
    assert "Say what you noticed" in refused.content.decode()

    response = client.post(
        ask_url(incident), {"reason": "The retry storm looked like last month's."}, follow=True
    )
    assert "Asked. Priya Raman is told by e-mail." in response.content.decode()
    asked = PostmortemRequest.objects.get()
    assert (asked.requested_by, asked.postmortem) == (outsider, incident.postmortem)
    (delivery,) = Delivery.objects.filter(topic="postmortem-request")
    assert delivery.address == {"to": ["priya@example.com"]}

    engine.deliver_due()
    (message,) = mail.outbox
    assert message.to == ["priya@example.com"]
    assert message.subject == f"Postmortem asked for: {incident.ref} {incident.title}"
    assert "Eve Outside asks for a postmortem" in message.body
    assert "The retry storm looked like last month's." in message.body
    # The request stays on the page.
    kept = client.get(ask_url(incident)).content.decode()
    assert "The retry storm looked like last month" in kept


def test_a_request_without_an_owner_is_still_recorded(owner_client, owner, incident):
    Incident.objects.filter(pk=incident.pk).update(owner=None)
    response = owner_client.post(ask_url(incident), {"reason": "Worth a look"}, follow=True)
    assert "nobody owns the incident to be told" in response.content.decode()
    assert PostmortemRequest.objects.count() == 1
    assert not Delivery.objects.filter(topic="postmortem-request").exists()


@pytest.mark.parametrize("reason", ["x" * 2001, "nul \x00 byte"])
def test_bad_reasons_are_refused_in_words(owner_client, incident, reason):
    response = owner_client.post(ask_url(incident), {"reason": reason})
    assert response.status_code == 422
    assert not PostmortemRequest.objects.exists()


def test_an_unknown_incident_is_not_found(owner_client):
    assert owner_client.get("/incidents/INC-999999/ask/").status_code == 404


def test_the_contents_link_to_asking(owner_client, incident):
    html = owner_client.get(incident.get_absolute_url()).content.decode()
    assert f'href="{ask_url(incident)}">Ask for a postmortem</a>' in html


def test_signed_out_people_are_sent_to_log_in(client, incident):
    response = client.get(ask_url(incident))
    assert response.status_code == 302 and "/login/" in response["Location"]
