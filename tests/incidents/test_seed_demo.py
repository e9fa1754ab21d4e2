from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from actions.models import ActionItem
from incidents.models import Incident
from insights.demo import MARK, PER_QUARTER
from postmortems.coverage import uncovered_causes
from postmortems.models import AcceptedRisk, Postmortem, Publication

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_realistic(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    assert "demo / demo" in capsys.readouterr().out
    # Three told in full, a near miss whose postmortem someone asked for, and a year of
    # smaller ones for the insights page.
    assert Incident.objects.count() == 3 + 1 + 4 * PER_QUARTER
    (near_miss,) = Incident.objects.filter(near_miss=True)
    assert near_miss.postmortem.requests.count() == 1
    # django-axes needs the request a sign-in comes with.
    request = RequestFactory().post("/login/")
    assert authenticate(request, username="demo", password="demo") is not None

    outage = Incident.objects.get(title__contains="database connections exhausted")
    assert outage.postmortem.causes.get(kind="primary").whys.count() == 5
    # The review's craft: one cause covered by an accepted risk, one left uncovered, rated
    # items, and a done item with its evidence whose re-check has come due.
    assert AcceptedRisk.objects.filter(cause__postmortem=outage.postmortem).count() == 1
    assert len(uncovered_causes(list(outage.postmortem.causes.all()))) == 1
    assert outage.action_items.filter(impact="high", effort="low").exists()
    done = outage.action_items.get(status="done")
    assert done.evidence_url and done.recheck_due(timezone.localdate())
    # Its review meeting was held, with attendance, decisions and a dissent its author
    # confirmed; the stale-search incident has one still to come.
    (held,) = outage.review_meetings.all()
    assert held.is_held and held.ended_at and held.decisions.count() == 2
    assert {row.presence for row in held.attendance.all()} == {"present", "absent"}
    (dissent,) = held.dissents.all()
    assert dissent.consented and dissent.written_by != dissent.author
    search = Incident.objects.get(title__startswith="Search results up to 40 minutes stale")
    (coming,) = search.review_meetings.all()
    assert not coming.is_held and coming.scheduled_at > timezone.now()
    assert coming.attendance.count() == 3
    told = Incident.objects.exclude(title__contains=MARK)
    assert told.filter(status__in=Incident.ACTIVE_STATUSES).count() == 1
    assert told.filter(postmortem__template="quick", near_miss=False).count() == 1
    statuses = set(ActionItem.objects.values_list("status", flat=True))
    assert statuses == {s.value for s in ActionItem.Status}
    assert any(item.is_overdue(timezone.localdate()) for item in ActionItem.objects.all())
    # The published postmortem went through the workflow: its readers' version is frozen.
    (published,) = Postmortem.objects.filter(status=Postmortem.Status.PUBLISHED, incident__in=told)
    (publication,) = Publication.objects.filter(postmortem=published)
    assert publication.missing == []
    assert publication.content["title"] == published.incident.title
    assert publication.content["resolved_at"] is not None
