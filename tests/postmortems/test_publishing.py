from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from incidents.models import AuditEntry, Incident
from kernel import delivery as engine
from kernel.channels import ChannelError
from kernel.models import Delivery
from kernel.tasks import deliver
from postmortems.document import document_for_ref
from postmortems.models import Postmortem, Publication
from postmortems.publishing.checklist import missing, publish_checklist
from postmortems.publishing.summary import summary_for, summary_queue
from postmortems.publishing.workflow import (
    PublishingRefused,
    postmortem_publish,
    postmortem_return_to_draft,
    postmortem_submit_for_review,
    status_changes,
)
from tests import factories

pytestmark = pytest.mark.django_db


def write(incident, key: str, body: str) -> None:
    incident.postmortem.sections.filter(key=key).update(body=body)


def in_review(incident):
    Postmortem.objects.filter(pk=incident.postmortem.pk).update(status=Postmortem.Status.IN_REVIEW)


@pytest.fixture
def team_incident(owner, teammate):
    team = factories.team("Payments", lead=owner)
    team.members.add(owner, teammate)
    return factories.incident(owner=owner, team=team)


@pytest.fixture
def staff(db):
    return factories.user(
        "sasha", first_name="Sasha", last_name="Staff", is_staff=True, is_superuser=True
    )


# --- The checklist ---------------------------------------------------------------------------


def test_a_new_sev1_postmortem_lists_what_is_missing_in_words(incident):
    checks = publish_checklist(document_for_ref(incident.ref))
    assert [check.need for check in checks if not check.done] == [
        "The incident is marked resolved, with the time it was resolved",
        "A summary",
        "The impact",
        "A timeline entry for when it was resolved",
        "At least one cause with its whys answered",
        "At least one action item with an owner and a due date",
    ]
    # Opening the incident wrote its detection entry; nothing written blames anyone yet.
    assert [check.need for check in checks if check.done] == [
        "A timeline entry for when it was detected",
        # No cause is stated yet, so none is left uncovered.
        "Every cause addressed by an action item or an accepted risk",
        "No open notes on blaming words",
    ]
    todo = missing(checks)
    assert todo[1].startswith("Write “Incident summary”")
    assert "Add a timeline entry of the kind Resolution" in todo[3]


def test_an_incident_still_investigating_is_named_on_the_checklist(incident, owner):
    """Published while open, the frozen page would say "Resolved —" for good."""
    factories.publishable(incident, owner)
    type(incident).objects.filter(pk=incident.pk).update(status="investigating", resolved_at=None)
    assert missing(publish_checklist(document_for_ref(incident.ref))) == [
        "The incident is still “Investigating”. Set its status to Resolved and its resolved "
        "time (a Resolution timeline entry offers to), so readers see how long it lasted."
    ]
    # Marked resolved but with no time: still missing, since the page would show no duration.
    type(incident).objects.filter(pk=incident.pk).update(status="resolved", resolved_at=None)
    assert len(missing(publish_checklist(document_for_ref(incident.ref)))) == 1


def test_a_complete_sev1_postmortem_passes(incident, owner):
    factories.publishable(incident, owner)
    assert missing(publish_checklist(document_for_ref(incident.ref))) == []


def test_a_cause_counts_only_with_an_answered_why(incident, owner):
    factories.publishable(incident, owner)
    incident.postmortem.causes.all().delete()
    factories.cause(incident, "A cause nobody dug into yet")
    assert missing(publish_checklist(document_for_ref(incident.ref))) == [
        "Answer at least one why of a cause.",
        "File an action item for each of these causes, or accept its risk on purpose (who "
        "accepts it, why, when to look again): “A cause nobody dug into yet”.",
    ]


def test_an_action_item_needs_both_an_owner_and_a_due_date(incident, owner):
    factories.publishable(incident, owner)
    incident.action_items.update(due_date=None)
    assert missing(publish_checklist(document_for_ref(incident.ref))) == [
        "Give at least one action item both an owner and a due date."
    ]


def test_the_resolution_entry_offers_to_mark_the_incident_resolved(owner_client, incident, owner):
    factories.publishable(incident, owner)
    type(incident).objects.filter(pk=incident.pk).update(status="investigating", resolved_at=None)
    incident.refresh_from_db()
    entry = incident.timeline.get(kind="resolution")
    url = reverse("publishing", args=[incident.ref])
    html = owner_client.get(url).content.decode()
    assert "but the incident is still “Investigating”" in html
    assert "Mark the incident resolved at" in html

    resolve = reverse("publish-resolve", args=[incident.ref])
    stale = owner_client.post(resolve, {"entry": entry.pk, "version": incident.version - 1})
    assert stale.status_code == 409
    for entry_id, version in [("x", "1"), ("1\x00", "1"), ("", "")]:
        assert (
            owner_client.post(resolve, {"entry": entry_id, "version": version}).status_code == 400
        )
    for entry_id, version in [
        (10**20, incident.version),
        (-1, incident.version),
        (entry.pk, 10**20),
    ]:
        assert (
            owner_client.post(resolve, {"entry": entry_id, "version": version}).status_code == 409
        )
    response = owner_client.post(resolve, {"entry": entry.pk, "version": incident.version})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("resolved", entry.occurred_at)
    assert incident.history.first().history_user == owner
    assert missing(publish_checklist(document_for_ref(incident.ref))) == []
    assert "Mark the incident resolved at" not in owner_client.get(url).content.decode()


def test_a_quick_postmortem_needs_less(owner):
    minor = factories.incident(owner=owner, level=3)
    assert minor.postmortem.template == Postmortem.Template.QUICK
    assert len(missing(publish_checklist(document_for_ref(minor.ref)))) == 4
    minor.status, minor.resolved_at = "resolved", timezone.now()
    minor.save()
    write(minor, "what-happened", "Search results lagged by ten minutes.")
    write(minor, "fix", "Restarted the indexer; added a lag alert.")
    stalled = factories.cause(minor, "The indexer stalled on a malformed document")
    # No resolution entry and no whys needed for a small incident; its cause still needs an
    # answer, an action or an accepted risk.
    assert [c.need for c in publish_checklist(document_for_ref(minor.ref)) if not c.done] == [
        "Every cause addressed by an action item or an accepted risk"
    ]
    factories.action_item(minor, title="Skip malformed documents", cause=stalled)
    assert missing(publish_checklist(document_for_ref(minor.ref))) == [
        "Give 1 action item an owner and a due date."
    ]


# --- The workflow ----------------------------------------------------------------------------


def test_it_goes_from_draft_to_review_to_published(owner_client, incident, owner):
    factories.publishable(incident, owner)
    response = owner_client.post(reverse("publish-submit", args=[incident.ref]))
    assert response.status_code == 302
    incident.postmortem.refresh_from_db()
    assert incident.postmortem.status == Postmortem.Status.IN_REVIEW

    # Publishing asks once more, saying what it will do, and does nothing yet.
    response = owner_client.post(reverse("publish", args=[incident.ref]), {"send_summary": "on"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Publish version 1 now?" in html
    assert "Stakeholder links show this version from now on" in html
    assert "No summary is sent." in html  # no mailing list and no Slack are set up
    assert '<input type="hidden" name="confirmed" value="True">' in html
    assert not Publication.objects.exists()

    response = owner_client.post(reverse("publish", args=[incident.ref]), {"confirmed": "True"})
    assert response.status_code == 302
    incident.postmortem.refresh_from_db()
    assert incident.postmortem.status == Postmortem.Status.PUBLISHED
    publication = Publication.objects.get()
    assert (publication.number, publication.published_by, publication.missing) == (1, owner, [])
    assert [(c.before, c.after, c.who) for c in status_changes(incident.postmortem)] == [
        ("In review", "Published", owner),
        ("Draft", "In review", owner),
    ]


def test_htmx_swaps_the_review_part_in_place(owner_client, incident):
    response = owner_client.post(
        reverse("publish-submit", args=[incident.ref]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card publish-part" id="review"')
    assert "Sent for review." in html


def test_publishing_with_gaps_is_refused_and_says_what_is_missing(owner_client, incident):
    in_review(incident)
    response = owner_client.post(reverse("publish", args=[incident.ref]))
    assert response.status_code == 422
    html = response.content.decode()
    assert "It cannot be published yet. Still missing:" in html
    assert "Add a timeline entry of the kind Resolution" in html
    incident.postmortem.refresh_from_db()
    assert incident.postmortem.status == Postmortem.Status.IN_REVIEW
    assert not Publication.objects.exists()


def test_a_reason_does_not_let_anyone_but_staff_publish_with_gaps(incident, owner):
    in_review(incident)
    with pytest.raises(PublishingRefused) as refused:
        postmortem_publish(incident=incident, user=owner, override_reason="The CEO asked")
    assert len(refused.value.missing) == 6


def test_staff_may_publish_anyway_with_a_recorded_reason(client, incident, staff):
    in_review(incident)
    client.force_login(staff)
    url = reverse("publish", args=[incident.ref])
    response = client.post(url, {"override_reason": "  "})
    assert response.status_code == 422
    assert "To publish anyway, say why." in response.content.decode()

    response = client.post(url, {"override_reason": "Customers need it before the call"})
    assert "It goes out with 6 checklist items missing" in response.content.decode()
    response = client.post(
        url, {"override_reason": "Customers need it before the call", "confirmed": "True"}
    )
    assert response.status_code == 302
    publication = Publication.objects.get()
    assert publication.override_reason == "Customers need it before the call"
    assert len(publication.missing) == 6
    changes = status_changes(incident.postmortem)
    assert changes[0].reason == "Published with gaps: Customers need it before the call"
    assert changes[0].who == staff


def test_the_page_offers_staff_publish_anyway_with_a_labelled_reason(client, incident, staff):
    in_review(incident)
    client.force_login(staff)
    html = client.get(reverse("publishing", args=[incident.ref])).content.decode()
    assert "Publish anyway…</button>" in html
    assert '<label for="id_override_reason">' in html


def test_a_draft_is_not_published_without_review(owner_client, incident, owner):
    factories.publishable(incident, owner)
    response = owner_client.post(reverse("publish", args=[incident.ref]))
    assert response.status_code == 409
    assert "Ask for a review first." in response.content.decode()


def test_back_to_draft_needs_a_reason_and_keeps_it_in_the_history(owner_client, incident):
    in_review(incident)
    url = reverse("publish-return", args=[incident.ref])
    response = owner_client.post(url, {"reason": ""})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()

    response = owner_client.post(url, {"reason": "The timeline misses the failover"})
    assert response.status_code == 302
    incident.postmortem.refresh_from_db()
    assert incident.postmortem.status == Postmortem.Status.DRAFT
    assert incident.postmortem.status_reason == "The timeline misses the failover"
    record = incident.postmortem.history.latest("history_id")
    assert record.status_reason == "The timeline misses the failover"
    page = owner_client.get(reverse("publishing", args=[incident.ref])).content.decode()
    assert "Sent back to draft: “The timeline misses the failover”" in page


def test_a_draft_cannot_go_back_to_draft(incident, owner):
    with pytest.raises(PublishingRefused, match="a draft already"):
        postmortem_return_to_draft(postmortem=incident.postmortem, user=owner, reason="why not")


def test_review_twice_is_refused(owner_client, incident):
    in_review(incident)
    response = owner_client.post(reverse("publish-submit", args=[incident.ref]))
    assert response.status_code == 409
    assert "only a draft goes to review" in response.content.decode()


def test_pressing_publish_twice_makes_one_publication(incident, owner):
    factories.publishable(incident, owner)
    in_review(incident)
    postmortem_publish(incident=incident, user=owner)
    with pytest.raises(PublishingRefused, match="published already"):
        postmortem_publish(incident=incident, user=owner)
    assert Publication.objects.count() == 1


def test_republishing_makes_a_new_version(incident, owner):
    factories.publishable(incident, owner)
    postmortem_submit_for_review(postmortem=incident.postmortem, user=owner)
    postmortem_publish(incident=incident, user=owner)
    postmortem_return_to_draft(postmortem=incident.postmortem, user=owner, reason="Add numbers")
    postmortem_submit_for_review(postmortem=incident.postmortem, user=owner)
    second = postmortem_publish(incident=incident, user=owner)
    assert second.number == 2


def test_the_publication_is_what_stakeholders_may_read_frozen(incident, owner):
    factories.publishable(incident, owner)
    in_review(incident)
    publication = postmortem_publish(incident=incident, user=owner)
    write(incident, "summary", "Changed after publishing")
    publication.refresh_from_db()
    keys = [section["key"] for section in publication.content["lead_sections"]]
    assert keys == ["summary", "business-impact", "impact", "aftercare"]
    assert publication.content["lead_sections"][0]["body"].startswith("Checkout failed")
    everything = str(publication.content)
    assert "Paging worked" not in everything  # "What went well" is internal
    assert publication.content["root_cause"]["body"].startswith("The pool was sized")


# --- Permissions ------------------------------------------------------------------------------


def management_posts(incident):
    return [
        reverse("publish-submit", args=[incident.ref]),
        reverse("publish-return", args=[incident.ref]),
        reverse("publish", args=[incident.ref]),
        reverse("summary-send", args=[incident.ref]),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, incident):
    responses = [client.get(reverse("publishing", args=[incident.ref]))]
    responses += [client.post(url) for url in management_posts(incident)]
    for response in responses:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_an_outsider_may_not_publish(client, incident, outsider):
    client.force_login(outsider)
    assert client.get(reverse("publishing", args=[incident.ref])).status_code == 403
    for url in management_posts(incident):
        assert client.post(url, {"reason": "x"}).status_code == 403
    incident.postmortem.refresh_from_db()
    assert incident.postmortem.status == Postmortem.Status.DRAFT


def test_a_teammate_reads_but_only_the_team_lead_publishes(client, team_incident, teammate, owner):
    team_incident.owner = None
    team_incident.save()
    client.force_login(teammate)
    assert client.get(reverse("publishing", args=[team_incident.ref])).status_code == 403
    client.force_login(owner)  # the lead of the incident's team, no longer its owner
    response = client.post(reverse("publish-submit", args=[team_incident.ref]))
    assert response.status_code == 302
    team_incident.postmortem.refresh_from_db()
    assert team_incident.postmortem.status == Postmortem.Status.IN_REVIEW


def test_the_document_page_opens_a_part_as_a_panel(owner_client, incident):
    url = reverse("publishing", args=[incident.ref])
    response = owner_client.get(
        url,
        {"part": "links"},
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://testserver{incident.get_absolute_url()}",
        },
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="publish-panel-head">')
    assert 'id="links"' in html and 'id="review"' not in html
    assert response["Vary"] == "HX-Request, Cookie"
    # Without htmx the same address is the whole page.
    assert (
        "<h1>Review, publish and share</h1>"
        in owner_client.get(url, {"part": "links"}).content.decode()
    )


def test_a_status_change_on_the_document_page_updates_its_bar(owner_client, incident):
    response = owner_client.post(
        reverse("publish-submit", args=[incident.ref]),
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://testserver{incident.get_absolute_url()}",
        },
    )
    assert 'id="publish-bar-status" hx-swap-oob="true">Postmortem in review</span>' in (
        response.content.decode()
    )


def test_the_publishing_page_answers_405_to_a_post(owner_client, incident):
    assert owner_client.post(reverse("publishing", args=[incident.ref])).status_code == 405


def test_the_document_page_links_to_publishing_and_exports(owner_client, incident):
    html = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "Postmortem draft" in html
    for name, text in [
        ("publishing", "Review and publish"),
        ("export-markdown", "Download Markdown"),
        ("export-pdf", "Download PDF"),
    ]:
        assert reverse(name, args=[incident.ref]) in html
        assert text in html


# --- The summary sent out widely --------------------------------------------------------------


@pytest.fixture
def published_with_team(settings, owner, teammate):
    settings.HINDSIGHT_SUMMARY_EMAILS = ["engineering@example.com"]
    settings.HINDSIGHT_BASE_URL = "https://hindsight.example.com"
    team = factories.team("Payments", slack_webhook_url="https://hooks.slack.com/services/T/B/x")
    quiet_team = factories.team("Platform")  # no webhook: nothing sent there
    started_at = timezone.now() - timedelta(hours=3)
    incident = factories.incident(
        owner=owner,
        team=team,
        started_at=started_at,
        resolved_at=started_at + timedelta(minutes=73),
        services=[factories.service("checkout-api", team), factories.service("db", quiet_team)],
    )
    factories.publishable(incident, teammate)
    in_review(incident)
    return incident


def test_publishing_sends_the_summary_to_the_list_and_the_team_slack(
    published_with_team, owner, django_capture_on_commit_callbacks
):
    incident = published_with_team
    with (
        mock.patch("kernel.channels.send_email", autospec=True) as send_email,
        mock.patch("incidents.slack.post_slack", autospec=True) as post_slack,
        mock.patch.object(deliver, "delay", side_effect=engine.deliver_one) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        postmortem_publish(incident=incident, user=owner, send_summary=True)

    assert delay.call_count == 2
    email = send_email.call_args.kwargs
    assert email["to"] == ["engineering@example.com"]
    assert email["subject"] == f"Postmortem: {incident.ref} SEV1 {incident.title}"
    for text in (email["text"], email["html"]):
        assert incident.title in text
        assert "12% of checkouts failed" in text  # the impact
        assert "The connection pool ran dry under peak load" in text  # the root cause
        assert "Alert on pool saturation" in text
        assert "Marcus Webb" in text  # the action item's owner
        assert f"https://hindsight.example.com/incidents/{incident.ref}/" in text
    assert "lasted 1h 13m" in email["text"]
    assert "<table" in email["html"]
    slack = post_slack.call_args.kwargs
    assert slack["webhook_url"] == "https://hooks.slack.com/services/T/B/x"
    assert incident.title in slack["payload"]["text"]
    assert "Marcus Webb" in slack["payload"]["text"]
    assert sorted(Delivery.objects.values_list("topic", "status")) == [
        ("summary", "sent"),
        ("summary", "sent"),
    ]


def test_publishing_without_ticking_send_sends_nothing(published_with_team, owner):
    postmortem_publish(incident=published_with_team, user=owner, send_summary=False)
    assert not Delivery.objects.exists()


def test_the_publish_form_says_where_the_summary_goes(client, published_with_team, owner):
    client.force_login(owner)
    html = client.get(reverse("publishing", args=[published_with_team.ref])).content.decode()
    assert (
        "The summary goes to engineering@example.com and to the Slack channel of Payments" in html
    )
    assert '<label for="id_send_summary">Send the summary when it is published</label>' in html


def queued(publication) -> list[Delivery]:
    """The summary's deliveries, queued with no worker picking them up."""
    with mock.patch.object(deliver, "delay_on_commit", autospec=True):
        return summary_queue(publication=publication)


def test_a_delivery_is_sent_once(published_with_team, owner):
    publication = postmortem_publish(incident=published_with_team, user=owner)
    deliveries = queued(publication)
    with (
        mock.patch("kernel.channels.send_email", autospec=True) as send_email,
        mock.patch("incidents.slack.post_slack", autospec=True),
    ):
        assert engine.deliver_one(deliveries[0].pk).status == Delivery.Status.SENT
        assert engine.deliver_one(deliveries[0].pk) is None
        assert engine.deliver_due().sent == 1  # only the Slack one was left
    assert send_email.call_count == 1


def test_a_failed_slack_post_is_retried_with_backoff_only_while_it_can_help(
    published_with_team, owner, settings
):
    settings.HINDSIGHT_DELIVERY_ATTEMPTS = 3
    settings.HINDSIGHT_DELIVERY_RETRY_SECONDS = 60
    publication = postmortem_publish(incident=published_with_team, user=owner)
    slack = queued(publication)[1]
    error = ChannelError("Slack webhook at hooks.slack.com answered 503", retryable=True)
    outcomes, waits = [], []
    with (
        mock.patch("incidents.slack.post_slack", autospec=True, side_effect=error),
        time_machine.travel(timezone.now(), tick=False) as traveller,
    ):
        for _ in range(3):
            engine.deliver_one(slack.pk)
            slack.refresh_from_db()
            outcomes.append(slack.status)
            if slack.status == "pending":
                wait = slack.next_attempt_at - timezone.now()
                waits.append(wait.total_seconds())
                # Not due yet: a second worker asking early sends nothing.
                assert engine.deliver_one(slack.pk) is None
                traveller.shift(wait)
    assert outcomes == ["pending", "pending", "failed"]
    assert waits == [60, 120]
    assert (slack.attempts, slack.error) == (3, "Slack webhook at hooks.slack.com answered 503")

    gone = ChannelError("Slack webhook at hooks.slack.com answered 404", retryable=False)
    slack = queued(publication)[1]
    with mock.patch("incidents.slack.post_slack", autospec=True, side_effect=gone):
        assert engine.deliver_one(slack.pk).status == "failed"


def test_the_task_comes_back_when_a_retry_is_due(published_with_team, owner, settings):
    settings.HINDSIGHT_DELIVERY_RETRY_SECONDS = 60
    publication = postmortem_publish(incident=published_with_team, user=owner)
    email = queued(publication)[0]
    error = ChannelError("e-mail to 1 recipient(s) failed: refused", retryable=True)
    with (
        time_machine.travel(timezone.now(), tick=False),
        mock.patch("kernel.channels.send_email", autospec=True, side_effect=error),
        mock.patch.object(
            deliver, "retry", autospec=True, side_effect=RuntimeError("retry")
        ) as retry,
        pytest.raises(RuntimeError, match="retry"),
    ):
        deliver.run(email.pk)
    assert retry.call_args.kwargs == {"countdown": 60}


def test_a_title_with_a_line_break_still_makes_a_one_line_subject(
    published_with_team, owner, django_capture_on_commit_callbacks
):
    from django.core import mail

    incident = published_with_team
    type(incident).objects.filter(pk=incident.pk).update(title="Checkout down\r\nBcc: x@evil")
    incident.refresh_from_db()
    with (
        mock.patch("incidents.slack.post_slack", autospec=True),
        mock.patch.object(deliver, "delay", side_effect=engine.deliver_one),
        django_capture_on_commit_callbacks(execute=True),
    ):
        postmortem_publish(incident=incident, user=owner, send_summary=True)
    (message,) = mail.outbox
    assert message.subject == f"Postmortem: {incident.ref} SEV1 Checkout down Bcc: x@evil"
    assert message.bcc == []
    assert Delivery.objects.get(channel="email").status == "sent"


def test_the_summary_can_be_sent_again_from_the_page(client, published_with_team, owner):
    postmortem_publish(incident=published_with_team, user=owner)
    client.force_login(owner)
    with mock.patch.object(deliver, "delay_on_commit", autospec=True) as handed_over:
        response = client.post(reverse("summary-send", args=[published_with_team.ref]))
    assert response.status_code == 302
    assert handed_over.call_count == 2
    page = client.get(reverse("publishing", args=[published_with_team.ref])).content.decode()
    assert "Summary to engineering@example.com by e-mail:" in page
    assert "Summary to Payments on Slack:" in page


def test_the_summary_gives_the_root_cause_in_a_sentence_or_two(published_with_team, owner):
    long_story = "The pool ran dry. " * 40
    published_with_team.postmortem.causes.update(statement=long_story)
    publication = postmortem_publish(incident=published_with_team, user=owner)
    summary = summary_for(publication)
    root_cause = summary.text.split("ROOT CAUSE\n")[1].split("\n")[0]
    assert root_cause.startswith("The pool ran dry.")
    assert len(root_cause) <= 320


def test_the_admin_shows_how_a_publications_summary_went_out(
    admin_client, published_with_team, owner
):
    publication = postmortem_publish(incident=published_with_team, user=owner)
    email, slack = queued(publication)
    Delivery.objects.filter(pk=slack.pk).update(status="failed", error="answered 404")
    page = admin_client.get(reverse("admin:postmortems_publication_change", args=[publication.pk]))
    html = page.content.decode()
    assert "engineering@example.com by e-mail: Waiting to send" in html
    assert "Payments on Slack: Failed (answered 404)" in html


def test_a_private_incidents_summary_goes_to_no_list_and_slack_hears_no_title(
    published_with_team, owner, django_capture_on_commit_callbacks
):
    incident = published_with_team
    Incident.objects.filter(pk=incident.pk).update(private=True)
    incident.refresh_from_db()
    with (
        mock.patch("kernel.channels.send_email", autospec=True) as send_email,
        mock.patch("incidents.slack.post_slack", autospec=True) as post_slack,
        mock.patch.object(deliver, "delay", side_effect=engine.deliver_one),
        django_capture_on_commit_callbacks(execute=True),
    ):
        postmortem_publish(incident=incident, user=owner, send_summary=True)

    send_email.assert_not_called()
    text = post_slack.call_args.kwargs["payload"]["text"]
    assert text.startswith("A postmortem of *a private incident* was published.")
    assert f"https://hindsight.example.com/incidents/{incident.ref}/" in text
    for secret in (incident.title, "12% of checkouts failed", "Marcus Webb"):
        assert secret not in text
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PUBLISHED)
    assert entry.actor == owner and entry.detail == "Version 1."
