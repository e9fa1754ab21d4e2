"""What search finds is the kind registry's to say: a kind registered with a Searchable is
indexed on save and found, by PostgreSQL and by the embedded fallback, with nothing else to
change."""

from __future__ import annotations

import pytest

from kernel.kinds import BlockKind, Searchable, kind_named, register, searchable_kinds, unregister
from postmortems.models import Why
from search.indexing import rebuild
from search.models import SearchEntry
from search.queries import search_fallback, search_postgres
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def note_kind():
    why = kind_named("why")
    unregister("why")
    note = register(
        BlockKind(
            name="note",
            model=Why,
            label="Note",
            template="postmortems/document.html",
            partial="why",
            blocks=lambda incident: Why.objects.filter(cause__postmortem__incident=incident),
            incident_id=lambda note: note.cause.postmortem.incident_id,
            history=lambda incident: Why.history.filter(cause__postmortem__incident=incident),
            tracked_fields=("question",),
            search=Searchable(incident="cause__postmortem__incident", heading=("question",)),
        )
    )
    yield note
    unregister("note")
    register(why)


@pytest.mark.parametrize("search_in", [search_postgres, search_fallback])
def test_a_kind_registered_as_searchable_is_found(note_kind, owner, incident, search_in):
    note = factories.cause(incident).whys.create(question="Who rotates the HSM keys?", position=0)
    hits = search_in(owner, "rotates keys").hits
    assert [(hit.kind, hit.block_id) for hit in hits] == [("note", note.pk)]
    assert hits[0].kind_label == "Note"
    assert hits[0].url == f"/incidents/{incident.ref}/#note-{note.pk}"
    assert "<mark>" in hits[0].snippet


def test_a_rebuild_indexes_every_searchable_kind_and_drops_others(note_kind, owner, incident):
    note = factories.cause(incident).whys.create(question="Who rotates the HSM keys?", position=0)
    Why.objects.filter(pk=note.pk).update(question="Who renews the HSM certificates?")
    SearchEntry.objects.create(incident=incident, kind="gone", block_id=1, heading="renews")
    rebuild()
    assert [hit.kind for hit in search_postgres(owner, "renews certificates").hits] == ["note"]
    assert set(SearchEntry.objects.values_list("kind", flat=True)) <= {
        kind.name for kind in searchable_kinds()
    }


def test_every_searchable_kind_names_its_incident_and_fields():
    for kind in searchable_kinds():
        fields = {field.name for field in kind.model._meta.get_fields()}
        assert set(kind.search.heading + kind.search.body) <= fields, kind.name
        assert kind.search.weight in "ABC"
        # The lookup reaches an incident: a query by it compiles.
        str(kind.model.objects.values(kind.search.incident).query)
