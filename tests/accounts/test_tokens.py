"""Handheld log-in: tokens per device, what /me/ tells, and every way a token dies."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.auth import device_revoke
from accounts.models import AuditAction, AuditEvent, Device, GridAssignment, Role, User
from accounts.services import user_set_active, user_set_password, user_set_role

PASSWORD = "lamp-post 42 under the bridge"
TOKEN_URL = "/api/v1/auth/token/"


def make_person(username: str, role: str = Role.INSPECTOR, **fields) -> User:
    return User.objects.create_user(username, password=PASSWORD, role=role, **fields)


def assign(user: User, grid, kind: str = "primary", **fields) -> GridAssignment:
    return GridAssignment.objects.create(
        inspector=user, grid=grid, kind=kind, valid_from=timezone.now(), **fields
    )


def log_in(client, username, password=PASSWORD, device_id="pda-1", device_name="Huawei PDA"):
    return client.post(
        TOKEN_URL,
        {
            "username": username,
            "password": password,
            "device_id": device_id,
            "device_name": device_name,
        },
        content_type="application/json",
    )


def token_of(client, username, device_id="pda-1") -> str:
    response = log_in(client, username, device_id=device_id)
    assert response.status_code == 201, response.content
    return response.json()["token"]


def as_token(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def assert_refused(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] in ("authentication_failed", "not_authenticated")


@pytest.fixture
def inspector(db):
    return make_person("wang-wei", first_name="王伟")


def test_handheld_logs_in_sees_exactly_its_grids_and_is_cut_off_when_disabled(
    client, small_city, inspector
):
    own, backup, elsewhere, former = (
        small_city.grids[0],
        small_city.grids[5],
        *small_city.grids[9:11],
    )
    assign(inspector, own)
    assign(inspector, backup, kind="backup")
    assign(make_person("li-na"), elsewhere)
    earlier = timezone.now() - timedelta(days=30)
    GridAssignment.objects.create(
        inspector=inspector, grid=former, valid_from=earlier, valid_to=earlier + timedelta(days=1)
    )

    logged_in = log_in(client, "wang-wei")

    assert logged_in.status_code == 201
    body = logged_in.json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"] == {
        "id": inspector.pk,
        "username": "wang-wei",
        "name": "王伟",
        "role": "inspector",
        "department": None,
        "grids": sorted([own.code, backup.code]),
    }
    token = body["token"]

    me = client.get("/api/v1/me/", **as_token(token))

    assert me.status_code == 200
    assert me.json()["grids"] == sorted(
        [
            {"code": own.code, "name": own.name, "kind": "primary"},
            {"code": backup.code, "name": backup.name, "kind": "backup"},
        ],
        key=lambda g: g["code"],
    )
    assert me.json()["role_display"] == "Grid inspector"

    user_set_active(user=inspector, active=False)

    assert_refused(client.get("/api/v1/me/", **as_token(token)))
    assert not inspector.auth_token_set.exists()
    device = Device.objects.get(user=inspector)
    assert device.revoked_at is not None and device.revoked_reason == "user disabled"
    assert AuditEvent.objects.filter(action=AuditAction.USER_DISABLED, username="wang-wei").exists()


def test_log_in_binds_the_token_to_the_device_and_audits_it(client, inspector, settings):
    body = log_in(client, "wang-wei", device_id="android-9f3a", device_name="Galaxy Tab").json()

    device = Device.objects.get(user=inspector, device_id="android-9f3a")
    assert device.name == "Galaxy Tab"
    assert device.token is not None and device.last_login_at is not None
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at == device.token.expiry
    idle = timedelta(days=settings.GRIDCITY_TOKEN_IDLE_DAYS)
    assert abs(expires_at - (timezone.now() + idle)) < timedelta(minutes=1)
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_ISSUED)
    assert event.actor == inspector
    assert event.detail["device_id"] == "android-9f3a"
    inspector.refresh_from_db()
    assert inspector.last_login is not None


def test_me_answers_the_same_for_a_web_session(client, small_city, inspector):
    assign(inspector, small_city.grids[3])
    client.force_login(inspector)

    me = client.get("/api/v1/me/")

    assert me.status_code == 200
    assert [g["code"] for g in me.json()["grids"]] == [small_city.grids[3].code]


def test_me_tells_department_and_area_of_other_roles(client, small_city):
    from accounts.models import Department

    department = Department.objects.create(code="chengguan", name="城管局")
    make_person("staff-1", role=Role.STAFF, department=department)
    make_person("sup-1", role=Role.SUPERVISOR, street=small_city.streets[1])

    staff = client.get("/api/v1/me/", **as_token(token_of(client, "staff-1"))).json()
    supervisor = client.get("/api/v1/me/", **as_token(token_of(client, "sup-1"))).json()

    assert staff["department"] == {"code": "chengguan", "name": "城管局"}
    assert staff["street"] is None and staff["grids"] == []
    assert supervisor["department"] is None
    assert supervisor["street"] == small_city.streets[1].code


def test_me_costs_the_same_queries_for_one_grid_or_twelve(client, small_city):
    few, many = make_person("few"), make_person("many")
    assign(few, small_city.grids[0])
    for grid in small_city.grids[1:13]:
        assign(many, grid)
    few_token, many_token = token_of(client, "few"), token_of(client, "many")

    def queries(token):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/me/", **as_token(token))
        assert response.status_code == 200
        return len(captured), len(response.json()["grids"])

    assert queries(few_token)[1] == 1
    assert queries(many_token)[1] == 12
    assert queries(few_token)[0] == queries(many_token)[0]


def test_device_list_costs_the_same_queries_for_one_device_or_five(client, db):
    make_person("one")
    make_person("five")
    one = token_of(client, "one")
    five = [token_of(client, "five", device_id=f"pda-{n}") for n in range(5)][-1]

    def queries(token):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/me/devices/", **as_token(token))
        assert response.status_code == 200
        return len(captured), len(response.json())

    assert queries(one)[1] == 1 and queries(five)[1] == 5
    assert queries(one)[0] == queries(five)[0]


def test_device_list_marks_the_device_making_the_request(client, inspector):
    token_of(client, "wang-wei", device_id="pda-1")
    second = token_of(client, "wang-wei", device_id="pda-2")

    devices = client.get("/api/v1/me/devices/", **as_token(second)).json()

    assert {d["device_id"]: d["current"] for d in devices} == {"pda-1": False, "pda-2": True}
    assert set(devices[0]) == {
        "id",
        "device_id",
        "name",
        "created_at",
        "last_login_at",
        "revoked_at",
        "revoked_reason",
        "current",
    }


def test_revoking_my_device_kills_its_token_at_once(client, inspector):
    lost = token_of(client, "wang-wei", device_id="lost-phone")
    kept = token_of(client, "wang-wei", device_id="desk-pda")
    lost_device = Device.objects.get(device_id="lost-phone")

    response = client.delete(f"/api/v1/me/devices/{lost_device.pk}/", **as_token(kept))

    assert response.status_code == 204
    assert_refused(client.get("/api/v1/me/", **as_token(lost)))
    assert client.get("/api/v1/me/", **as_token(kept)).status_code == 200
    lost_device.refresh_from_db()
    assert lost_device.revoked_at is not None and lost_device.token is None
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert event.actor == inspector and event.detail["device_id"] == "lost-phone"


def test_another_persons_device_is_not_found(client, inspector):
    make_person("li-na")
    token_of(client, "li-na")
    theirs = Device.objects.get(user__username="li-na")
    mine = token_of(client, "wang-wei")

    response = client.delete(f"/api/v1/me/devices/{theirs.pk}/", **as_token(mine))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and theirs.token is not None


def test_administrator_revoking_a_device_kills_its_token(client, inspector):
    admin = make_person("admin-1", role=Role.ADMIN)
    token = token_of(client, "wang-wei")
    device = Device.objects.get(user=inspector)

    device_revoke(device=device, by=admin, reason="reported stolen")

    assert_refused(client.get("/api/v1/me/", **as_token(token)))
    device.refresh_from_db()
    assert device.revoked_reason == "reported stolen"
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert event.actor == admin and event.detail["user"] == inspector.pk


def test_the_admin_site_signs_a_handheld_out(client, inspector):
    admin = make_person("admin-1", role=Role.ADMIN, is_staff=True, is_superuser=True)
    token = token_of(client, "wang-wei")
    device = Device.objects.get(user=inspector)
    client.force_login(admin)

    response = client.post(
        "/admin/accounts/device/",
        {"action": "revoke", "_selected_action": [device.pk]},
        follow=True,
    )

    assert response.status_code == 200
    client.logout()
    assert_refused(client.get("/api/v1/me/", **as_token(token)))
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert event.actor == admin and event.detail["reason"] == "administrator"


def test_a_new_password_signs_every_handheld_out(client, inspector):
    first, second = token_of(client, "wang-wei", "pda-1"), token_of(client, "wang-wei", "pda-2")

    user_set_password(user=inspector, password="another lamp-post 43")

    assert_refused(client.get("/api/v1/me/", **as_token(first)))
    assert_refused(client.get("/api/v1/me/", **as_token(second)))
    assert Device.objects.filter(user=inspector, token__isnull=True).count() == 2


def test_a_password_hash_upgraded_at_log_in_keeps_the_handhelds(client, inspector, settings):
    token = token_of(client, "wang-wei", "pda-1")
    # Log in once more after the preferred hasher changed: Django re-hashes the same password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    old_hash = inspector.password

    assert token_of(client, "wang-wei", "pda-2")
    inspector.refresh_from_db()
    assert inspector.password != old_hash
    assert client.get("/api/v1/me/", **as_token(token)).status_code == 200


def test_logging_out_kills_the_token(client, inspector):
    token = token_of(client, "wang-wei")

    response = client.delete(TOKEN_URL, **as_token(token))

    assert response.status_code == 204
    assert_refused(client.get("/api/v1/me/", **as_token(token)))
    assert_refused(client.delete(TOKEN_URL, **as_token(token)))
    assert Device.objects.get(user=inspector).revoked_reason == "log-out"
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED, actor=inspector).count() == 1


def test_token_expires_after_the_idle_days(client, inspector, settings, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    token = token_of(client, "wang-wei")

    time_machine.shift(timedelta(days=settings.GRIDCITY_TOKEN_IDLE_DAYS) - timedelta(minutes=1))
    still_valid = client.get("/api/v1/me/", **as_token(token))
    time_machine.shift(timedelta(days=settings.GRIDCITY_TOKEN_IDLE_DAYS) + timedelta(minutes=1))
    expired = client.get("/api/v1/me/", **as_token(token))

    assert still_valid.status_code == 200
    assert_refused(expired)


def test_every_use_pushes_the_idle_expiry_forward(client, inspector, settings, time_machine):
    idle = timedelta(days=settings.GRIDCITY_TOKEN_IDLE_DAYS)
    time_machine.move_to(timezone.now(), tick=False)
    token = token_of(client, "wang-wei")

    time_machine.shift(idle * 2 / 3)
    assert client.get("/api/v1/me/", **as_token(token)).status_code == 200
    time_machine.shift(idle * 2 / 3)  # 4/3 of the idle time after log-in, 2/3 after last use

    assert client.get("/api/v1/me/", **as_token(token)).status_code == 200
    time_machine.shift(idle + timedelta(minutes=1))
    assert_refused(client.get("/api/v1/me/", **as_token(token)))


def test_second_log_in_from_the_same_device_replaces_its_token(client, inspector):
    first = token_of(client, "wang-wei", device_id="pda-1")
    other_device = token_of(client, "wang-wei", device_id="pda-2")

    second = token_of(client, "wang-wei", device_id="pda-1")

    assert second != first
    assert_refused(client.get("/api/v1/me/", **as_token(first)))
    assert client.get("/api/v1/me/", **as_token(second)).status_code == 200
    assert client.get("/api/v1/me/", **as_token(other_device)).status_code == 200
    assert Device.objects.filter(user=inspector).count() == 2
    assert inspector.auth_token_set.count() == 2


def test_logging_in_again_brings_a_revoked_device_back(client, inspector):
    token = token_of(client, "wang-wei")
    client.delete(TOKEN_URL, **as_token(token))

    again = token_of(client, "wang-wei")

    device = Device.objects.get(user=inspector)
    assert device.revoked_at is None and device.revoked_reason == ""
    assert client.get("/api/v1/me/", **as_token(again)).status_code == 200


def test_a_stale_token_in_the_header_does_not_block_logging_in(client, inspector):
    response = client.post(
        TOKEN_URL,
        {"username": "wang-wei", "password": PASSWORD, "device_id": "pda-1"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Token expired-long-ago",
    )

    assert response.status_code == 201


def test_a_role_change_revokes_every_token(client, small_city, inspector):
    first, second = token_of(client, "wang-wei", "pda-1"), token_of(client, "wang-wei", "pda-2")

    user_set_role(user=inspector, role=Role.SUPERVISOR, street=small_city.streets[0])

    assert_refused(client.get("/api/v1/me/", **as_token(first)))
    assert_refused(client.get("/api/v1/me/", **as_token(second)))
    assert set(Device.objects.values_list("revoked_reason", flat=True)) == {"role changed"}
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert event.username == "wang-wei"
    assert (event.detail["role_from"], event.detail["role_to"]) == ("inspector", "supervisor")


def test_saving_a_user_without_a_role_change_keeps_the_tokens(client, inspector):
    token = token_of(client, "wang-wei")

    inspector.phone = "13800000000"
    inspector.save()
    user_set_role(user=inspector, role=Role.INSPECTOR)

    assert client.get("/api/v1/me/", **as_token(token)).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED).exists()


@pytest.mark.parametrize("missing", ["username", "password", "device_id"])
def test_log_in_without_a_field_is_400_naming_it(client, inspector, missing):
    body = {"username": "wang-wei", "password": PASSWORD, "device_id": "pda-1"}
    del body[missing]

    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [missing]
    assert error["message"].startswith(f"{missing}:")
    assert not Device.objects.exists()


def test_wrong_password_is_401_and_audited(client, inspector):
    response = log_in(client, "wang-wei", password="not my password")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert not Device.objects.exists()
    event = AuditEvent.objects.get()  # one row: the failure, not a second "denied"
    assert event.action == AuditAction.LOGIN_FAILED
    assert (event.username, event.ip, event.path) == ("wang-wei", "127.0.0.1", TOKEN_URL)


def test_unknown_user_is_401_and_audited_with_the_name_given(client, db):
    response = log_in(client, "nobody-here")

    assert response.status_code == 401
    assert AuditEvent.objects.get().username == "nobody-here"


def test_a_disabled_user_cannot_log_in(client, inspector):
    inspector.is_active = False
    inspector.save()

    response = log_in(client, "wang-wei")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_token_is_stored_only_as_a_hash(client, inspector):
    token = token_of(client, "wang-wei")

    with connection.cursor() as cursor:
        rows = []
        for table in ("knox_authtoken", "accounts_device"):
            cursor.execute(f"SELECT * FROM {table}")
            rows += cursor.fetchall()

    assert rows
    assert not any(token in str(value) for row in rows for value in row)


def test_api_error_codes_are_exact(client, small_city, inspector):
    citizen = make_person("citizen-1", role=Role.CITIZEN)
    token = token_of(client, "wang-wei")

    missing = client.get("/api/v1/me/")
    wrong = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-real-token")
    client.force_login(citizen)
    forbidden = client.get("/api/v1/checkpoints/")
    not_found = client.delete("/api/v1/me/devices/999999/", **as_token(token))

    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "not_authenticated")
    assert missing["WWW-Authenticate"] == "Token"
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "authentication_failed")
    assert (forbidden.status_code, forbidden.json()["error"]["code"]) == (403, "permission_denied")
    assert (not_found.status_code, not_found.json()["error"]["code"]) == (404, "not_found")
