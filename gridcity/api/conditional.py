"""Conditional GET for API answers that clients keep (the hierarchy, the taxonomy).

The comparison of a request's ``If-None-Match`` / ``If-Match`` with the answer's ETag is
Django's (``django.utils.cache.get_conditional_response``, RFC 9110): a list of tags, weak tags
(``W/"…"`` matches for If-None-Match), and ``*``.
"""

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The resource no longer matches the version given in If-Match.")
    default_code = "precondition_failed"


def etag_answer(request, *, etag: str, headers: dict[str, str]) -> HttpResponseBase | None:
    """What a request answers by its preconditions alone for ``etag``, or None to answer in full.

    A GET whose If-None-Match names the current ETag gets a 304 carrying ``headers`` (the ETag
    and Cache-Control a full answer would carry); an If-Match that names another version is a
    412 in the API's error shape.
    """
    full = HttpResponse(headers={"ETag": etag, **headers})
    answer = get_conditional_response(request, etag=etag, response=full)
    if answer is full:
        return None
    if answer.status_code == status.HTTP_412_PRECONDITION_FAILED:
        raise PreconditionFailed()
    return answer
