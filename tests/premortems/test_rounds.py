"""A premortem round over HTTP: its phases and their rules, reasons hidden until the reveal on
every URL that could show them, grouping, and the vote limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.policy import READ_ONLY_GROUP
from premortems.models import Premortem, Reason, ReasonGroup, Vote
from premortems.rounds import (
    RoundRefused,
    group_create,
    phase_advance,
    reason_add,
    vote_toggle,
)
from tests import factories

pytestmark = pytest.mark.django_db

ANNS_REASON = "The migration locks the orders table for minutes"
BENS_REASON = "Rollback script was never tried on production data"


@pytest.fixture
def people():
    facilitator = factories.user("fran", first_name="Fran")
    ann = factories.user("ann", first_name="Ann")
    ben = factories.user("ben", first_name="Ben")
    outsider = factories.user("otto", first_name="Otto")
    team = factories.team("Payments", lead=factories.user("lena"))
    team.members.add(ann, ben)
    return {"facilitator": facilitator, "ann": ann, "ben": ben, "outsider": outsider, "team": team}


@pytest.fixture
def premortem(people):
    return factories.premortem(
        facilitator=people["facilitator"],
        team_=people["team"],
        participants=[people["ann"], people["ben"]],
        title="Move orders to the new database",
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def write(premortem, user, text):
    url = reverse("premortem-reason-new", args=[premortem.pk])
    return client_for(user).post(url, {"text": text})


def advance(premortem, to):
    return client_for(premortem.facilitator).post(
        reverse("premortem-phase", args=[premortem.pk]), {"to": to}
    )


def every_read_url(premortem) -> list[str]:
    """Every page, fragment and listing that shows anything of a premortem."""
    return [
        reverse("premortem", args=[premortem.pk]),
        reverse("premortem-board", args=[premortem.pk]),
        reverse("premortem-history", args=[premortem.pk]),
        reverse("premortem-list"),
        reverse("dashboard"),
        reverse("search") + "?q=migration+locks",
        "/admin/premortems/reason/",
    ]


# Hidden until the reveal -------------------------------------------------------------------


def test_before_the_reveal_nobody_reads_anyone_elses_reason_on_any_url(people, premortem):
    assert write(premortem, people["ann"], ANNS_REASON).status_code == 302
    assert write(premortem, people["ben"], BENS_REASON).status_code == 302
    admin = factories.user("root", is_superuser=True, is_staff=True)
    for url in every_read_url(premortem):
        for reader, other in ((people["ann"], BENS_REASON), (people["ben"], ANNS_REASON)):
            body = client_for(reader).get(url).content.decode()
            assert other not in body, f"{reader} read another's reason on {url}"
        for onlooker in (people["facilitator"], admin, people["team"].lead):
            body = client_for(onlooker).get(url).content.decode()
            assert ANNS_REASON not in body and BENS_REASON not in body, (onlooker, url)
    # Nor does the admin site's page of one reason give it away.
    anns = Reason.objects.get(text=ANNS_REASON)
    change = client_for(admin).get(f"/admin/premortems/reason/{anns.pk}/change/", follow=True)
    assert ANNS_REASON not in change.content.decode()
    # Each author does read their own on the page, and the counts are there for everyone.
    page = client_for(people["ann"]).get(reverse("premortem", args=[premortem.pk]))
    assert ANNS_REASON in page.content.decode()
    board = client_for(people["facilitator"]).get(reverse("premortem-board", args=[premortem.pk]))
    text = " ".join(board.content.decode().split())
    assert "<strong>2</strong> reasons written by <strong>2</strong> people" in text


def test_after_the_reveal_everyone_who_may_see_it_reads_every_reason(people, premortem):
    write(premortem, people["ann"], ANNS_REASON)
    write(premortem, people["ben"], BENS_REASON)
    assert advance(premortem, "revealed").status_code == 302
    for reader in (people["ann"], people["ben"], people["facilitator"], people["outsider"]):
        body = client_for(reader).get(reverse("premortem", args=[premortem.pk])).content.decode()
        assert ANNS_REASON in body and BENS_REASON in body
    history = client_for(people["ben"]).get(reverse("premortem-history", args=[premortem.pk]))
    assert ANNS_REASON in history.content.decode()


def test_the_live_event_carries_counts_never_the_text(
    people, premortem, monkeypatch, django_capture_on_commit_callbacks
):
    published = []

    class Recorder:
        def publish(self, channel, event):
            published.append((channel, event))

    monkeypatch.setattr("premortems.live.get_bus", Recorder)
    with django_capture_on_commit_callbacks(execute=True):
        reason_add(premortem=premortem, user=people["ann"], text=ANNS_REASON)
    assert published == [
        (
            f"premortem:{premortem.pk}",
            {
                "type": "premortem",
                "what": "reason",
                "phase": "writing",
                "reasons": 1,
                "writers": 1,
                "by": "Ann",
            },
        )
    ]


def test_a_reason_of_someone_else_cannot_be_taken_back_or_named(people, premortem):
    reason = reason_add(premortem=premortem, user=people["ann"], text=ANNS_REASON)
    url = reverse("premortem-reason-delete", args=[premortem.pk, reason.pk])
    assert client_for(people["ben"]).post(url).status_code == 404
    assert client_for(people["facilitator"]).post(url).status_code == 404
    assert Reason.objects.filter(pk=reason.pk).exists()
    assert client_for(people["ann"]).post(url).status_code == 302
    assert not Reason.objects.filter(pk=reason.pk).exists()


def test_a_private_premortem_does_not_exist_for_outsiders(people):
    private = factories.premortem(
        facilitator=people["facilitator"], team_=people["team"], private=True
    )
    outsider = client_for(people["outsider"])
    for url in (
        reverse("premortem", args=[private.pk]),
        reverse("premortem-board", args=[private.pk]),
        reverse("premortem-history", args=[private.pk]),
    ):
        assert outsider.get(url).status_code == 404
    assert private.title not in outsider.get(reverse("premortem-list")).content.decode()
    assert client_for(people["ann"]).get(reverse("premortem", args=[private.pk])).status_code == 200


# Phases and their rules --------------------------------------------------------------------


def test_writing_ends_with_the_time_box_and_the_facilitator_can_add_time(people, premortem):
    with time_machine.travel(premortem.writing_ends_at + timedelta(seconds=1)):
        late = write(premortem, people["ann"], ANNS_REASON)
        assert late.status_code == 409
        assert "time for writing is up" in late.content.decode()
        extend = client_for(people["facilitator"]).post(
            reverse("premortem-extend", args=[premortem.pk]), {"minutes": "5"}
        )
        assert extend.status_code == 302
        assert write(premortem, people["ann"], ANNS_REASON).status_code == 302


def test_only_the_facilitator_lead_or_admin_moves_the_phases_and_only_forward(people, premortem):
    write(premortem, people["ann"], ANNS_REASON)
    refused = client_for(people["ann"]).post(
        reverse("premortem-phase", args=[premortem.pk]), {"to": "revealed"}
    )
    assert refused.status_code == 403
    skipped = advance(premortem, "voting")
    assert skipped.status_code == 409
    assert "writing phase" in skipped.content.decode()
    assert advance(premortem, "revealed").status_code == 302
    assert write(premortem, people["ben"], BENS_REASON).status_code == 409
    premortem.refresh_from_db()
    assert premortem.phase == Premortem.Phase.REVEALED
    assert premortem.revealed_at is not None


def test_nothing_to_reveal_before_anyone_writes(premortem):
    response = advance(premortem, "revealed")
    assert response.status_code == 409
    assert "Nobody has written a reason yet" in response.content.decode()


def test_a_read_only_account_reads_but_neither_writes_nor_joins(people, premortem):
    viewer = factories.user("vera")
    viewer.groups.add(Group.objects.get_or_create(name=READ_ONLY_GROUP)[0])
    assert write(premortem, viewer, "Anything").status_code == 403
    join = client_for(viewer).post(reverse("premortem-join", args=[premortem.pk]))
    assert join.status_code == 403
    assert client_for(viewer).get(reverse("premortem", args=[premortem.pk])).status_code == 200


def test_writing_makes_a_member_a_participant(people, premortem):
    write(premortem, people["outsider"], "The new pool is too small")
    assert premortem.participants.filter(pk=people["outsider"].pk).exists()


# Grouping ----------------------------------------------------------------------------------


def revealed_with(premortem, people, texts):
    reasons = [
        reason_add(premortem=premortem, user=people[name], text=text) for name, text in texts
    ]
    phase_advance(premortem=premortem, user=premortem.facilitator, to="revealed")
    phase_advance(premortem=premortem, user=premortem.facilitator, to="grouping")
    premortem.refresh_from_db()
    return reasons


def test_duplicates_are_grouped_and_the_rest_stand_alone_for_the_vote(people, premortem):
    duplicate = "Orders table locked during the copy"
    a, b, c = revealed_with(
        premortem, people, [("ann", ANNS_REASON), ("ben", duplicate), ("ben", BENS_REASON)]
    )
    response = client_for(people["ann"]).post(
        reverse("premortem-group-new", args=[premortem.pk]),
        {"title": "Table locks during migration", "reasons": [a.pk, b.pk]},
    )
    assert response.status_code == 302
    group = ReasonGroup.objects.get(title="Table locks during migration")
    assert set(group.reasons.values_list("pk", flat=True)) == {a.pk, b.pk}
    advance(premortem, "voting")
    c.refresh_from_db()
    assert c.group is not None and c.group.title == BENS_REASON
    assert premortem.groups.count() == 2


def test_regrouping_a_reason_moves_it_and_empty_groups_go(people, premortem):
    a, b, c = revealed_with(premortem, people, [("ann", "A"), ("ben", "B"), ("ben", "C")])
    first = group_create(premortem=premortem, user=people["ann"], reasons=[a.pk, b.pk], title="AB")
    group_create(premortem=premortem, user=people["ann"], reasons=[a.pk, b.pk, c.pk], title="ABC")
    assert not ReasonGroup.objects.filter(pk=first.pk).exists()
    ungroup = client_for(people["ben"]).post(
        reverse("premortem-group-delete", args=[premortem.pk, premortem.groups.get().pk])
    )
    assert ungroup.status_code == 302
    assert premortem.reasons.filter(group__isnull=True).count() == 3


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"title": "", "reasons": []}, "This field is required"),
        ({"title": "Two\r\nlines", "reasons": ["A"]}, "one line"),
        ({"title": "Null\x00byte", "reasons": ["A"]}, "Null characters are not allowed"),
        ({"title": "x" * 201, "reasons": ["A"]}, "at most 200 characters"),
        ({"title": "Stranger", "reasons": ["999999"]}, "Select a valid choice"),
        ({"title": "Not a number", "reasons": ["one"]}, "Select a valid choice"),
    ],
)
def test_bad_groups_are_refused_in_words(people, premortem, data, words):
    (a,) = revealed_with(premortem, people, [("ann", "A")])
    data = {**data, "reasons": [a.pk if r == "A" else r for r in data["reasons"]]}
    response = client_for(people["ann"]).post(
        reverse("premortem-group-new", args=[premortem.pk]), data
    )
    assert response.status_code == 422
    assert words in response.content.decode()


def test_a_reason_of_another_premortem_cannot_be_grouped(people, premortem):
    other = factories.premortem(facilitator=people["facilitator"], team_=people["team"])
    stranger = reason_add(premortem=other, user=people["ann"], text="Elsewhere")
    revealed_with(premortem, people, [("ann", "A")])
    with pytest.raises(RoundRefused):
        group_create(premortem=premortem, user=people["ann"], reasons=[stranger.pk], title="X")


# Voting ------------------------------------------------------------------------------------


def voting(premortem, people, count):
    revealed_with(premortem, people, [("ann", f"Reason {n}") for n in range(count)])
    phase_advance(premortem=premortem, user=premortem.facilitator, to="voting")
    premortem.refresh_from_db()
    return list(premortem.groups.order_by("id"))


def test_votes_are_capped_per_person_on_the_server(people, premortem):
    groups = voting(premortem, people, 4)
    ben = client_for(people["ben"])
    for group in groups[:3]:
        assert ben.post(reverse("premortem-vote", args=[premortem.pk, group.pk])).status_code == 302
    fourth = ben.post(reverse("premortem-vote", args=[premortem.pk, groups[3].pk]))
    assert fourth.status_code == 409
    assert "used your 3 votes" in fourth.content.decode()
    assert Vote.objects.filter(voter=people["ben"]).count() == 3
    # Taking one back frees it.
    ben.post(reverse("premortem-vote", args=[premortem.pk, groups[0].pk]))
    assert ben.post(reverse("premortem-vote", args=[premortem.pk, groups[3].pk])).status_code == 302


def test_votes_only_in_the_voting_phase_and_for_this_premortems_groups(people, premortem):
    groups = voting(premortem, people, 1)
    other = factories.premortem(facilitator=people["facilitator"], team_=people["team"])
    stranger = ReasonGroup.objects.create(premortem=other, title="Elsewhere")
    url = reverse("premortem-vote", args=[premortem.pk, stranger.pk])
    assert client_for(people["ann"]).post(url).status_code == 404
    phase_advance(premortem=premortem, user=premortem.facilitator, to="done")
    with pytest.raises(RoundRefused):
        vote_toggle(premortem=premortem, user=people["ann"], group=groups[0])


def test_results_rank_groups_by_votes(people, premortem):
    groups = voting(premortem, people, 2)
    for voter in ("ann", "ben", "facilitator"):
        vote_toggle(premortem=premortem, user=people[voter], group=groups[1])
    vote_toggle(premortem=premortem, user=people["ann"], group=groups[0])
    advance(premortem, "done")
    body = client_for(people["ben"]).get(reverse("premortem", args=[premortem.pk])).content.decode()
    assert body.index("Reason 1") < body.index("Reason 0")
    assert "3 votes" in body and "1 vote<" in body


# Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status", "words"),
    [
        ("", 422, "This field is required"),
        ("With a \x00 in it", 422, "Null characters are not allowed"),
        ("x" * 2001, 422, "at most 2000 characters"),
    ],
)
def test_bad_reasons_are_refused_in_words(people, premortem, text, status, words):
    response = write(premortem, people["ann"], text)
    assert response.status_code == status
    assert words in response.content.decode()


def test_a_reason_may_span_lines(people, premortem):
    assert write(premortem, people["ann"], "First line\r\nsecond line").status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("planned_for", "0001-01-01", "within five years"),
        ("planned_for", "9999-12-31", "within five years"),
        ("planned_for", "2026-13-40", "Enter a date as YYYY-MM-DD"),
        ("title", "Two\nlines", "one line"),
        ("title", "Nul\x00", "Null characters are not allowed"),
        ("title", "x" * 201, "at most 200 characters"),
        ("description", "x" * 10_001, "at most 10000 characters"),
        ("writing_minutes", "0", "greater than or equal to 1"),
        ("writing_minutes", "100000", "less than or equal to 120"),
        ("votes_per_person", "11", "less than or equal to 10"),
        ("votes_per_person", "-1", "greater than or equal to"),
    ],
)
def test_a_bad_new_premortem_is_refused_in_words(people, field, value, words):
    data = {
        "title": "Switch the CDN",
        "description": "",
        "planned_for": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "team": people["team"].pk,
        "writing_minutes": "10",
        "votes_per_person": "3",
        field: value,
    }
    response = client_for(people["ann"]).post(reverse("premortem-new"), data)
    assert response.status_code == 422
    assert words in response.content.decode()


def test_a_new_premortem_starts_writing_with_its_facilitator_taking_part(people):
    response = client_for(people["ann"]).post(
        reverse("premortem-new"),
        {
            "title": "Switch the CDN",
            "planned_for": (timezone.localdate() + timedelta(days=3)).isoformat(),
            "team": people["team"].pk,
            "participants": [people["ben"].pk],
            "writing_minutes": "7",
            "votes_per_person": "2",
        },
    )
    premortem = Premortem.objects.get(title="Switch the CDN")
    assert response.status_code == 302
    assert premortem.facilitator == people["ann"]
    assert premortem.phase == Premortem.Phase.WRITING
    assert set(premortem.participants.all()) == {people["ann"], people["ben"]}
    assert timedelta(minutes=6) < premortem.writing_ends_at - timezone.now() <= timedelta(minutes=7)


@pytest.mark.parametrize("minutes", ["0", "61", "-5", "many", "9" * 30])
def test_bad_extra_time_is_refused_in_words(people, premortem, minutes):
    response = client_for(people["facilitator"]).post(
        reverse("premortem-extend", args=[premortem.pk]), {"minutes": minutes}
    )
    assert response.status_code == 422
    assert "Add between 1 and 60 minutes" in response.content.decode()


def test_an_unknown_phase_is_refused_in_words(premortem):
    response = advance(premortem, "celebrating")
    assert response.status_code == 422
    assert "Say which phase comes next" in response.content.decode()


def test_the_board_costs_the_same_queries_for_few_or_many_reasons(people, premortem):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def board_queries(count: int, round_) -> int:
        for n in range(count):
            author = people["ann"] if n % 2 else people["ben"]
            reason_add(premortem=round_, user=author, text=f"Reason {n}")
        for to in ("revealed", "grouping", "voting"):
            phase_advance(premortem=round_, user=people["facilitator"], to=to)
        for group in list(round_.groups.all())[:3]:
            vote_toggle(premortem=round_, user=people["ben"], group=group)
        client = client_for(people["ben"])
        client.get(reverse("dashboard"))  # the session is warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("premortem-board", args=[round_.pk]))
        assert response.status_code == 200
        print(f"board of {count} reasons: {len(queries)} queries")
        return len(queries)

    many = factories.premortem(facilitator=people["facilitator"], team_=people["team"])
    assert board_queries(3, premortem) == board_queries(60, many)
