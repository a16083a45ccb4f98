"""Receivers that keep tokens and the audit log in step with what happens to people.

- A user disabled, or given another role, loses every handheld token at once (whoever saved the
  row: the admin, ``user_set_role``, a shell), so no device keeps rights its holder lost.
- A new password (the user's own change, or an administrator setting one after a handheld went
  missing) signs every handheld out too, as Django does with the other sessions. A hash merely
  upgraded at log-in is not a new password and changes nothing.
- Log-ins, log-outs and failed log-ins, from the web form, the admin and the token API alike,
  are audited here from Django's auth signals; lockouts from django-axes' ``user_locked_out``.
"""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from accounts.audit import audit_record
from accounts.auth import user_tokens_revoke
from accounts.models import AuditAction, User

WATCHED = {"role", "is_active"}


@receiver(pre_save, sender=User, dispatch_uid="gridcity-user-remember-role")
def user_remember_role(sender, instance: User, raw=False, update_fields=None, **kwargs):
    instance._gridcity_before = None
    if raw or instance._state.adding or instance.pk is None:
        return
    # set_password() keeps the raw password in ``_password`` until the save; a hash upgrade
    # at log-in clears it first.
    instance._gridcity_new_password = getattr(instance, "_password", None) is not None
    if update_fields is not None and not WATCHED & set(update_fields):
        return  # e.g. last_login on every log-in: no query
    instance._gridcity_before = (
        User.objects.filter(pk=instance.pk).values("role", "is_active").first()
    )


@receiver(post_save, sender=User, dispatch_uid="gridcity-user-revoke-tokens")
def user_revoke_tokens_on_change(sender, instance: User, created=False, raw=False, **kwargs):
    before = getattr(instance, "_gridcity_before", None)
    new_password = getattr(instance, "_gridcity_new_password", False)
    instance._gridcity_before = None
    instance._gridcity_new_password = False
    if created or raw:
        return
    if new_password:
        revoked = user_tokens_revoke(user=instance, reason="password changed")
        if revoked:
            audit_record(
                action=AuditAction.TOKEN_REVOKED,
                username=instance.get_username(),
                user=instance.pk,
                reason="password changed",
                devices_revoked=revoked,
            )
    if before is None:
        return
    disabled = before["is_active"] and not instance.is_active
    role_changed = before["role"] != instance.role
    if not (disabled or role_changed):
        return
    reason = "user disabled" if disabled else "role changed"
    revoked = user_tokens_revoke(user=instance, reason=reason)
    if disabled:
        audit_record(
            action=AuditAction.USER_DISABLED,
            username=instance.get_username(),
            user=instance.pk,
            devices_revoked=revoked,
        )
    if role_changed:
        audit_record(
            action=AuditAction.ROLE_CHANGED,
            username=instance.get_username(),
            user=instance.pk,
            role_from=before["role"],
            role_to=instance.role,
            devices_revoked=revoked,
        )


@receiver(user_logged_in, dispatch_uid="gridcity-audit-login")
def audit_logged_in(sender, request=None, user=None, **kwargs):
    audit_record(action=AuditAction.LOGIN, request=request, actor=user)


@receiver(user_logged_out, dispatch_uid="gridcity-audit-logout")
def audit_logged_out(sender, request=None, user=None, **kwargs):
    audit_record(action=AuditAction.LOGOUT, request=request, actor=user)


@receiver(user_login_failed, dispatch_uid="gridcity-audit-login-failed")
def audit_login_failed(sender, credentials=None, request=None, **kwargs):
    # Django has already masked the password in ``credentials``; only the user name is kept.
    username = (credentials or {}).get(User.USERNAME_FIELD) or ""
    audit_record(action=AuditAction.LOGIN_FAILED, request=request, username=str(username))


@receiver(user_locked_out, dispatch_uid="gridcity-audit-locked-out")
def audit_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    audit_record(
        action=AuditAction.LOCKED_OUT,
        request=request,
        username=username or "",
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
