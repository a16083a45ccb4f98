"""Handheld token authentication: knox's, without its sweep of the user's other tokens.

knox's ``TokenAuthentication`` reads every other token of the user on every request to delete
the expired ones: one more query on each call a handheld makes, for work that has no reason to
happen on the request path. Here a request checks only its own token (an expired one is still
refused and deleted at once), and ``tokens_expired_purge`` does the sweep periodically.
"""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.signals import token_expired


class DeviceTokenAuthentication(TokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class DeviceTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme: the same header as knox's (drf-spectacular knows only the
    exact knox class)."""

    target_class = DeviceTokenAuthentication
