"""The document's history page: every change, who and when, a readable diff, and revert."""

from __future__ import annotations

import pytest
from django.test import Client

from actions.items import action_item_update
from incidents.models import TimelineEntry
from kernel.blocks import block_delete
from kernel.history import document_history, word_diff
from postmortems.editing import section_update
from postmortems.models import Section
from tests import factories

pytestmark = pytest.mark.django_db


def save_summary(incident, text, user):
    summary = Section.objects.get(postmortem__incident=incident, key="summary")
    return section_update(summary, body=text, base_version=summary.version, user=user).block


def test_word_diff_marks_removed_and_added_words_and_escapes():
    html = word_diff("the pool <b>ran</b> dry", "the pool ran out")
    assert "<del>" in html and "<ins>" in html
    assert "&lt;b&gt;" in html
    assert "<b>" not in html


def test_history_lists_every_change_with_who_and_a_diff(owner_client, owner, teammate, incident):
    save_summary(incident, "Checkout failed.", owner)
    save_summary(incident, "Checkout failed for 47 minutes.", teammate)

    response = owner_client.get(f"/incidents/{incident.ref}/history/")

    assert response.status_code == 200
    runs = response.context["page"].object_list
    newest = runs[0].latest
    assert (newest.kind, newest.action, newest.who) == ("section", "changed", teammate)
    assert [f.name for f in newest.fields] == ["body"]
    assert str(newest.fields[0].diff) == "Checkout failed<ins> for 47 minutes</ins>."
    content = response.content.decode()
    assert "Marcus Webb" in content and "Priya Raman" in content
    assert "Revert" in content


def test_history_shows_deleted_timeline_entries(owner, incident):
    entry = factories.timeline_entry(incident, text="Oops")
    block_delete(block=entry, base_version=entry.version, user=owner)
    actions = {(c.kind, c.action) for c in document_history(incident)}
    assert ("entry", "deleted") in actions


def test_revert_brings_back_an_old_text_as_a_new_version(owner_client, owner, teammate, incident):
    save_summary(incident, "Good text", owner)
    save_summary(incident, "Vandalised", teammate)
    good = Section.history.get(postmortem_id=incident.postmortem.pk, key="summary", version=2)

    response = owner_client.post(
        f"/incidents/{incident.ref}/history/section/{good.history_id}/revert/"
    )

    assert response.status_code == 302
    summary = Section.objects.get(postmortem__incident=incident, key="summary")
    assert (summary.body, summary.version) == ("Good text", 4)
    latest = summary.history.latest()
    assert (latest.history_user, latest.version) == (owner, 4)
    assert summary.history.count() == 4  # created, two saves, the revert: nothing rewritten


def test_revert_restores_a_deleted_timeline_entry(owner_client, owner, incident):
    entry = factories.timeline_entry(incident, text="Needed after all")
    created = entry.history.get()
    block_delete(block=entry, base_version=entry.version, user=owner)

    owner_client.post(f"/incidents/{incident.ref}/history/entry/{created.history_id}/revert/")

    restored = TimelineEntry.objects.get(pk=entry.pk)
    assert restored.text == "Needed after all"
    assert restored.version == 2


def test_revert_refuses_a_history_row_of_another_incident(owner_client, owner, incident):
    other = factories.incident(owner=owner)
    save_summary(other, "Other incident's text", owner)
    foreign = Section.history.filter(postmortem_id=other.postmortem.pk).earliest()

    owner_client.post(f"/incidents/{incident.ref}/history/section/{foreign.history_id}/revert/")

    summary = Section.objects.get(postmortem__incident=other, key="summary")
    assert summary.body == "Other incident's text"
    mine = Section.objects.get(postmortem__incident=incident, key="summary")
    assert mine.version == 1


def test_revert_is_post_only_and_needs_login(owner_client, owner, incident):
    save_summary(incident, "Text", owner)
    row = Section.history.filter(postmortem_id=incident.postmortem.pk, key="summary").earliest()
    path = f"/incidents/{incident.ref}/history/section/{row.history_id}/revert/"
    assert owner_client.get(path).status_code == 405
    assert Client().post(path).status_code == 302
    assert Section.objects.get(postmortem__incident=incident, key="summary").body == "Text"


def test_history_lists_conflict_copies(owner, teammate, incident):
    section = save_summary(incident, "Base", owner)
    section_update(section, body="Theirs", base_version=section.version, user=teammate)
    section_update(section, body="Mine", base_version=section.version, user=owner)
    kept = [c for c in document_history(incident) if c.kind == "conflict"]
    assert len(kept) == 1
    assert (kept[0].who, kept[0].revertable) == (owner, False)
    assert kept[0].fields[0].after == "Mine"


def test_a_version_that_breaks_todays_rules_is_not_reverted_to(owner_client, owner, incident):
    from actions.models import ActionItem

    item = ActionItem.objects.create(incident=incident, title="Old rules", status="done")
    action_item_update(
        item,
        outcome="Pool alert live",
        worth_it="yes",
        evidence_url="https://github.com/shop/api/pull/12",
        base_version=item.version,
        user=owner,
    )
    first = ActionItem.history.filter(id=item.pk).earliest()

    response = owner_client.post(
        f"/incidents/{incident.ref}/history/action/{first.history_id}/revert/", follow=True
    )

    assert "cannot be brought back as it is" in response.content.decode()
    item.refresh_from_db()
    assert (item.outcome, item.version) == ("Pool alert live", 2)


def test_empty_sections_of_a_new_postmortem_are_not_listed(incident):
    labels = [c.label for c in document_history(incident) if c.kind == "section"]
    assert labels == []
