"""Handheld log-in: credentials, device tokens and their revocation.

A handheld (PDA) logs in with user name, password and its device id and gets a django-rest-knox
token, stored only as a hash and bound to one ``Device`` row. The token expires after
``GRIDCITY_TOKEN_IDLE_DAYS`` without use (knox's AUTO_REFRESH moves the expiry on every use).
A token dies at once when its holder logs out, logs in again from the same device, has the device
revoked (by themselves or an administrator), is disabled, or changes role (accounts.services).

Password checks go through ``django.contrib.auth.authenticate`` with the request, so
django-axes counts every failure and refuses a locked-out user name or address before any
password is checked.
"""

from dataclasses import dataclass
from datetime import timedelta

from axes.helpers import get_cool_off
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import update_last_login
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import get_token_model
from knox.settings import knox_settings

from accounts.audit import audit_record, client_ip
from accounts.models import AuditAction, Device, GridAssignment, User
from accounts.ws import sockets_close, token_group, user_group
from gridcity.errors import DomainError, ErrorAnswer

AuthToken = get_token_model()


class LoginRefused(DomainError):
    """The user name and password were not accepted: 401 ``invalid_credentials``, or with
    ``locked_out`` (axes refused to check) 429 ``locked_out`` with Retry-After."""

    # Written as LOGIN_FAILED by the user_login_failed receiver; not again as DENIED.
    audited = True

    def __init__(self, *, locked_out: bool = False, retry_after: timedelta | None = None):
        super().__init__("locked out" if locked_out else "invalid credentials")
        self.locked_out = locked_out
        self.retry_after = retry_after

    def answer(self) -> ErrorAnswer:
        if not self.locked_out:
            username = User._meta.get_field(User.USERNAME_FIELD).verbose_name
            # Django's own wording (the web form's), so it comes translated.
            message = AuthenticationForm.error_messages["invalid_login"] % {"username": username}
            return ErrorAnswer(401, "invalid_credentials", str(message))
        wait = int(self.retry_after.total_seconds()) if self.retry_after else None
        if not wait:
            message = _(
                "Too many failed log-ins for this user name or from this address. "
                "Ask an administrator to unlock it."
            )
            return ErrorAnswer(429, "locked_out", message)
        message = _(
            "Too many failed log-ins for this user name or from this address. "
            "Try again in %(minutes)d minutes."
        ) % {"minutes": max(1, round(wait / 60))}
        return ErrorAnswer(429, "locked_out", message, headers={"Retry-After": str(wait)})


def credentials_check(*, request, username: str, password: str) -> User:
    """The active user these credentials name, or ``LoginRefused``.

    Failures and lockouts are audited by the ``user_login_failed`` and axes ``user_locked_out``
    receivers in accounts.signals, the same way for the web form and the API.
    """
    django_request = getattr(request, "_request", request)
    user = authenticate(request=django_request, username=username, password=password)
    if getattr(django_request, "axes_locked_out", False):
        # The API answers with its own JSON 429. Left set, the flag makes AxesMiddleware
        # replace that answer with axes' plain-text one.
        django_request.axes_locked_out = False
        # Every refused attempt during a lockout restarts the cool-off
        # (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the whole cool-off is the wait.
        raise LoginRefused(locked_out=True, retry_after=get_cool_off(django_request))
    if user is None or not user.is_active:
        raise LoginRefused()
    login_failures_forgive(request=django_request, username=username)
    return user


def login_failures_forgive(*, request, username: str) -> int:
    """After a good log-in, forget this user name's failures from this address; how many.

    Only those: django-axes' own AXES_RESET_ON_SUCCESS deletes every failure that shares the
    user name *or* the address (the lockout parameters are ``[["username"], ["ip_address"]]``),
    so one good log-in as a citizen would forgive the same address nine guesses at a
    supervisor's password, again and again. It is off; the web log-in view and the token
    log-in call this instead. Failures against this user name from elsewhere stay counted too:
    someone else's guesses are not forgiven by the owner logging in.
    """
    request = getattr(request, "_request", request)
    ip = getattr(request, "axes_ip_address", None) or client_ip(request)
    if not (settings.AXES_ENABLED and ip and username):
        return 0
    return axes_reset(ip=ip, username=username)


@dataclass
class IssuedToken:
    device: Device
    token: str  # the only time the token exists in clear; never stored, never logged

    @property
    def expires_at(self):
        return self.device.token.expiry


@transaction.atomic
def token_issue(*, user: User, device_id: str, device_name: str = "", request=None) -> IssuedToken:
    """Issue a token for ``user`` on the handheld ``device_id`` and bind it to that device.

    The device's row is created on its first log-in and kept afterwards; its previous token, if
    any, is deleted, so one handheld holds at most one live token. A revoked device comes back
    to life with a new log-in: revocation signs a device out, it does not ban it (disable the
    user or change the password for that).
    """
    now = timezone.now()
    device, _created = Device.objects.select_for_update().get_or_create(
        user=user, device_id=device_id, defaults={"name": device_name}
    )
    replaced = device.token_id is not None
    if replaced:
        AuthToken.objects.filter(pk=device.token_id).delete()
    instance, token = AuthToken.objects.create(user, expiry=knox_settings.TOKEN_TTL)
    device.token = instance
    device.name = device_name or device.name
    device.last_login_at = now
    device.revoked_at = None
    device.revoked_reason = ""
    device.save()
    update_last_login(None, user)
    audit_record(
        action=AuditAction.TOKEN_ISSUED,
        request=request,
        actor=user,
        status=201,
        device=device.pk,
        device_id=device.device_id,
        replaced=replaced,
    )
    return IssuedToken(device=device, token=token)


def _device_mark_revoked(device: Device, reason: str, at) -> None:
    if device.token_id is not None:
        keys = AuthToken.objects.filter(pk=device.token_id).values_list("token_key", flat=True)
        sockets_close(token_group(key) for key in keys)
        AuthToken.objects.filter(pk=device.token_id).delete()
    device.token = None
    device.revoked_at = device.revoked_at or at
    device.revoked_reason = device.revoked_reason or reason[:100]
    device.save(update_fields=["token", "revoked_at", "revoked_reason"])


@transaction.atomic
def device_revoke(*, device: Device, by: User | None, reason: str, request=None) -> Device:
    """Sign a handheld out at once: delete its token, mark the device revoked, audit it.

    For a person revoking their own device (``/api/v1/me/devices/<id>/``) and for an
    administrator (the admin's device action). Revoking a device that holds no token changes
    nothing and writes nothing.
    """
    if device.token_id is None and device.revoked_at is not None:
        return device
    _device_mark_revoked(device, reason, timezone.now())
    audit_record(
        action=AuditAction.TOKEN_REVOKED,
        request=request,
        actor=by,
        user=device.user_id,
        device=device.pk,
        device_id=device.device_id,
        reason=reason,
    )
    return device


@transaction.atomic
def token_revoke(*, token, by: User, request=None) -> None:
    """Log out: the token making the request dies, and its device shows as signed out."""
    device = Device.objects.select_for_update().filter(token=token).first()
    if device is not None:
        device_revoke(device=device, by=by, reason="log-out", request=request)
        return
    sockets_close([token_group(token.token_key)])
    token.delete()
    audit_record(action=AuditAction.TOKEN_REVOKED, request=request, actor=by, reason="log-out")


@transaction.atomic
def user_tokens_revoke(*, user: User, reason: str) -> int:
    """Delete every token the user holds and mark their live devices revoked; how many devices.

    Called when the user is disabled or changes role (accounts.services): a handheld must not
    keep rights its holder no longer has. The caller writes the audit row that says why.
    """
    now = timezone.now()
    devices = list(
        Device.objects.select_for_update()
        .filter(user=user)
        .exclude(token__isnull=True, revoked_at__isnull=False)
    )
    # Tokens not bound to a device (none are issued that way, but knox allows it) die too,
    # and every socket the person has open closes.
    sockets_close([user_group(user.pk)])
    AuthToken.objects.filter(user=user).delete()
    for device in devices:
        device.token_id = None  # already deleted above
        _device_mark_revoked(device, reason, now)
    return len(devices)


def tokens_expired_purge(*, now=None) -> int:
    """Delete tokens idle past their expiry; how many. A request refuses an expired token by
    itself (``DeviceTokenAuthentication``): this only keeps the table from filling up, in the
    periodic task rather than on every request as knox would."""
    expired = AuthToken.objects.filter(expiry__lt=now or timezone.now())
    deleted, _by_model = expired.delete()
    return deleted


# --- Reads for the log-in and "me" answers ---------------------------------------------------


def assignments_current() -> QuerySet[GridAssignment]:
    """Open grid assignments (primary and backup), grid loaded, in grid-code order."""
    return (
        GridAssignment.objects.filter(valid_to__isnull=True)
        .select_related("grid")
        .order_by("grid__code", "kind")
    )


def user_with_profile(user: User) -> User:
    """The user again, with department, street, district and ``current_assignments`` loaded.

    Two queries whatever the number of grids, so the log-in and ``/me/`` answers cost the same
    for an inspector of one grid and one of fifty.
    """
    return (
        User.objects.select_related("department", "street", "district")
        .prefetch_related(
            Prefetch("grid_assignments", assignments_current(), to_attr="current_assignments")
        )
        .get(pk=user.pk)
    )


def devices_of(user: User) -> QuerySet[Device]:
    """A person's handhelds, the most recently used first."""
    return Device.objects.filter(user=user).order_by("-last_login_at", "-created_at")
