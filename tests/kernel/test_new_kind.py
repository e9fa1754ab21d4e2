"""A new kind of block needs one registration and one partial, and nothing else.

The registration below reuses the why rows under another name (a model needs a migration,
which is not the point here); everything else it gets from the kernel: the edit form view,
the versioned save, the conflict panel, the history, the live event, revert, the page's JSON.
"""

from __future__ import annotations

import pytest
from django import forms

from kernel.blocks import updater
from kernel.forms import VersionedForm
from kernel.kinds import BlockKind, described, kind_named, register, unregister
from postmortems.models import Why
from tests import factories
from tests.kernel.test_kinds import full_round

pytestmark = pytest.mark.django_db

PARTIAL = """{% partialdef note %}<p class="block note" id="note-{{ block.pk }}"
data-version="{{ block.version }}">{{ block.question }}</p>{% endpartialdef %}"""


class NoteForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Why
        fields = ["question"]
        labels = {"question": "Note"}


@pytest.fixture
def note_kind(settings, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "note.html").write_text(PARTIAL)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    why = kind_named("why")
    unregister("why")
    # The whole of the new kind: one registration.
    note = register(
        BlockKind(
            name="note",
            model=Why,
            label="Note",
            template="notes/note.html",
            partial="note",
            blocks=lambda incident: Why.objects.filter(cause__postmortem__incident=incident),
            incident_id=lambda note: note.cause.postmortem.incident_id,
            history=lambda incident: Why.history.filter(cause__postmortem__incident=incident),
            tracked_fields=("question",),
            describe=lambda record: described("Note", record.question),
            form=NoteForm,
            update=updater(("question",)),
        )
    )
    yield note
    unregister("note")
    register(why)


def test_a_kind_made_of_one_registration_does_the_full_round(
    note_kind, owner_client, owner, incident, in_process_bus, django_capture_on_commit_callbacks
):
    note = factories.cause(incident, whys=1).whys.get()
    page = owner_client.get(f"/incidents/{incident.ref}/")
    assert '"note": {"list": null' in page.content.decode()

    form = owner_client.get(f"/incidents/{incident.ref}/note/{note.pk}/edit/")
    assert form.status_code == 200 and 'aria-label="Note"' in form.content.decode()
    shown = owner_client.get(f"/incidents/{incident.ref}/note/{note.pk}/")
    assert f'id="note-{note.pk}"' in shown.content.decode()

    full_round(
        note_kind,
        note,
        "question",
        "Pool sizes are guessed",
        "Nobody owns the pool",
        owner_client=owner_client,
        owner=owner,
        incident=incident,
        bus=in_process_bus,
        capture=django_capture_on_commit_callbacks,
    )
