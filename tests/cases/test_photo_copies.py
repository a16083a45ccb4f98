"""A photo's copies are made even when their task was lost: the upload never fails for it."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import services, tasks
from cases.models import CasePhoto
from tests.cases.conftest import reported
from tests.cases.test_photos import encode, scene


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.case_photo_derivatives_task, "delay", refuse)


def upload(client, user, number, data: bytes):
    client.force_login(user)
    f = io.BytesIO(data)
    f.name = "photo.jpg"
    return client.post(f"/api/v1/cases/{number}/photos/", {"file": f, "stage": "report"})


def test_a_photo_uploaded_while_the_broker_is_down_is_stored_and_its_copies_follow(
    client, people, taxonomy, broker_down, django_capture_on_commit_callbacks
):
    number = reported(client, people.inspector_a, people.grid_a, taxonomy.event)["number"]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, people.inspector_a, number, encode(scene(), "JPEG"))

    assert response.status_code == 201, response.content
    photo = CasePhoto.objects.get()
    display = f"/api/v1/cases/{number}/photos/{photo.pk}/display/"
    assert client.get(display).status_code == 404  # still being processed

    assert services.case_photo_copies_catch_up() == 0  # within its grace: its task may yet run
    assert services.case_photo_copies_catch_up(now=timezone.now() + timedelta(minutes=3)) == 1
    assert services.case_photo_copies_catch_up(now=timezone.now() + timedelta(minutes=4)) == 0

    assert client.get(display).status_code == 200


def test_the_catch_up_runs_every_five_minutes_from_beat(settings):
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "cases.tasks.case_photo_copies_catch_up_task"
    ]

    assert len(entries) == 1 and entries[0]["schedule"] == 300.0
