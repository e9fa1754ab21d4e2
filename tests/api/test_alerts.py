from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from api.models import AlertDelivery, AlertLink, AlertMapping, AlertSource
from api.tokens import api_token_create
from incidents.models import Incident, TimelineEntry
from tests import factories

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).parent.parent / "fixtures" / "alerts"
SECRET = "s3cret-for-tests-only"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(kind: str, body: bytes, **headers):
    return Client().post(
        f"/api/v1/alerts/{kind}/", body, content_type="application/json", headers=headers
    )


def bearer(secret: str = SECRET) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def levels(db):
    return {level: factories.severity(level) for level in (1, 2, 3, 4)}


@pytest.fixture
def sources(levels):
    bot = factories.user("alerts-bot")
    return {
        kind: AlertSource.objects.create(kind=kind, secret=SECRET, opened_as=bot)
        for kind in ("alertmanager", "grafana", "pagerduty", "generic")
    }


def _only_incident() -> Incident:
    (incident,) = Incident.objects.all()
    return incident


def _last_alert_note(incident) -> TimelineEntry:
    return incident.timeline.filter(source=TimelineEntry.Source.API).order_by("id").last()


def test_alertmanager_firing_repeat_and_resolved(sources, levels):
    team = factories.team("Checkout team")
    factories.service("checkout", team)
    AlertMapping.objects.create(label="severity", value="critical", severity=levels[1])
    sources["alertmanager"].mitigate_on_resolve = True
    sources["alertmanager"].save()

    first = deliver("alertmanager", sample("alertmanager_firing.json"), **bearer())
    assert first.status_code == 201, first.content
    incident = _only_incident()
    assert first.json()["incident"] == incident.ref and first.json()["opened"] is True
    assert incident.severity.level == 1
    assert [s.slug for s in incident.services.all()] == ["checkout"]
    assert incident.team == team
    assert incident.started_at.isoformat().startswith("2026-11-30T14:02:11")
    detection = incident.timeline.get(source=TimelineEntry.Source.API)
    assert "CheckoutHighErrorRate" in detection.text and "Alertmanager" in detection.text

    # Alertmanager repeats the same notification: the same incident, nothing added.
    repeat = deliver("alertmanager", sample("alertmanager_firing.json"), **bearer())
    assert repeat.status_code == 200 and repeat.json()["incident"] == incident.ref
    assert incident.timeline.count() == 2

    resolved = deliver("alertmanager", sample("alertmanager_resolved.json"), **bearer())
    assert resolved.status_code == 200 and resolved.json()["incident"] == incident.ref
    incident.refresh_from_db()
    assert incident.mitigated_at.isoformat().startswith("2026-11-30T14:49:56")
    note = _last_alert_note(incident)
    assert "resolved" in note.text and note.kind == TimelineEntry.Kind.MITIGATION
    assert incident.history.filter(mitigated_at__isnull=False).exists()


def test_grafana_signed_delivery(sources, levels):
    body = sample("grafana_firing.json")
    stamp = str(int(time.time()))
    signed = sign(stamp.encode() + b":" + body)
    response = deliver(
        "grafana",
        body,
        **{
            "X-Grafana-Alerting-Signature": signed,
            "X-Grafana-Alerting-Signature-Timestamp": stamp,
        },
    )
    assert response.status_code == 201, response.content
    incident = _only_incident()
    assert incident.severity.level == 2  # "sev2"
    assert incident.title.startswith("[FIRING:1] Payments latency p99")
    resolved = sample("grafana_resolved.json")
    answer = deliver("grafana", resolved, **{"X-Grafana-Alerting-Signature": sign(resolved)})
    assert answer.status_code == 200 and answer.json()["incident"] == incident.ref
    # Not configured to mitigate: a note only.
    incident.refresh_from_db()
    assert incident.mitigated_at is None
    assert "resolved" in _last_alert_note(incident).text


def test_grafana_refuses_an_old_timestamp(sources):
    body = sample("grafana_firing.json")
    stamp = str(int(time.time()) - 3600)
    response = deliver(
        "grafana",
        body,
        **{
            "X-Grafana-Alerting-Signature": sign(stamp.encode() + b":" + body),
            "X-Grafana-Alerting-Signature-Timestamp": stamp,
        },
    )
    assert response.status_code == 401
    assert not Incident.objects.exists()


def test_pagerduty_triggered_acknowledged_resolved_and_retry(sources):
    body = sample("pagerduty_triggered.json")
    headers = {"X-PagerDuty-Signature": f"v1=0000,v1={sign(body)}"}
    opened = deliver("pagerduty", body, **headers)
    assert opened.status_code == 201
    incident = _only_incident()
    assert incident.title == "Search API latency above SLO"
    # PagerDuty retries a delivery it got no answer for: nothing happens twice.
    retry = deliver("pagerduty", body, **headers)
    assert retry.status_code == 200 and retry.json()["incident"] == incident.ref
    assert AlertDelivery.objects.count() == 1
    ack = sample("pagerduty_acknowledged.json")
    assert (
        deliver("pagerduty", ack, **{"X-PagerDuty-Signature": f"v1={sign(ack)}"}).status_code == 200
    )
    assert "acknowledged by Marcus Webb" in _last_alert_note(incident).text
    done = sample("pagerduty_resolved.json")
    assert (
        deliver("pagerduty", done, **{"X-PagerDuty-Signature": f"v1={sign(done)}"}).status_code
        == 200
    )
    assert "alert resolved" in _last_alert_note(incident).text
    assert incident.timeline.filter(source=TimelineEntry.Source.API).count() == 3


@pytest.mark.parametrize(
    "kind,body,headers",
    [
        ("alertmanager", "alertmanager_firing.json", {"Authorization": "Bearer wrong"}),
        ("alertmanager", "alertmanager_firing.json", {}),
        ("grafana", "grafana_firing.json", {"X-Grafana-Alerting-Signature": "ab" * 32}),
        ("pagerduty", "pagerduty_triggered.json", {"X-PagerDuty-Signature": "v1=" + "0" * 64}),
        ("pagerduty", "pagerduty_triggered.json", {"X-PagerDuty-Signature": "garbage"}),
        ("generic", "alertmanager_firing.json", {"X-Hindsight-Secret": "wrong"}),
    ],
)
def test_bad_signature_or_secret_answers_401_and_opens_nothing(sources, kind, body, headers):
    response = deliver(kind, sample(body), **headers)
    assert response.status_code == 401
    assert "does not match" in response.json()["detail"]
    assert not Incident.objects.exists()


def test_a_signature_made_with_another_secret_is_refused(sources):
    body = sample("pagerduty_triggered.json")
    response = deliver("pagerduty", body, **{"X-PagerDuty-Signature": f"v1={sign(body, 'other')}"})
    assert response.status_code == 401


def test_unconfigured_or_disabled_source_answers_404(levels):
    assert (
        deliver("alertmanager", sample("alertmanager_firing.json"), **bearer()).status_code == 404
    )
    AlertSource.objects.create(kind="alertmanager", secret=SECRET, enabled=False)
    assert (
        deliver("alertmanager", sample("alertmanager_firing.json"), **bearer()).status_code == 404
    )
    assert deliver("nagios", b"{}", **bearer()).status_code == 422


def test_generic_shape_with_secret_or_write_token(sources, owner, levels):
    factories.service("search")
    body = {
        "dedup_key": "search-latency",
        "status": "firing",
        "title": "Search latency above SLO",
        "severity": "P2",
        "service": "search",
        "summary": "p99 4.1s",
        "starts_at": "2026-11-30T20:00:00Z",
    }
    opened = deliver("generic", json.dumps(body).encode(), **{"X-Hindsight-Secret": SECRET})
    assert opened.status_code == 201
    incident = _only_incident()
    assert incident.severity.level == 2 and incident.services.get().slug == "search"
    token = api_token_create(user=owner, name="alerts", scope="write")[1]
    joined = deliver("generic", json.dumps(body).replace("4.1", "4.3").encode(), **bearer(token))
    assert joined.status_code == 200 and joined.json()["incident"] == incident.ref
    read_token = api_token_create(user=owner, name="ro", scope="read")[1]
    assert deliver("generic", json.dumps(body).encode(), **bearer(read_token)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"status": "firing"}',
        b'{"dedup_key": "k", "status": "burning", "title": "x"}',
        b'{"dedup_key": "k", "status": "firing"}',
        b'{"dedup_key": "k\\u0000", "status": "firing", "title": "a\\u0000b", '
        b'"starts_at": "0001-01-01T00:00:00Z"}',
        b'{"dedup_key": "k", "status": "firing", "title": "x", "severity": 1e999}',
    ],
)
def test_generic_bad_payloads(sources, body):
    response = deliver("generic", body, **{"X-Hindsight-Secret": SECRET})
    assert response.status_code in (201, 422), response.content
    if response.status_code == 201:
        # NUL is dropped and an absurd start time is read as "unknown", never stored.
        incident = _only_incident()
        assert "\x00" not in incident.title and incident.started_at.year >= 2026
    else:
        assert response.json()["detail"]


def test_a_new_incident_once_the_old_one_is_over(sources):
    body = sample("alertmanager_firing.json")
    deliver("alertmanager", body, **bearer())
    first = _only_incident()
    Incident.objects.filter(pk=first.pk).update(
        status=Incident.Status.RESOLVED, resolved_at=first.started_at
    )
    changed = json.loads(body)
    changed["alerts"][0]["annotations"]["description"] = "back again"
    again = deliver("alertmanager", json.dumps(changed).encode(), **bearer())
    assert again.status_code == 201
    assert Incident.objects.count() == 2
    assert AlertLink.objects.filter(open=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_first_firings_open_one_incident(levels):
    """Two deliveries of one new alert at the same moment (different bodies, so not retries)."""
    bot = factories.user("alerts-bot")
    AlertSource.objects.create(kind="generic", secret=SECRET, opened_as=bot)
    barrier = threading.Barrier(2)
    answers = []

    def send(n):
        try:
            body = {"dedup_key": "db-down", "title": "Primary DB down", "summary": f"probe {n}"}
            barrier.wait()
            response = deliver(
                "generic", json.dumps(body).encode(), **{"X-Hindsight-Secret": SECRET}
            )
            answers.append((response.status_code, response.json()["incident"]))
        finally:
            connection.close()

    for _ in range(5):
        Incident.objects.all().delete()
        AlertLink.objects.all().delete()
        AlertDelivery.objects.all().delete()
        answers.clear()
        threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(status for status, _ in answers) == [200, 201]
        assert len({ref for _, ref in answers}) == 1
        assert Incident.objects.count() == 1


def test_a_body_over_the_limit_answers_413(sources, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = deliver("generic", b'{"dedup_key": "' + b"x" * 2000 + b'"}', **bearer())
    assert response.status_code == 413
    assert "larger" in response.json()["detail"]
