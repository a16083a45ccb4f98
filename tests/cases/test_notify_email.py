"""The outside channel's backends: e-mail to followers and people (Django's mail), and the log,
which never carries a phone number."""

import logging

import pytest
from django.core import mail

from cases import services
from cases.models import (
    FollowerChannel,
    FollowerRole,
    Notification,
    NotificationOutbox,
    Source,
)
from cases.notify import email_backend, log_backend, outbox_drain, phone_redacted
from tests.cases.conftest import centre

pytestmark = pytest.mark.django_db


@pytest.fixture
def by_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.GRIDCITY_NOTIFY_BACKEND = "cases.notify.email_backend"


def followed_case(people, item, **follower):
    lon, lat = centre(people.grid_a)
    case = services.case_report(by=None, source=Source.CITIZEN, item=item, lon=lon, lat=lat).case
    f = services.case_follow(
        case=case, role=FollowerRole.REPORTER, via=FollowerChannel.PORTAL, **follower
    ).follower
    return case, f


def test_a_follower_with_an_address_gets_the_update_by_mail(
    people, taxonomy, by_email, django_capture_on_commit_callbacks
):
    case, _f = followed_case(people, taxonomy.component, email="resident@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_file(case=case, by=people.dispatcher)

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["resident@example.com"]
    assert case.number in sent.subject and case.number in sent.body
    assert NotificationOutbox.objects.get().state == NotificationOutbox.State.SENT


def test_a_person_with_an_account_gets_it_at_their_accounts_address(people, by_email):
    people.staff.email = "staff@example.com"
    people.staff.save(update_fields=["email"])
    row = Notification.objects.create(user=people.staff, kind="dispatched", message="New case")

    email_backend([row])

    assert [m.to for m in mail.outbox] == [["staff@example.com"]]


def test_a_follower_without_an_address_is_skipped_not_retried(
    people, taxonomy, by_email, django_capture_on_commit_callbacks
):
    case, _f = followed_case(people, taxonomy.component, phone="13812345678")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_file(case=case, by=people.dispatcher)

    assert mail.outbox == []
    assert NotificationOutbox.objects.get().state == NotificationOutbox.State.SENT


def test_a_mail_server_that_refuses_leaves_the_row_to_retry(
    people, taxonomy, by_email, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.send_mail", refuse)
    case, _f = followed_case(people, taxonomy.component, email="resident@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_file(case=case, by=people.dispatcher)

    entry = NotificationOutbox.objects.get()
    assert entry.state == NotificationOutbox.State.PENDING and "refused" in entry.last_error
    monkeypatch.undo()
    assert outbox_drain(now=entry.next_try_at) == 1
    assert [m.to for m in mail.outbox] == [["resident@example.com"]]


def test_the_log_backend_names_a_follower_by_id_and_masks_phone_numbers(people, taxonomy, caplog):
    case, f = followed_case(people, taxonomy.component, phone="13812345678")
    row = Notification.objects.create(
        follower=f, case=case, kind="update", message=f"{case.number}: 回电 138 1234 5678"
    )
    with caplog.at_level(logging.INFO, logger="gridcity.notify"):
        log_backend([row])

    assert f"follower={f.pk}" in caplog.text
    assert case.number in caplog.text  # a case number is no phone number
    assert "5678" not in caplog.text and "[phone]" in caplog.text


@pytest.mark.parametrize(
    "text",
    ["13812345678", "+86 138-1234-5678", "008613812345678", "0755-83211234", "电话01087654321"],
)
def test_phone_numbers_are_masked(text):
    assert "[phone]" in phone_redacted(text)
    assert not any(ch.isdigit() for ch in phone_redacted(text).replace("[phone]", ""))


def test_a_case_number_is_left_alone():
    assert phone_redacted("440306-20261203-000123: accepted") == "440306-20261203-000123: accepted"


def test_a_gateway_refusal_quoting_the_number_leaves_no_phone_in_the_log_or_the_outbox(
    people, taxonomy, settings, caplog, django_capture_on_commit_callbacks
):
    settings.GRIDCITY_NOTIFY_BACKEND = "tests.cases.test_notify_email.refusing_gateway"
    case, _f = followed_case(people, taxonomy.component, phone="13812345678")
    with (
        caplog.at_level(logging.INFO, logger="gridcity.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.case_file(case=case, by=people.dispatcher)

    entry = NotificationOutbox.objects.get()
    assert entry.state == NotificationOutbox.State.PENDING
    assert "[phone]" in entry.last_error and "13812345678" not in entry.last_error
    assert "not delivered" in caplog.text and "13812345678" not in caplog.text


def refusing_gateway(rows):
    """An SMS gateway that refuses, quoting the number, as gateways do."""
    for row in rows:
        raise RuntimeError(f"gateway refused {row.follower.phone}")
