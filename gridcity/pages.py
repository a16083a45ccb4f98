"""The door of a signed-in page: who may open it is a predicate of the policy module
(``accounts.policy``), passed in, so that the pages of every app open the same way.

Anonymous people are sent to log in and come back; a signed-in person the predicate refuses
gets the 403 page; a ``DomainError`` the view lets out (a bad parameter of a page or of a
fragment it serves as JSON) is the API's JSON 4xx (``gridcity.errors``).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from gridcity.errors import DomainError, error_response


def page_for(may: Callable[[object], bool]):
    """Decorate a view so that only the people ``may(user)`` allows open it."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not may(request.user):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except DomainError as refused:
                return error_response(refused.answer())

        return wrapped

    return decorate
