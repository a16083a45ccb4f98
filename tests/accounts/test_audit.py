"""Failed log-ins, lockouts and the audit log: who tried what from where, never a secret."""

import importlib.util
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditAction, AuditEvent, Role, User

PASSWORD = "lamp-post 42 under the bridge"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def inspector(db):
    return User.objects.create_user("wang-wei", password=PASSWORD, role=Role.INSPECTOR)


def log_in(client, username, password, device_id="pda-1", **extra):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password, "device_id": device_id},
        content_type="application/json",
        **extra,
    )


def actions(**filters) -> list[str]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True)
    )


def test_eleven_wrong_passwords_lock_the_user_name_out(client, inspector, settings):
    statuses = []
    for n in range(11):
        response = log_in(client, "wang-wei", f"guess {n}")
        statuses.append(response.status_code)

    first_429 = statuses.index(429)
    assert set(statuses[:first_429]) == {401}
    assert set(statuses[first_429:]) == {429}  # from some point on, the 11th at the latest
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert response.json()["error"]["code"] == "locked_out"
    assert statuses[settings.AXES_FAILURE_LIMIT - 1] == 429  # axes locks at the limit itself

    # The right password is refused too while the lockout lasts.
    right = log_in(client, "wang-wei", PASSWORD)
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "locked_out"
    assert not inspector.auth_token_set.exists()

    logged = actions(username="wang-wei")
    assert logged.count(AuditAction.LOGIN_FAILED) == 12  # eleven wrong, one right but refused
    locked = AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, username="wang-wei")
    assert locked.count() == 12 - first_429
    assert {e.status for e in locked} == {429}
    assert {e.ip for e in AuditEvent.objects.all()} == {"127.0.0.1"}


def test_the_lockout_lifts_after_the_cool_off(client, inspector, settings, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wang-wei", f"guess {n}")
    assert log_in(client, "wang-wei", PASSWORD).status_code == 429

    time_machine.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))

    assert log_in(client, "wang-wei", PASSWORD).status_code == 201


def test_many_user_names_from_one_address_lock_the_address_out(client, inspector, settings):
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = [log_in(client, f"guess-{n}", "123456", **attacker).status_code for n in range(11)]

    assert statuses[-1] == 429
    assert set(statuses[statuses.index(429) :]) == {429}
    # A real user's right password is refused from that address, accepted from another.
    assert log_in(client, "wang-wei", PASSWORD, **attacker).status_code == 429
    assert log_in(client, "wang-wei", PASSWORD, REMOTE_ADDR="198.51.100.20").status_code == 201
    locked = AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, ip="203.0.113.7")
    assert locked.exists()


def test_a_successful_log_in_before_the_limit_forgives_the_failures(client, inspector, settings):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wang-wei", f"guess {n}")
    assert log_in(client, "wang-wei", PASSWORD).status_code == 201

    assert log_in(client, "wang-wei", "one more typo").status_code == 401


def test_no_audit_row_ever_holds_a_password_or_token(client, inspector):
    log_in(client, "wang-wei", "my-secret-wrong-pw")
    token = log_in(client, "wang-wei", PASSWORD).json()["token"]
    client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}x")
    client.delete(TOKEN_URL, HTTP_AUTHORIZATION=f"Token {token}")
    client.post("/accounts/login/", {"username": "wang-wei", "password": "web-wrong-pw"})
    client.post("/accounts/login/", {"username": "wang-wei", "password": PASSWORD})
    audit_record(
        action=AuditAction.DENIED,
        note="kept",
        password=PASSWORD,
        token=token,
        nested={"client_secret": token, "api_key": token, "ok": 1},
    )

    secrets = [PASSWORD, "my-secret-wrong-pw", "web-wrong-pw", token, token[:15]]
    rows = [str(row) for row in AuditEvent.objects.values()]
    rows += [str(row) for row in AccessAttempt.objects.values()]  # django-axes' own records
    rows += [str(row) for row in AccessLog.objects.values()]
    assert len(AuditEvent.objects.all()) >= 7
    assert not [(secret, row) for secret in secrets for row in rows if secret in row]
    assert AuditEvent.objects.latest("id").detail == {"note": "kept", "nested": {"ok": 1}}


def test_every_refused_api_request_is_audited_as_denied(client, small_city, inspector):
    citizen = User.objects.create_user("citizen-1", password=PASSWORD, role=Role.CITIZEN)

    client.get("/api/v1/me/devices/", HTTP_USER_AGENT="curl/8.0")
    client.force_login(citizen)
    client.get("/api/v1/checkpoints/")

    anonymous, forbidden = AuditEvent.objects.filter(action=AuditAction.DENIED).order_by("id")
    assert (anonymous.method, anonymous.path, anonymous.status) == (
        "GET",
        "/api/v1/me/devices/",
        401,
    )
    assert anonymous.actor is None and anonymous.user_agent == "curl/8.0"
    assert anonymous.detail == {"code": "not_authenticated"}
    assert (forbidden.path, forbidden.status, forbidden.actor) == (
        "/api/v1/checkpoints/",
        403,
        citizen,
    )
    assert forbidden.username == "citizen-1"


def test_audit_keeps_the_user_agent_short(rf, db):
    request = rf.get("/x", HTTP_USER_AGENT="A" * 1000)

    event = audit_record(action=AuditAction.DENIED, request=request, status=403)

    assert len(event.user_agent) == AuditEvent._meta.get_field("user_agent").max_length
    assert (event.ip, event.method, event.path, event.status) == ("127.0.0.1", "GET", "/x", 403)


# --- Behind proxies: whose address is recorded ------------------------------------------------


def proxy_settings(monkeypatch, settings, trusted: int) -> None:
    """Apply what gridcity/settings.py derives from GRIDCITY_TRUSTED_PROXIES=<trusted>.

    The settings module reads the environment once, at import; here it is run again with the
    variable set, and the derived axes/ipware values are copied into the test's settings.
    """
    monkeypatch.setenv("GRIDCITY_TRUSTED_PROXIES", str(trusted))
    spec = importlib.util.find_spec("gridcity.settings")
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    for name in (
        "GRIDCITY_TRUSTED_PROXIES",
        "AXES_IPWARE_PROXY_COUNT",
        "AXES_IPWARE_META_PRECEDENCE_ORDER",
    ):
        setattr(settings, name, getattr(fresh, name))


def failed_from(client, remote_addr: str, forwarded_for: str) -> AuditEvent:
    response = log_in(
        client,
        "wang-wei",
        "wrong",
        REMOTE_ADDR=remote_addr,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
    assert response.status_code == 401
    return AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).latest("id")


def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    client, inspector, settings, monkeypatch
):
    proxy_settings(monkeypatch, settings, 0)

    event = failed_from(client, "198.51.100.20", "203.0.113.9")

    assert event.ip == "198.51.100.20"
    assert AccessAttempt.objects.get().ip_address == "198.51.100.20"


def test_behind_one_trusted_proxy_the_forwarded_address_is_recorded(
    client, inspector, settings, monkeypatch
):
    proxy_settings(monkeypatch, settings, 1)

    # One reverse proxy (10.0.0.5) that appends the address it saw to X-Forwarded-For.
    event = failed_from(client, "10.0.0.5", "203.0.113.9")

    assert event.ip == "203.0.113.9"
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"


def test_behind_one_trusted_proxy_a_forged_forwarded_address_is_not_believed(
    client, inspector, settings, monkeypatch
):
    proxy_settings(monkeypatch, settings, 1)

    # The client sent "X-Forwarded-For: 198.51.100.1"; the proxy appended the real address.
    event = failed_from(client, "10.0.0.5", "198.51.100.1, 203.0.113.9")

    assert event.ip != "198.51.100.1"


def test_behind_two_trusted_proxies_the_address_before_them_is_recorded(
    client, inspector, settings, monkeypatch
):
    # Client 203.0.113.9 -> proxy 10.0.0.4 -> proxy 10.0.0.5 -> us; each proxy appends the
    # address it saw, so the header holds the client and the first proxy.
    proxy_settings(monkeypatch, settings, 2)

    event = failed_from(client, "10.0.0.5", "203.0.113.9, 10.0.0.4")

    assert event.ip == "203.0.113.9"
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
