"""Notes on blaming words: what they find, what they leave alone, and the publish checklist."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kernel.kinds import kind_named
from postmortems.blameless import Checker, document_notes
from postmortems.document import document_for_ref
from postmortems.models import Postmortem, Section, WordingAcknowledgement, WordingRule
from postmortems.publishing.checklist import publish_checklist
from tests import factories

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
WORDING = "No open notes on blaming words"


def rules_found(text: str, *, names_expected: bool = False) -> list[str]:
    return [
        note.rule for note in Checker().notes(text, field="body", names_expected=names_expected)
    ]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("The outage was caused by human error.", "human-error"),
        ("Put down to operator-error in the first report.", "human-error"),
        ("The on-call engineer forgot to drain the node.", "forgot"),
        ("They should have known the flag was live.", "should-have"),
        ("Someone shouldn't have checked in the secret.", "should-have"),
        ("A careless change to the config.", "careless"),
        ("It was the fault of the release manager.", "fault"),
        ("This was nobody's fault but the deployer's.", "fault"),
        ("The reviewer failed to check the migration.", "failed-to-follow"),
    ],
)
def test_blame_phrasing_gets_a_note(text, rule, owner):
    assert rule in rules_found(text)


@pytest.mark.parametrize(
    "text",
    [
        "The error rate rose to 40% and stayed there for 12 minutes.",
        "Errors per second doubled; the error budget burned in an hour.",
        "The job failed to start because the queue was full.",
        "Users saw a 502 error page.",
        "The deploy should have been blocked by the canary, which was off.",
    ],
)
def test_systems_wording_gets_no_note(text, owner):
    assert rules_found(text) == []


def test_a_name_in_the_analysis_gets_a_note_and_in_the_timeline_does_not(owner, teammate):
    text = "Marcus Webb restarted the database, and Priya paged the payments team."

    in_analysis = Checker().notes(text, field="body", names_expected=False)
    in_timeline = Checker().notes(text, field="text", names_expected=True)

    assert [(note.rule, note.words) for note in in_analysis] == [
        ("name", "Marcus Webb"),
        ("name", "Priya"),
    ]
    assert in_timeline == []


def test_a_first_name_that_is_also_a_word_counts_only_as_a_full_name(owner):
    factories.user("will", first_name="Will", last_name="Okafor")

    assert rules_found("Will the retry storm come back? Probably.") == []
    assert rules_found("Will Okafor rolled back.") == ["name"]


def test_the_kinds_say_where_names_belong(incident, owner):
    doc = document_for_ref(incident.ref)
    entry = factories.timeline_entry(incident, text="Priya rolled back the deploy", user=owner)
    root = Section.objects.get(postmortem__incident=incident, key="root-cause")
    summary = Section.objects.get(postmortem__incident=incident, key="summary")
    root.body = summary.body = "Priya rolled back the deploy"
    root.save()
    summary.save()
    cause = factories.cause(incident, "Priya rolled back the deploy")

    found = {(f.kind.name, f.block.pk): f.notes for f in document_notes(document_for_ref(doc.ref))}

    assert ("entry", entry.pk) not in found
    assert ("section", summary.pk) not in found
    assert [note.words for note in found[("section", root.pk)]] == ["Priya"]
    assert [note.words for note in found[("cause", cause.pk)]] == ["Priya"]


def test_an_admins_phrase_joins_the_built_in_ones(owner):
    WordingRule.objects.create(
        phrase="dropped the ball*", why="It judges effort.", suggestion="What was in the way?"
    )
    WordingRule.objects.create(phrase="rookie", why="x", suggestion="y", active=False)

    notes = Checker().notes(
        "Ops dropped the balls, a rookie move.", field="body", names_expected=True
    )

    assert [(note.words, note.why) for note in notes] == [
        ("dropped the balls", "It judges effort.")
    ]


# --- While writing ---------------------------------------------------------------------------


def test_the_editor_gets_its_notes_as_a_fragment(owner_client, incident):
    section = Section.objects.get(postmortem__incident=incident, key="root-cause")
    url = reverse("wording-notes", args=[incident.ref, "section"])

    response = owner_client.post(
        url, {"block": section.pk, "body": "Root cause: human error by Priya."}, headers=HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<mark>human error</mark>" in html and "<mark>Priya</mark>" in html
    assert "reasonable to the person at the time" in html


def test_a_new_timeline_entry_may_name_people_but_not_blame(owner_client, incident):
    url = reverse("wording-notes", args=[incident.ref, "entry"])

    named = owner_client.post(url, {"text": "Priya paged the DBA"}, headers=HTMX)
    blamed = owner_client.post(url, {"text": "Priya forgot the flag"}, headers=HTMX)

    assert "<mark>" not in named.content.decode()
    assert blamed.content.decode().count("<mark>") == 1
    assert "<mark>forgot</mark>" in blamed.content.decode()


def test_the_editor_form_asks_for_notes_after_a_pause(owner_client, incident):
    entry = factories.timeline_entry(incident)

    form = owner_client.get(reverse("block-edit", args=[incident.ref, "entry", entry.pk]))

    html = form.content.decode()
    assert reverse("wording-notes", args=[incident.ref, "entry"]) in html
    assert 'hx-trigger="load, input from:closest form delay:700ms"' in html


def test_saving_is_never_held_up_by_a_note(owner_client, incident):
    entry = factories.timeline_entry(incident)
    url = reverse("block", args=[incident.ref, "entry", entry.pk])
    data = {
        "base_version": entry.version,
        "occurred_at": entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
        "kind": entry.kind,
        "text": "The deployer was careless and forgot the flag",
    }

    response = owner_client.post(url, data, headers=HTMX)

    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.text == data["text"]


@pytest.mark.parametrize(
    ("kind", "data", "status"),
    [
        ("nothing", {}, 404),
        ("action", {"title": "x"}, 404),
        ("entry", {"block": "12a"}, 400),
        ("entry", {"block": "9" * 20}, 400),
        ("entry", {"block": "999999"}, 404),
        ("entry", {"text": "\x00human error\r\n" * 5000}, 200),
    ],
)
def test_bad_requests_for_notes_answer_in_words(owner_client, incident, kind, data, status):
    response = owner_client.post(reverse("wording-notes", args=[incident.ref, kind]), data)

    assert response.status_code == status


def test_someone_signed_out_gets_no_notes(client, incident):
    response = client.post(reverse("wording-notes", args=[incident.ref, "entry"]), {"text": "x"})

    assert response.status_code in (302, 404)


# --- Before publishing -----------------------------------------------------------------------


def test_open_notes_are_a_line_of_the_checklist(incident, owner):
    factories.publishable(incident, owner)
    checks = {check.need: check for check in publish_checklist(document_for_ref(incident.ref))}
    assert checks[WORDING].done

    factories.cause(incident, "Human error during the deploy; Priya should have checked")

    check = {check.need: check for check in publish_checklist(document_for_ref(incident.ref))}[
        WORDING
    ]
    assert not check.done
    assert check.todo.startswith("3 notes on wording are open")


def test_the_owner_acknowledges_each_note_and_it_is_recorded(owner_client, owner, incident):
    factories.publishable(incident, owner)
    cause = factories.cause(incident, "Human error during the deploy")
    url = reverse("wording-acknowledge", args=[incident.ref])

    page = owner_client.get(reverse("publishing", args=[incident.ref]))
    assert "Acknowledge “Human error”" in page.content.decode()
    response = owner_client.post(
        url,
        {"kind": "cause", "block": cause.pk, "note": "human-error:human error", "reason": "Quote"},
        headers=HTMX,
    )

    assert response.status_code == 200
    row = WordingAcknowledgement.objects.get()
    assert (row.block_kind, row.block_id, row.acknowledged_by, row.reason) == (
        "cause",
        cause.pk,
        owner,
        "Quote",
    )
    checks = {check.need: check for check in publish_checklist(document_for_ref(incident.ref))}
    assert checks[WORDING].done


def test_a_note_whose_words_are_gone_cannot_be_acknowledged(owner_client, incident):
    cause = factories.cause(incident, "The pool ran dry")

    response = owner_client.post(
        reverse("wording-acknowledge", args=[incident.ref]),
        {"kind": "cause", "block": cause.pk, "note": "human-error:human error"},
        headers=HTMX,
    )

    assert response.status_code == 409
    assert "no longer raised" in response.content.decode()
    assert not WordingAcknowledgement.objects.exists()


def test_someone_off_the_incident_cannot_acknowledge(client, incident, outsider):
    cause = factories.cause(incident, "Human error")
    client.force_login(outsider)

    response = client.post(
        reverse("wording-acknowledge", args=[incident.ref]),
        {"kind": "cause", "block": cause.pk, "note": "human-error:human error"},
    )

    assert response.status_code == 403
    assert not WordingAcknowledgement.objects.exists()


def test_staff_publishing_over_open_notes_keeps_them_in_what_was_missing(incident, owner):
    from postmortems.publishing.workflow import postmortem_publish

    # Publishing over gaps is for admins (superusers).
    staff = factories.user("sasha", is_staff=True, is_superuser=True)
    factories.publishable(incident, owner)
    factories.cause(incident, "A careless deploy")
    Postmortem.objects.filter(pk=incident.postmortem.pk).update(status="in_review")

    publication = postmortem_publish(
        incident=document_for_ref(incident.ref), user=staff, override_reason="Exec asked today"
    )

    assert any("on wording" in line for line in publication.missing)


def test_every_kind_with_text_people_write_is_read(db):
    assert all(kind_named(name).prose_fields for name in ("section", "entry", "cause", "why"))


def test_the_demo_draft_has_notes_to_reword_or_acknowledge(db):
    from io import StringIO

    from django.core.management import call_command

    from incidents.models import Incident

    call_command("seed_demo", stdout=StringIO())
    draft = Incident.objects.get(title__startswith="Elevated login errors")

    found = document_notes(document_for_ref(draft.ref))

    assert {note.rule for block in found for note in block.notes} >= {
        "name",
        "should-have",
        "careless",
        "human-error",
        "forgot",
    }
