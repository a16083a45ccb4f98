"""Web log-in, log-out and password change: Django's auth views in GridCity's pages."""

import pytest
from django.utils import translation

from accounts.models import AuditAction, AuditEvent, Role, User

PASSWORD = "lamp-post 42 under the bridge"


@pytest.fixture
def dispatcher(small_city):
    return User.objects.create_user(
        "zhao-min",
        password=PASSWORD,
        role=Role.DISPATCHER,
        district=small_city.district,
        first_name="赵敏",
    )


def test_login_page_is_in_zh_hans_by_default(client, db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    translation.deactivate()

    html = client.get("/accounts/login/").content.decode()

    assert 'lang="zh-hans"' in html
    assert "<h1" in html and "登录" in html
    assert "用户名" in html and "密码" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_login_page_speaks_english_on_request(client, db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    translation.deactivate()

    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Log in" in html and "Username" in html


def test_logging_in_on_the_web_goes_to_the_workbench_and_is_audited(client, dispatcher):
    response = client.post("/accounts/login/", {"username": "zhao-min", "password": PASSWORD})

    # /desk/ sends each person on to their own workbench: a dispatcher to the command centre's
    assert response.status_code == 302 and response["Location"] == "/desk/"
    assert client.get("/desk/")["Location"] == "/desk/dispatch/"
    home = client.get("/").content.decode()
    assert "赵敏" in home and 'action="/accounts/logout/"' in home
    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert (event.actor, event.path, event.ip) == (dispatcher, "/accounts/login/", "127.0.0.1")


def test_login_returns_to_the_page_asked_for(client, dispatcher):
    response = client.post(
        "/accounts/login/?next=/accounts/password/change/",
        {"username": "zhao-min", "password": PASSWORD, "next": "/accounts/password/change/"},
    )

    assert response["Location"] == "/accounts/password/change/"


def test_anonymous_visitors_see_a_log_in_link(client, db):
    html = client.get("/").content.decode()

    assert 'href="/accounts/login/?next=/"' in html
    assert "/accounts/logout/" not in html


def test_a_wrong_password_on_the_web_is_refused_and_audited(client, dispatcher):
    response = client.post("/accounts/login/", {"username": "zhao-min", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get()
    assert (event.action, event.username, event.path) == (
        AuditAction.LOGIN_FAILED,
        "zhao-min",
        "/accounts/login/",
    )


def test_the_web_form_answers_429_once_locked_out(client, dispatcher, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "zhao-min", "password": f"guess {n}"})

    refused = client.post("/accounts/login/", {"username": "zhao-min", "password": PASSWORD})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"Try again in {minutes} minutes" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, username="zhao-min").exists()


def test_logging_out_takes_a_post_and_is_audited(client, dispatcher):
    client.force_login(dispatcher)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 200
    assert "Log in again" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=dispatcher).exists()


def test_password_change_needs_a_log_in(client, db):
    response = client.get("/accounts/password/change/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/password/change/"


def test_changing_the_password_works_and_keeps_me_logged_in(client, dispatcher):
    client.force_login(dispatcher)
    new = "seven green bicycles at dawn"

    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/done/"
    assert client.get(response["Location"]).status_code == 200
    assert client.get("/api/v1/me/").status_code == 200  # session survives its own change
    dispatcher.refresh_from_db()
    assert dispatcher.check_password(new)
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED, actor=dispatcher).exists()
    assert not [
        row for row in AuditEvent.objects.values() if PASSWORD in str(row) or new in str(row)
    ]


@pytest.mark.parametrize(
    ("new", "complaint"),
    [
        ("short1", "too short"),
        ("12345678901234", "entirely numeric"),
        ("password123", "too common"),
        ("zhao-min-1", "too similar"),
    ],
)
def test_password_change_enforces_the_validators(client, dispatcher, new, complaint):
    client.force_login(dispatcher)

    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 200
    assert complaint in response.content.decode()
    dispatcher.refresh_from_db()
    assert dispatcher.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()


def test_password_change_wants_the_old_password(client, dispatcher):
    client.force_login(dispatcher)
    new = "seven green bicycles at dawn"

    response = client.post(
        "/accounts/password/change/",
        {"old_password": "not it", "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 200
    dispatcher.refresh_from_db()
    assert dispatcher.check_password(PASSWORD)


def test_password_change_page_is_in_zh_hans_by_default(client, dispatcher, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    translation.deactivate()
    client.force_login(dispatcher)

    html = client.get("/accounts/password/change/").content.decode()

    assert "密码修改" in html and "旧密码" in html and "修改我的密码" in html
