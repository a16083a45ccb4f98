"""The outside channel of notifications (SMS, e-mail, app push) can fail without failing anyone.

A backend that raised used to turn an already committed transition into a 500, and the
handheld's retry then got 409. Now the step answers as it committed, the notification waits in
the outbox, and the worker delivers it later, once.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases import notify, tasks
from cases.models import Notification, NotificationOutbox
from tests.cases.conftest import act, reported

SENT: list[int] = []


def broken_backend(rows):
    raise ConnectionError("SMS gateway unreachable")


def working_backend(rows):
    SENT.extend(row.pk for row in rows)


@pytest.fixture(autouse=True)
def _sent():
    SENT.clear()
    yield
    SENT.clear()


@pytest.fixture
def dispatched(client, people, taxonomy, settings, django_capture_on_commit_callbacks):
    """Dispatch a case to the department while the outside channel is down."""
    settings.GRIDCITY_NOTIFY_BACKEND = "tests.cases.test_notification_outbox.broken_backend"
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, people.dispatcher, number, "dispatch")
    return number, response


def test_a_failing_backend_does_not_fail_the_step_that_caused_the_notification(dispatched, people):
    _number, response = dispatched

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "dispatched"
    note = Notification.objects.get(user=people.staff, kind="dispatched")
    entry = note.outbox
    assert entry.state == "pending"
    assert entry.attempts == 1
    assert "SMS gateway unreachable" in entry.last_error
    wait = entry.next_try_at - timezone.now()
    assert timedelta(seconds=30) < wait <= timedelta(minutes=1)


def test_the_handhelds_retry_after_a_failed_delivery_sees_the_state_it_made(
    client, dispatched, people
):
    number, _response = dispatched

    again = client.get(f"/api/v1/cases/{number}/")

    assert again.status_code == 200 and again.json()["status"] == "dispatched"


def test_a_later_drain_with_a_working_backend_delivers_it_once(dispatched, people, settings):
    settings.GRIDCITY_NOTIFY_BACKEND = "tests.cases.test_notification_outbox.working_backend"
    note = Notification.objects.get(user=people.staff, kind="dispatched")
    later = timezone.now() + timedelta(minutes=2)

    assert notify.outbox_drain(now=timezone.now()) == 0  # not due yet: nothing sent
    assert notify.outbox_drain(now=later) == 1
    assert notify.outbox_drain(now=later + timedelta(hours=1)) == 0

    assert [note.pk] == SENT
    entry = NotificationOutbox.objects.get(notification=note)
    assert entry.state == "sent" and entry.sent_at is not None and entry.last_error == ""
    assert entry.attempts == 2


def test_a_duplicate_delivery_of_the_task_sends_nothing_twice(people, settings, db):
    settings.GRIDCITY_NOTIFY_BACKEND = "tests.cases.test_notification_outbox.working_backend"
    rows = notify.notify([people.staff.pk], kind="verify", message="核查任务")
    entry = NotificationOutbox.objects.get(notification=rows[0])

    assert tasks.notifications_deliver_task([entry.pk]) == 1
    assert tasks.notifications_deliver_task([entry.pk]) == 0
    assert tasks.notifications_drain_task() == 0

    assert [rows[0].pk] == SENT


def test_retries_back_off_and_are_given_up_after_the_last_attempt(people, settings, db):
    settings.GRIDCITY_NOTIFY_BACKEND = "tests.cases.test_notification_outbox.broken_backend"
    settings.GRIDCITY_NOTIFY_MAX_ATTEMPTS = 4
    rows = notify.notify([people.staff.pk], kind="verify", message="核查任务")
    entry = NotificationOutbox.objects.get(notification=rows[0])
    now = timezone.now()
    waits = []

    for _ in range(6):
        notify.outbox_drain(now=now)
        entry.refresh_from_db()
        waits.append(entry.next_try_at - now)
        now = entry.next_try_at

    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert entry.state == "failed" and entry.attempts == 4


def test_a_broker_that_cannot_take_the_task_leaves_the_notification_for_the_drain(
    client, people, taxonomy, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.GRIDCITY_NOTIFY_BACKEND = "tests.cases.test_notification_outbox.working_backend"

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.notifications_deliver_task, "delay", broker_down)
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.component)["number"]
    act(client, people.dispatcher, number, "file")
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, people.dispatcher, number, "dispatch")

    assert response.status_code == 200
    assert SENT == []
    assert notify.outbox_drain() == 1
    assert [Notification.objects.get(user=people.staff, kind="dispatched").pk] == SENT


def test_the_drain_runs_every_minute_from_beat(settings):
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "cases.tasks.notifications_drain_task"
    ]

    assert len(entries) == 1 and entries[0]["schedule"] == 60.0
