from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, Severity
from postmortems.models import Postmortem
from tests import factories

pytestmark = pytest.mark.django_db


def new_incident_data(**overrides):
    data = {
        "title": "Checkout is failing",
        "severity": Severity.objects.get(level=2).pk,
        "started_at": "2026-11-20T10:15:30",
    }
    data.update(overrides)
    return data


def test_pages_require_login(client, incident):
    for url in (
        reverse("dashboard"),
        reverse("incident-list"),
        reverse("incident-new"),
        incident.get_absolute_url(),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_login_and_logout(client, owner):
    response = client.post(reverse("login"), {"username": "priya", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_it_opens_an_incident_with_its_postmortem(owner_client, owner):
    response = owner_client.post(reverse("incident-new"), new_incident_data())
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.ref}/active/"
    assert incident.owner == owner
    assert incident.postmortem.template == Postmortem.Template.FULL
    assert [s.key for s in incident.postmortem.sections.all()][:4] == [
        "summary",
        "impact",
        "business-impact",
        "aftercare",
    ]
    assert incident.timeline.count() == 1
    assert incident.history.first().history_user == owner


def test_a_title_and_a_severity_are_enough_to_open_one(owner_client, owner):
    with time_machine.travel(datetime(2026, 12, 2, 13, 4, 5, tzinfo=UTC), tick=False):
        response = owner_client.post(
            reverse("incident-new"),
            {"title": "Checkout down", "severity": Severity.objects.get(level=1).pk},
        )
    incident = Incident.objects.get()
    assert response["Location"] == reverse("incident-active", args=[incident.ref])
    assert incident.started_at == datetime(2026, 12, 2, 13, 4, 5, tzinfo=UTC)
    assert (incident.owner, list(incident.responders.all())) == (owner, [owner])


def test_the_opener_may_name_someone_else_commander(owner_client, owner, teammate):
    owner_client.post(reverse("incident-new"), new_incident_data(owner=teammate.pk))
    incident = Incident.objects.get()
    assert incident.owner == teammate
    assert set(incident.responders.all()) == {owner, teammate}
    assert incident.history.first().history_user == owner


def test_the_severity_is_never_picked_for_you(owner_client):
    response = owner_client.post(reverse("incident-new"), {"title": "Checkout down"})
    assert response.status_code == 422
    assert "This field is required." in response.context["form"].errors["severity"]


def test_the_dashboard_opens_an_incident_in_one_short_form(owner_client):
    page = owner_client.get(reverse("dashboard")).content.decode()
    assert 'id="quick-open-title"' in page
    assert 'id="quick-open-severity"' in page
    assert "press N anywhere" in page


def test_a_minor_incident_gets_the_quick_postmortem(owner_client):
    owner_client.post(
        reverse("incident-new"), new_incident_data(severity=Severity.objects.get(level=3).pk)
    )
    postmortem = Incident.objects.get().postmortem
    assert postmortem.template == Postmortem.Template.QUICK
    assert [s.key for s in postmortem.sections.all()] == [
        "what-happened",
        "root-cause",
        "fix",
        "lessons",
    ]


def test_incident_numbers_count_up(owner):
    first = factories.incident(owner=owner)
    second = factories.incident(owner=owner)
    assert second.number == first.number + 1
    assert second.ref == f"INC-{second.number}"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"severity": "99999"}, "severity", "Select a valid choice."),
        ({"severity": "SEV9"}, "severity", "Select a valid choice."),
        (
            {"started_at": "yesterday-ish"},
            "started_at",
            "Enter a date and time as YYYY-MM-DD HH:MM",
        ),
        ({"detected_at": "2026-11-20T10:00:00"}, "detected_at", "cannot be before"),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
    ],
)
def test_bad_input_is_answered_in_the_form(owner_client, overrides, field, message):
    response = owner_client.post(reverse("incident-new"), new_incident_data(**overrides))
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert Incident.objects.count() == 0


def test_a_huge_paste_is_refused_without_a_server_error(owner_client):
    response = owner_client.post(reverse("incident-new"), new_incident_data(title="x" * 3_000_000))
    assert response.status_code == 400
    assert b"could not be understood" in response.content
    assert Incident.objects.count() == 0


def test_incident_list_filters_and_pages(owner_client, owner):
    payments = factories.team("Payments")
    db = factories.service("postgres", payments)
    factories.incident(owner=owner, level=1, title="Database down", team=payments, services=[db])
    for number in range(30):
        factories.incident(owner=owner, level=4, title=f"Flaky test {number}")

    response = owner_client.get(
        reverse("incident-list"), {"severity": Severity.objects.get(level=1).pk}
    )
    assert [i.title for i in response.context["page"]] == ["Database down"]

    response = owner_client.get(reverse("incident-list"), {"service": db.pk, "team": payments.pk})
    assert [i.title for i in response.context["page"]] == ["Database down"]

    response = owner_client.get(reverse("incident-list"))
    assert len(response.context["page"]) == 25
    assert response.context["page"].paginator.count == 31
    second = owner_client.get(reverse("incident-list"), {"page": 2})
    assert len(second.context["page"]) == 6


def test_incident_list_answers_htmx_with_the_results_only(owner_client, owner):
    factories.incident(owner=owner, title="Database down")
    response = owner_client.get(
        reverse("incident-list"), {"q": "database"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert "Database down" in content
    assert content.lstrip().startswith('<div id="results">')
    assert "<html" not in content


def test_active_status_filter(owner_client, owner):
    factories.incident(owner=owner, title="Still burning")
    factories.incident(
        owner=owner, title="Long gone", status=Incident.Status.RESOLVED, resolved_at=timezone.now()
    )
    response = owner_client.get(reverse("incident-list"), {"status": "active"})
    assert [i.title for i in response.context["page"]] == ["Still burning"]


def test_dashboard_shows_active_overdue_and_mine(owner_client, owner):
    active = factories.incident(owner=owner, title="Still burning")
    late = factories.incident(
        owner=owner,
        title="Forgotten",
        status=Incident.Status.RESOLVED,
        started_at=timezone.now() - timedelta(days=10),
        resolved_at=timezone.now() - timedelta(days=9),
    )
    factories.action_item(active, title="Rotate the keys", owner=owner)
    response = owner_client.get(reverse("dashboard"))
    assert response.context["active"] == [active]
    assert [p.incident for p in response.context["overdue_postmortems"]] == [late]
    assert [a.title for a in response.context["my_actions"]] == ["Rotate the keys"]


def test_resolving_sets_the_postmortem_due_date(owner):
    incident = factories.incident(
        owner=owner, status=Incident.Status.RESOLVED, resolved_at=timezone.now()
    )
    assert incident.postmortem.due_at == incident.resolved_at + timedelta(hours=48)


def test_unknown_incident_reference_is_a_calm_404(owner_client):
    for ref in ("INC-999", "nonsense", "INC-1x"):
        response = owner_client.get(f"/incidents/{ref}/")
        assert response.status_code == 404
        assert b"Not found" in response.content


def test_a_dry_connection_pool_answers_busy_in_words_not_a_server_error(rf):
    from django.db import OperationalError
    from psycopg_pool import PoolTimeout

    from hindsight.errors import server_error

    try:
        try:
            raise PoolTimeout("couldn't get a connection after 10.00 sec")
        except PoolTimeout as timeout:
            raise OperationalError(str(timeout)) from timeout
    except OperationalError:
        response = server_error(rf.get("/incidents/"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"The server is busy" in response.content

    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(rf.get("/incidents/"))
    assert response.status_code == 500
