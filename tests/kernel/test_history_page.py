"""The history page: grouped runs, paged, without internal bookkeeping or nameless authors."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from kernel.blocks import block_delete, block_move
from kernel.history import document_history, history_runs
from postmortems.editing import cause_update, section_update
from postmortems.models import Cause, Section
from tests import factories

pytestmark = pytest.mark.django_db


def summary(incident) -> Section:
    return Section.objects.get(postmortem__incident=incident, key="summary")


def test_a_move_is_not_shown_as_a_change(owner, incident):
    first, second = factories.cause(incident, "First"), factories.cause(incident, "Second")
    block_move(block=second, siblings=Cause.objects.all(), offset=-1, user=owner)
    assert Cause.objects.get(pk=first.pk).version == 2  # renumbered, with a history row
    labels = [(c.action, c.label) for c in document_history(incident) if c.kind == "cause"]
    assert labels == [("created", "Cause: Second"), ("created", "Cause: First")]


def test_long_titles_are_cut_at_a_word(owner, incident):
    entry = factories.timeline_entry(
        incident, text="The checkout service began refusing card payments from every region"
    )
    label = next(c.label for c in document_history(incident) if c.record.id == entry.pk)
    assert label == "Timeline: The checkout service began refusing card payments from…"


def test_a_deletion_without_a_person_is_named_as_the_system(owner_client, incident):
    entry = factories.timeline_entry(incident, text="Imported")
    entry.delete()  # as a data import or a reset does: no person in the history row
    page = owner_client.get(f"/incidents/{incident.ref}/history/").content.decode()
    assert "nobody" not in page
    assert 'Hindsight</strong> <span class="muted">(no person' in page


def test_one_persons_saves_of_one_block_close_together_are_one_entry(owner, teammate, incident):
    section = summary(incident)
    for text in ("One", "One two", "One two three"):
        section = section_update(section, body=text, base_version=section.version, user=owner).block
    section = section_update(
        section, body="One two three four", base_version=section.version, user=teammate
    ).block
    runs = history_runs(document_history(incident))
    assert [(run.latest.who, len(run.changes)) for run in runs[:2]] == [(teammate, 1), (owner, 3)]
    assert [(f.before, f.after) for f in runs[1].fields] == [("", "One two three")]


def test_saves_an_hour_apart_are_separate_entries(owner, incident):
    section = summary(incident)
    start = timezone.now()
    for hour, text in enumerate(("Morning", "Noon")):
        with time_machine.travel(start + timedelta(hours=hour)):
            section = section_update(
                section, body=text, base_version=section.version, user=owner
            ).block
    assert len(history_runs(document_history(incident))) == 4  # 2 saves, entry, details


def test_the_history_is_paged_and_can_show_one_block(owner, owner_client, incident):
    start = timezone.now()
    cause = factories.cause(incident, "Pool")
    for n in range(45):
        with time_machine.travel(start + timedelta(hours=n)):
            cause = cause_update(
                cause, statement=f"Pool {n}", kind="primary", base_version=cause.version, user=owner
            ).block
    first = owner_client.get(f"/incidents/{incident.ref}/history/")
    assert len(first.context["page"].object_list) == 40
    assert "Page 1 of 2" in first.content.decode()
    second = owner_client.get(f"/incidents/{incident.ref}/history/?page=2")
    assert second.status_code == 200 and "Older changes" not in second.content.decode()

    one = owner_client.get(f"/incidents/{incident.ref}/history/?block=cause-{cause.pk}&page=2")
    assert {run.latest.kind for run in one.context["page"].object_list} == {"cause"}
    assert "History of Cause: Pool 44" in one.content.decode()
    odd = owner_client.get(f"/incidents/{incident.ref}/history/?block=cause-x%00&page=99999")
    assert odd.status_code == 200


def test_deleting_a_cause_names_who_deleted_its_whys(owner, owner_client, incident):
    cause = factories.cause(incident, "Pool", whys=1)
    block_delete(block=cause, base_version=cause.version, user=owner)
    deleted = [c for c in document_history(incident) if c.action == "deleted"]
    assert {c.kind for c in deleted} == {"cause", "why"}
    assert {c.who for c in deleted} == {owner}
