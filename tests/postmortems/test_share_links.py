from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from actions.models import ActionItem
from incidents.models import TimelineEntry
from postmortems.models import ShareLink
from postmortems.publishing.workflow import postmortem_publish, postmortem_submit_for_review
from postmortems.share_links import (
    TOKEN_BYTES,
    share_link_create,
    share_link_for_token,
    share_link_revoke,
    token_digest,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def written(incident, owner, teammate):
    factories.publishable(incident, teammate)
    factories.timeline_entry(
        incident,
        minutes=10,
        kind=TimelineEntry.Kind.RESPONSE,
        text="Marcus raised the pool size by hand",
    )
    return incident


def publish(incident, user):
    postmortem_submit_for_review(postmortem=incident.postmortem, user=user)
    return postmortem_publish(incident=incident, user=user)


def link_for(incident, user, **options) -> str:
    options.setdefault("label", "Acme Corp")
    _, token = share_link_create(postmortem=incident.postmortem, user=user, **options)
    return token


def page(client, token: str) -> str:
    response = client.get(reverse("stakeholder", args=[token]))
    assert response.status_code == 200
    return response.content.decode()


def headings(html: str) -> list[str]:
    return re.findall(r"<h2[^>]*>([^<]+)</h2>", html)


# --- Making, listing and revoking links ---------------------------------------------------------


def test_a_link_is_shown_once_and_only_its_hash_is_stored(owner_client, incident):
    response = owner_client.post(
        reverse("share-link-new", args=[incident.ref]), {"label": "Exec staff"}
    )
    assert response.status_code == 201
    html = response.content.decode()
    token = re.search(r'value="http://testserver/s/([\w-]+)/"', html).group(1)
    assert "it is shown only this once" in html
    link = ShareLink.objects.get()
    assert link.token_hash == token_digest(token)
    assert token not in str(ShareLink.objects.values().get())
    assert TOKEN_BYTES * 8 >= 256 and len(token) >= 43
    assert (link.label, link.created_by.username) == ("Exec staff", "priya")
    # Shown once: the page lists the link, never its address again.
    assert (
        token not in owner_client.get(reverse("publishing", args=[incident.ref])).content.decode()
    )


def test_before_a_link_is_made_the_page_says_what_its_holder_will_see(owner_client, written, owner):
    url = reverse("publishing", args=[written.ref])
    html = owner_client.get(url).content.decode()
    assert "What a holder will see:</strong>" in html
    assert "nothing yet: it is not published, so the link shows “Not published yet”" in html
    link_for(written, owner, label="Acme Corp")
    row = re.search(
        r'<tr class="link-active".*?</tr>', owner_client.get(url).content.decode(), re.S
    )
    assert "“Not published yet” until it is published" in row.group(0)

    publish(written, owner)
    html = owner_client.get(url).content.decode()
    assert "version 1, as published on" in html
    row = re.search(r'<tr class="link-active".*?</tr>', html, re.S).group(0)
    assert '<td data-label="Shows">Published version 1</td>' in row


def test_link_form_errors_show_in_place(owner_client, incident):
    url = reverse("share-link-new", args=[incident.ref])
    response = owner_client.post(url, {"label": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card publish-part" id="links"')
    assert "This field is required." in html
    yesterday = timezone.localdate() - timedelta(days=1)
    response = owner_client.post(url, {"label": "Acme", "expires_on": yesterday.isoformat()})
    assert response.status_code == 422
    assert "Pick today or a later day." in response.content.decode()
    assert not ShareLink.objects.exists()


def test_an_expiry_date_lasts_to_the_end_of_that_day(owner_client, incident):
    tomorrow = timezone.localdate() + timedelta(days=1)
    owner_client.post(
        reverse("share-link-new", args=[incident.ref]),
        {"label": "Acme", "expires_on": tomorrow.isoformat()},
    )
    link = ShareLink.objects.get()
    assert timezone.localtime(link.expires_at).date() == tomorrow + timedelta(days=1)
    assert timezone.localtime(link.expires_at).hour == 0


def test_the_list_shows_who_made_each_link_and_how_it_is_read(owner_client, written, owner):
    publish(written, owner)
    token = link_for(written, owner, label="Acme Corp")
    Client().get(reverse("stakeholder", args=[token]))
    Client().get(reverse("stakeholder", args=[token]))
    html = owner_client.get(reverse("publishing", args=[written.ref])).content.decode()
    row = re.search(r'<tr class="link-active".*?</tr>', html, re.S).group(0)
    assert "Acme Corp" in row and "Priya Raman" in row
    assert '<td data-label="Views">2</td>' in row
    assert "Not yet" not in row  # last viewed is filled in
    assert "Revoke link for Acme Corp</button>" in row


def test_revoking_a_link_stops_it_at_once(owner_client, written, owner):
    publish(written, owner)
    token = link_for(written, owner)
    reader = Client()
    assert reader.get(reverse("stakeholder", args=[token])).status_code == 200
    link = ShareLink.objects.get()
    response = owner_client.post(reverse("share-link-revoke", args=[written.ref, link.pk]))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_by.username == "priya"

    assert reader.get(reverse("stakeholder", args=[token])).status_code == 404
    # A page left open asks for its content and is told the link is gone, which stops its poll.
    refresh = reader.get(reverse("stakeholder-content", args=[token]))
    assert refresh.status_code == 404
    assert "This link is no longer available" in refresh.content.decode()
    assert "hx-trigger" not in refresh.content.decode()
    assert share_link_for_token(token) is None


def test_revoking_twice_says_so(owner_client, incident, owner):
    link_for(incident, owner)
    link = ShareLink.objects.get()
    share_link_revoke(link=link, user=owner)
    url = reverse("share-link-revoke", args=[incident.ref, link.pk])
    response = owner_client.post(url, headers={"HX-Request": "true"})
    assert "was revoked already" in response.content.decode()


def test_an_expired_link_answers_404(client, written, owner):
    publish(written, owner)
    token = link_for(written, owner, expires_at=timezone.now() + timedelta(hours=1))
    assert client.get(reverse("stakeholder", args=[token])).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert client.get(reverse("stakeholder", args=[token])).status_code == 404
        assert client.get(reverse("stakeholder-content", args=[token])).status_code == 404
        assert share_link_for_token(token) is None
        assert ShareLink.objects.get().state == "expired"


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "../../etc/passwd", "a" * 500])
def test_unknown_tokens_find_nothing(token):
    assert share_link_for_token(token) is None


def test_a_link_token_is_unguessable(incident, owner):
    tokens = {link_for(incident, owner) for _ in range(20)}
    assert len(tokens) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)


def test_links_are_managed_only_by_the_people_on_the_incident(client, incident, owner, outsider):
    link_for(incident, owner)
    link = ShareLink.objects.get()
    client.force_login(outsider)
    assert (
        client.post(reverse("share-link-new", args=[incident.ref]), {"label": "Leak"}).status_code
        == 403
    )
    assert (
        client.post(reverse("share-link-revoke", args=[incident.ref, link.pk])).status_code == 403
    )
    assert ShareLink.objects.count() == 1
    link.refresh_from_db()
    assert link.revoked_at is None


def test_a_link_of_another_postmortem_cannot_be_revoked_from_here(owner_client, owner):
    mine, theirs = factories.incident(owner=owner), factories.incident(owner=owner)
    link_for(theirs, owner)
    link = ShareLink.objects.get()
    response = owner_client.post(reverse("share-link-revoke", args=[mine.ref, link.pk]))
    assert response.status_code == 404


# --- What a link shows -------------------------------------------------------------------------


def test_a_link_shows_the_published_version_in_the_stakeholder_order(client, written, owner):
    publish(written, owner)
    token = link_for(written, owner)
    html = page(client, token)
    assert headings(html) == [
        "Incident summary",
        "Business impact",
        "Impact",
        "Aftercare",
        "Timeline",
        "Root cause analysis",
        "Action items",
    ]
    assert "Checkout failed for 47 minutes" in html
    assert "The connection pool ran dry under peak load" in html
    assert "Alert on pool saturation" in html
    assert "DRAFT" not in html


def test_internal_sections_are_left_out(client, written, owner):
    written.postmortem.sections.filter(key="aftercare").update(internal=True)
    publish(written, owner)
    html = page(client, link_for(written, owner))
    assert "Paging worked" not in html  # What went well, internal by default
    assert "What went well" not in html
    assert "Affected customers got a voucher" not in html
    assert "Aftercare" not in headings(html)


def test_the_page_is_read_only_private_and_sets_no_cookie(client, written, owner):
    publish(written, owner)
    token = link_for(written, owner)
    response = client.get(reverse("stakeholder", args=[token]))
    html = response.content.decode()
    for control in (
        "<form",
        "<input",
        "<textarea",
        "<select",
        "<button",
        "hx-post",
        'method="post"',
        "csrf",
        "/incidents/",
        "/admin/",
        "Log out",
    ):
        assert control not in html
    assert response["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "private, no-store"
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert '<meta name="referrer" content="no-referrer">' in html
    assert not response.cookies
    assert not client.cookies


def test_nothing_through_a_link_accepts_a_post(client, written, owner):
    publish(written, owner)
    token = link_for(written, owner)
    for name in ("stakeholder", "stakeholder-content"):
        response = client.post(reverse(name, args=[token]), {"anything": "x"})
        assert response.status_code == 405
        assert response["Cache-Control"] == "private, no-store"


def test_an_unknown_link_is_a_calm_private_404(client):
    response = client.get(reverse("stakeholder", args=["A" * 43]))
    assert response.status_code == 404
    assert "This link is no longer available" in response.content.decode()
    assert response["X-Robots-Tag"] == "noindex, nofollow, noarchive"


def test_before_publishing_a_link_says_it_is_not_published_yet(client, written, owner):
    html = page(client, link_for(written, owner))
    assert "Not published yet" in html
    assert "Checkout failed for 47 minutes" not in html


def test_a_postmortem_marked_published_without_a_version_shows_its_current_text(
    client, written, owner
):
    written.postmortem.status = "published"
    written.postmortem.save()
    html = page(client, link_for(written, owner))
    assert "Checkout failed for 47 minutes" in html
    assert "Not published yet" not in html


def test_a_draft_link_shows_the_draft_marked_draft(client, written, owner):
    html = page(client, link_for(written, owner, share_draft=True))
    assert '<p class="draft-banner" role="note"><strong>DRAFT</strong>' in html
    assert "Checkout failed for 47 minutes" in html
    assert "Paging worked" not in html


def test_names_can_be_hidden_outside_the_timeline(client, written, owner):
    publish(written, owner)
    named = page(client, link_for(written, owner))
    assert "Priya Raman" in named  # the incident owner
    assert "Marcus Webb" in named  # the action item's owner

    hidden = page(client, link_for(written, owner, label="Customers", hide_names=True))
    assert "Priya Raman" not in hidden
    assert "Marcus Webb" not in hidden
    assert "Owner</th>" not in hidden
    assert "Marcus raised the pool size by hand" in hidden  # the timeline keeps its account


def test_edits_reach_readers_when_published_again_but_action_status_at_once(client, written, owner):
    publish(written, owner)
    token = link_for(written, owner)
    written.postmortem.sections.filter(key="summary").update(body="A rewritten summary")
    ActionItem.objects.filter(incident=written).update(status=ActionItem.Status.DONE)
    html = page(client, token)
    assert "Checkout failed for 47 minutes" in html
    assert "A rewritten summary" not in html
    assert '<span class="status status-done">Done</span>' in html


def test_a_published_postmortem_back_in_draft_keeps_its_published_version(client, written, owner):
    from postmortems.publishing.workflow import postmortem_return_to_draft

    publish(written, owner)
    token = link_for(written, owner)
    postmortem_return_to_draft(postmortem=written.postmortem, user=owner, reason="More numbers")
    html = page(client, token)
    assert "The team is revising this postmortem" in html
    assert "Checkout failed for 47 minutes" in html
    assert "More numbers" not in html


def test_an_open_page_polls_and_gets_204_until_something_changes(client, written, owner):
    publish(written, owner)
    token = link_for(written, owner)
    html = page(client, token)
    assert 'hx-trigger="every 20s, refresh"' in html
    seen = re.search(r'"seen": "(\w+)"', html).group(1)
    url = reverse("stakeholder-content", args=[token])
    assert client.get(url, {"seen": seen}).status_code == 204
    ActionItem.objects.filter(incident=written).update(status=ActionItem.Status.IN_PROGRESS)
    response = client.get(url, {"seen": seen})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="reader-content"')
    assert "In progress" in fragment
    assert response["Cache-Control"] == "private, no-store"
    # Polling is not reading: only opening the page counts as a view.
    assert ShareLink.objects.get().view_count == 1


def test_a_link_sees_only_its_own_postmortem(client, written, owner):
    other = factories.incident(owner=owner, title="Search is slow for everyone")
    factories.publishable(other, owner)
    publish(other, owner)
    publish(written, owner)
    html = page(client, link_for(written, owner))
    assert written.title in html
    assert other.title not in html


# --- A link reaches nothing else -----------------------------------------------------------------


def sample(name: str, values: dict[str, str]) -> str:
    return values.get(name, "1")


def concrete_paths(patterns, prefix: str, values: dict[str, str]):
    """Every URL pattern of the project as one concrete path, with sample values filled in."""
    for entry in patterns:
        pattern = entry.pattern
        text = str(pattern)
        if hasattr(pattern, "_route") or "<" in text and "(?P" not in text:
            text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: sample(m.group(1), values), text)
        else:
            text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: sample(m.group(1), values), text)
            text = re.sub(r"\([^)]*\)", "1", text)  # unnamed groups
            text = text.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
        if isinstance(entry, URLResolver):
            yield from concrete_paths(entry.url_patterns, prefix + text, values)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + text, entry.name


def test_a_link_reaches_nothing_else(written, owner):
    """Walk every URL with the link's client and with a stranger's: they must answer alike."""
    publish(written, owner)
    token = link_for(written, owner)
    other = factories.publishable(factories.incident(owner=owner), owner)
    publish(other, owner)
    other_token = link_for(other, owner, label="Someone else")
    section = written.postmortem.sections.first()
    values = {
        "ref": written.ref,
        "token": other_token,
        "kind": "section",
        "pk": str(section.pk),
        "history_id": "1",
        "app_label": "postmortems",
        "object_id": str(section.pk),
        "url": "anything",
        "content_type_id": "1",
        "path": "x",
    }
    holder = Client()
    assert holder.get(reverse("stakeholder", args=[token])).status_code == 200
    assert not holder.cookies  # the link leaves no session or cookie to carry elsewhere
    stranger = Client()

    paths = sorted(set(concrete_paths(get_resolver().url_patterns, "", values)))
    assert len(paths) > 30
    named = {name for _, name in paths}
    assert {
        "document",
        "publishing",
        "share-link-new",
        "export-markdown",
        "export-pdf",
        "stakeholder",
        "stakeholder-content",
    } <= named
    for path, name in paths:
        for method in ("get", "post"):
            theirs = getattr(holder, method)(path)
            anyone = getattr(stranger, method)(path)
            assert (theirs.status_code, theirs.get("Location")) == (
                anyone.status_code,
                anyone.get("Location"),
            ), f"{method.upper()} {path} ({name})"
            if path.startswith(("/incidents/", "/actions/", "/admin/")) and name != "login":
                assert theirs.status_code in (302, 404, 405), f"{method.upper()} {path}"


def test_staff_see_links_and_publications_in_the_admin(client, written, owner):
    publish(written, owner)
    token = link_for(written, owner)
    admin = factories.user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    link = ShareLink.objects.get()
    for url in (
        reverse("admin:postmortems_sharelink_changelist"),
        reverse("admin:postmortems_sharelink_change", args=[link.pk]),
        reverse("admin:postmortems_publication_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert token not in response.content.decode()


def test_the_page_reads_a_handful_of_rows_however_long_the_postmortem(
    client, written, owner, django_assert_max_num_queries
):
    for minutes in range(20):
        factories.timeline_entry(written, minutes=minutes, text=f"Step {minutes}")
    publish(written, owner)
    token = link_for(written, owner)
    # The link, its publication, today's action statuses, and counting the view.
    with django_assert_max_num_queries(4):
        assert client.get(reverse("stakeholder", args=[token])).status_code == 200
