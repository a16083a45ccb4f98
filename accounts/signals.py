"""Audit rows for log-ins that happen inside Django's and django-axes' own views.

Every other change to a person — role, activity, password — is audited by the service that
makes it (accounts.services), which also revokes the tokens; no model signal does it. Log-ins
are different: Django's ``LoginView``, the admin's log-in and ``authenticate()`` in the token
API report them only through Django's auth signals (``user_logged_in``, ``user_logged_out``,
``user_login_failed``), and a lockout only through django-axes' ``user_locked_out``. These
receivers are the one place such rows are written, the same way for the web form, the admin and
the API.
"""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.audit import audit_record
from accounts.models import AuditAction, User


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
