"""The delivery engine: exactly once, retries with backoff, the reaper, the log in the admin."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from kernel import delivery as engine
from kernel.channels import ChannelError
from kernel.models import Delivery


class Recorder:
    """A channel that keeps what it was asked to send; `failures` are raised first, in order."""

    name = "recorder"
    label = "Recorder"

    def __init__(self, pause: float = 0.0):
        self.sent: list[tuple[int, str]] = []
        self.failures: list[ChannelError] = []
        self.pause = pause
        self.lock = threading.Lock()

    def send(self, delivery, message) -> None:
        if self.failures:
            raise self.failures.pop(0)
        time.sleep(self.pause)  # a slow SMTP server: the window where a second worker could race
        with self.lock:
            self.sent.append((delivery.pk, message.subject))

    def describe(self, address: dict) -> str:
        return f"the recorder {address.get('box', '?')}"


@pytest.fixture
def recorder(monkeypatch):
    channel = Recorder()
    # Registering is all a new channel or topic needs; monkeypatch takes them away again.
    monkeypatch.setitem(engine._channels, channel.name, channel)
    topic = engine.Topic(
        name="note",
        label="A note",
        prepare=lambda rows: {row.pk: f"Note {row.subject_id}" for row in rows},
        compose=lambda row, notes: engine.Message(subject=notes[row.pk], text="body"),
    )
    monkeypatch.setitem(engine._topics, topic.name, topic)
    return channel


def notes(count: int, **fields) -> list[Delivery]:
    return Delivery.objects.bulk_create(
        Delivery(topic="note", subject_id=n, channel="recorder", address={"box": n}, **fields)
        for n in range(count)
    )


POLICY = engine.RetryPolicy(attempts=3, retry_seconds=30)


@pytest.mark.django_db
def test_a_message_subject_is_one_line_whatever_was_typed():
    message = engine.Message(subject="Postmortem: INC-7\r\nBcc: someone@example.com\n", text="")
    assert message.subject == "Postmortem: INC-7 Bcc: someone@example.com"


@pytest.mark.django_db
def test_it_sends_every_due_delivery_and_records_it(recorder):
    rows = notes(3)
    report = engine.deliver_due(policy=POLICY)
    assert (report.sent, report.failed) == (3, 0)
    assert sorted(recorder.sent) == [(row.pk, f"Note {n}") for n, row in enumerate(rows)]
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert engine.deliver_due(policy=POLICY).sent == 0


@pytest.mark.django_db
def test_a_failure_that_may_pass_is_retried_after_a_doubling_wait(recorder):
    (row,) = notes(1)
    recorder.failures = [ChannelError("busy", retryable=True)] * 2
    waits = []
    with time_machine.travel(timezone.now(), tick=False) as traveller:

        def sleep(seconds):
            waits.append(seconds)
            traveller.shift(seconds)

        report = engine.deliver_due(policy=POLICY, wait_for_retries=True, sleep=sleep)
    assert waits == [30, 60]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == ("sent", 3, "")
    assert (report.sent, report.retrying) == (1, 2)


@pytest.mark.django_db
def test_it_gives_up_after_the_last_attempt_and_keeps_the_error(recorder):
    (row,) = notes(1)
    recorder.failures = [ChannelError("busy", retryable=True)] * 5
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        report = engine.deliver_due(
            policy=POLICY, wait_for_retries=True, sleep=lambda s: traveller.shift(s)
        )
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == ("failed", 3, "busy")
    assert (report.sent, report.failed, recorder.sent) == (0, 1, [])


@pytest.mark.django_db
def test_a_failure_retrying_cannot_cure_is_final_at_once(recorder):
    (row,) = notes(1)
    recorder.failures = [ChannelError("webhook revoked", retryable=False)]
    engine.deliver_due(policy=POLICY, wait_for_retries=True, sleep=pytest.fail)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == ("failed", 1, "webhook revoked")


@pytest.mark.django_db
def test_a_retry_waits_its_turn(recorder):
    (row,) = notes(1)
    recorder.failures = [ChannelError("busy", retryable=True)]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        engine.deliver_one(row.pk, policy=POLICY)
        assert engine.deliver_one(row.pk, policy=POLICY) is None
        traveller.shift(timedelta(seconds=30))
        assert engine.deliver_one(row.pk, policy=POLICY).status == "sent"


@pytest.mark.django_db
def test_an_unregistered_channel_fails_in_words(recorder):
    (row,) = Delivery.objects.bulk_create([Delivery(topic="note", subject_id=1, channel="fax")])
    engine.deliver_due(policy=POLICY)
    row.refresh_from_db()
    assert (row.status, row.error) == ("failed", "No channel named “fax” is registered.")


@pytest.mark.django_db
def test_a_fault_in_one_message_spares_the_others(recorder, monkeypatch):
    rows = notes(3)
    topic = engine._topics["note"]

    def compose(row, context):
        if row.subject_id == 1:
            raise KeyError("a bug")
        return topic.compose(row, context)

    monkeypatch.setitem(
        engine._topics, "note", engine.Topic("note", "A note", compose, topic.prepare)
    )
    report = engine.deliver_due(policy=POLICY)
    assert (report.sent, report.failed) == (2, 1)
    assert Delivery.objects.get(pk=rows[1].pk).error == "Could not be prepared; see the log."


@pytest.mark.django_db
def test_the_reaper_fails_a_send_cut_off_midway_and_leaves_a_running_one(recorder):
    now = timezone.now()
    stuck, running = notes(2, status="sending", attempts=1, claimed_at=now)
    Delivery.objects.filter(pk=stuck.pk).update(claimed_at=now - timedelta(minutes=16))
    Delivery.objects.filter(pk=running.pk).update(claimed_at=now - timedelta(minutes=5))
    report = engine.deliver_due(policy=POLICY)
    stuck.refresh_from_db()
    running.refresh_from_db()
    assert report.reaped == 1
    assert (stuck.status, running.status) == ("failed", "sending")
    assert stuck.error.startswith("Interrupted while sending")
    assert recorder.sent == []  # never sent again by itself: it may have arrived


@pytest.mark.django_db
def test_sending_never_lacks_a_claim_time_so_the_reaper_sees_it():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(topic="note", subject_id=1, channel="email", status="sending")


@pytest.mark.django_db
def test_the_admin_reads_the_log_and_sends_failed_ones_again(admin_client, recorder):
    (row,) = notes(1, status="failed", attempts=3, error="busy")
    page = admin_client.get(reverse("admin:kernel_delivery_changelist"))
    assert page.status_code == 200
    assert "the recorder 0" in page.content.decode()
    assert (
        admin_client.get(reverse("admin:kernel_delivery_change", args=[row.pk])).status_code == 200
    )
    assert admin_client.get(reverse("admin:kernel_delivery_add")).status_code == 403
    admin_client.post(
        reverse("admin:kernel_delivery_changelist"),
        {"action": "send_selected_again", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == ("pending", 0, "")


# Two workers at once, on PostgreSQL ------------------------------------------------------


def _in_threads(target, count: int = 2) -> list[BaseException]:
    errors, start = [], threading.Barrier(count, timeout=30)

    def run():
        try:
            start.wait()
            target()
        except BaseException as error:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_delivery_exactly_once(recorder):
    recorder.pause = 0.005
    rows = notes(60)
    reports = []
    errors = _in_threads(lambda: reports.append(engine.deliver_due(policy=POLICY, batch_size=7)))
    assert errors == []
    assert Counter(pk for pk, _ in recorder.sent) == {row.pk: 1 for row in rows}
    assert sum(report.sent for report in reports) == 60
    assert all(report.sent > 0 for report in reports)  # both really worked the queue
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db(transaction=True)
def test_two_workers_handed_the_same_delivery_send_it_once(recorder):
    recorder.pause = 0.05
    (row,) = notes(1)
    errors = _in_threads(lambda: engine.deliver_one(row.pk, policy=POLICY), count=4)
    assert errors == []
    assert recorder.sent == [(row.pk, "Note 0")]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
