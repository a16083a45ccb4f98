"""Web log-in pages: Django's auth views with GridCity's templates (zh-Hans first).

Log-ins, log-outs and failures are audited by the auth-signal receivers in accounts.signals, a
new password by ``accounts.services.user_set_password``; django-axes counts the failures and
answers 429 once a user name or address is locked out.
"""

from axes.helpers import get_cool_off
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy

from accounts.auth import LoginRefused, credentials_check
from accounts.services import user_set_password


class LoginForm(AuthenticationForm):
    """The web log-in, checked as the handheld's is (``accounts.auth.credentials_check``, which
    also forgives this user name's failures from this address); a refusal is shown in the
    form's error area with the domain error's own message."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = credentials_check(
                    request=self.request, username=username, password=password
                )
            except LoginRefused as refused:
                if refused.locked_out:
                    # AxesMiddleware answers with its lockout page (``locked_out`` below).
                    self.request.axes_locked_out = True
                raise ValidationError(refused.answer().message, code="invalid_login") from None
        return self.cleaned_data


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link or a prefetch must not log anyone out."""

    template_name = "accounts/logged_out.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; the validators in AUTH_PASSWORD_VALIDATORS apply."""

    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        # The service sets the password, signs the handhelds out and audits; this session
        # stays logged in, as in Django's own view.
        user_set_password(
            user=form.user,
            password=form.cleaned_data["new_password1"],
            by=form.user,
            request=self.request,
        )
        update_session_auth_hash(self.request, form.user)
        return HttpResponseRedirect(self.get_success_url())


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out web log-in: a page saying how long to wait, 429.

    ``AXES_LOCKOUT_CALLABLE``; the API answers lockouts with its own JSON 429 (accounts.api).
    """
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else None
    minutes = max(1, round(seconds / 60)) if seconds else None
    response = render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
