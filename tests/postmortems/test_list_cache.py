"""Long lists of the document page (timeline, causes, action items) reused whole while none of
their blocks changed: after every kind of change the page shows what a fresh render shows."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from actions.items import action_item_update
from actions.models import ActionItem
from incidents.editing import timeline_entry_update
from incidents.policy import READ_ONLY_GROUP
from kernel.blocks import block_create, block_delete, block_move
from postmortems.editing import cause_update, why_update
from postmortems.models import AcceptedRisk, Cause, CauseCategory, Why
from tests import factories

LISTS = ("timeline", "causes", "actions")


def parts(html: str) -> dict[str, str]:
    """The page's three long lists, each as its whole section."""
    found = {}
    for name in LISTS:
        match = re.search(rf'<section class="doc-part" id="{name}".*?</section>', html, re.S)
        assert match, f"no {name} section in the page"
        found[name] = match.group(0)
    return found


def page(client, incident, query: str = "") -> str:
    response = client.get(incident.get_absolute_url() + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def document(owner, incident):
    """A document with something in every list, and every kind of thing they show."""
    for n in range(3):
        factories.timeline_entry(incident, minutes=n, text=f"Step {n}", user=owner)
    category = CauseCategory.objects.get_or_create(name="Capacity")[0]
    first = factories.cause(incident, "The pool ran dry", whys=2)
    first.category = category
    first.save()
    second = factories.cause(incident, "Nobody was paged", whys=1)
    factories.accepted_risk(second, accepted_by=owner)
    for n, cause in enumerate((first, first, second, None)):
        factories.action_item(incident, title=f"Item {n}", cause=cause, owner=owner)
    return incident


def _first(model, **where):
    return model.objects.filter(**where).order_by("pk").first()


def edit_entry(incident, owner):
    entry = incident.timeline.order_by("pk").first()
    timeline_entry_update(entry, base_version=entry.version, user=owner, text="Paged the DBA")
    return "Paged the DBA"


def add_entry(incident, owner):
    entry = factories.timeline_entry(incident, minutes=1, text="unsaved", user=owner)
    entry.delete()
    entry.pk, entry.text = None, "Rolled back"
    block_create(block=entry, user=owner)
    return "Rolled back"


def delete_entry(incident, owner):
    entry = incident.timeline.order_by("pk").first()
    block_delete(block=entry, base_version=entry.version, user=owner)
    return None


def image_on_entry(incident, owner):
    factories.image(
        incident, caption="Replica lag graph", entry=incident.timeline.order_by("pk").first()
    )
    return "Replica lag graph"


def image_on_why(incident, owner):
    factories.image(
        incident, caption="Replica lag graph", why=_first(Why, cause__postmortem__incident=incident)
    )
    return "Replica lag graph"


def edit_why(incident, owner):
    why = _first(Why, cause__postmortem__incident=incident)
    why_update(why, base_version=why.version, user=owner, answer="The limit was never raised")
    return "The limit was never raised"


def accept_risk(incident, owner):
    factories.accepted_risk(
        _first(Cause, postmortem__incident=incident), reason="Rare enough to live with"
    )
    return "Rare enough to live with"


def move_cause(incident, owner):
    cause = _first(Cause, postmortem__incident=incident)
    block_move(
        block=cause,
        siblings=Cause.objects.filter(postmortem=cause.postmortem),
        offset=1,
        user=owner,
    )
    return None


def rename_category(incident, owner):
    CauseCategory.objects.filter(name="Capacity").update(name="Saturation")
    return "Saturation"


def edit_cause(incident, owner):
    cause = _first(Cause, postmortem__incident=incident)
    cause_update(cause, base_version=cause.version, user=owner, statement="The pool was too small")
    return "The pool was too small"


def give_up_item(incident, owner):
    item = _first(ActionItem, incident=incident, cause__isnull=False)
    action_item_update(
        item,
        base_version=item.version,
        user=owner,
        status=ActionItem.Status.WONT_DO,
        wont_do_reason="Replaced by the autoscaler",
    )
    return None


def file_item(incident, owner):
    cause = Cause.objects.filter(postmortem__incident=incident).order_by("pk").last()
    factories.action_item(incident, title="Page the second on-call", cause=cause, owner=owner)
    return "Page the second on-call"


def edit_risk_directly_through_its_service(incident, owner):
    from postmortems.editing import accepted_risk_update

    risk = _first(AcceptedRisk, cause__postmortem__incident=incident)
    accepted_risk_update(risk, base_version=risk.version, user=owner, reason="Cheaper to absorb")
    return "Cheaper to absorb"


CHANGES: list[Callable] = [
    edit_entry,
    add_entry,
    delete_entry,
    image_on_entry,
    image_on_why,
    edit_why,
    accept_risk,
    edit_risk_directly_through_its_service,
    move_cause,
    rename_category,
    edit_cause,
    give_up_item,
    file_item,
]


@pytest.mark.django_db
@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
def test_a_reused_list_is_what_a_fresh_render_shows_after_the_change(
    owner_client, owner, document, change
):
    page(owner_client, document)
    before = parts(page(owner_client, document))

    shown = change(document, owner)
    reused = parts(page(owner_client, document))
    cache.clear()
    fresh = parts(page(owner_client, document))

    assert reused == fresh
    assert reused != before
    if shown:
        assert shown in "".join(reused.values())


@pytest.mark.django_db
def test_an_unchanged_list_is_reused_without_loading_its_rows(owner_client, document):
    page(owner_client, document)
    with CaptureQueriesContext(connection) as captured:
        html = page(owner_client, document)
    sql = "\n".join(query["sql"] for query in captured)

    assert "Step 2" in html and "Item 3" in html and "Nobody was paged" in html
    # The rows' text is never read: their (id, version) said nothing changed.
    for column in (
        '"incidents_timelineentry"."text"',
        '"actions_actionitem"."title"',
        '"postmortems_why"."answer"',
    ):
        assert column not in sql


@pytest.mark.django_db
def test_each_ordering_of_the_action_items_is_reused_as_its_own(owner_client, owner, document):
    quick = ActionItem.objects.get(title="Item 3")
    quick.effort, quick.impact = "low", "high"
    quick.save()
    page(owner_client, document)
    page(owner_client, document, "?actions=quick-wins")

    filed = parts(page(owner_client, document))["actions"]
    ranked = parts(page(owner_client, document, "?actions=quick-wins"))["actions"]
    cache.clear()

    assert filed == parts(page(owner_client, document))["actions"]
    assert ranked == parts(page(owner_client, document, "?actions=quick-wins"))["actions"]
    assert filed.index("Item 0") < filed.index("Item 3")
    assert ranked.index("Item 3") < ranked.index("Item 0")


@pytest.mark.django_db
def test_readers_and_editors_each_get_their_own_reused_lists(owner_client, document):
    reader = factories.user("rosa")
    reader.groups.add(Group.objects.get_or_create(name=READ_ONLY_GROUP)[0])
    client = Client()
    client.force_login(reader)
    for _ in range(2):
        editor_view = parts(page(owner_client, document))
        reader_view = parts(page(client, document))

    assert "Add timeline entry" in editor_view["timeline"]
    assert "Add timeline entry" not in reader_view["timeline"]
    assert "Add a cause" not in reader_view["causes"]


@pytest.mark.django_db
def test_a_changed_list_loads_only_its_changed_blocks(owner_client, owner, document):
    page(owner_client, document)
    entry = document.timeline.order_by("pk").first()
    timeline_entry_update(entry, base_version=entry.version, user=owner, text="Paged the DBA")

    with CaptureQueriesContext(connection) as captured:
        html = page(owner_client, document)

    assert "Paged the DBA" in html and "Step 2" in html
    # Rows are loaded whole for the changed entry only (the picture reads the times and texts).
    loads = [q["sql"] for q in captured if '"incidents_timelineentry"."added_by_id"' in q["sql"]]
    assert len(loads) == 1
    assert f"IN ({entry.pk})" in loads[0]
