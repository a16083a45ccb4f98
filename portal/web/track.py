"""The private link's landing (``portal-track``): the tracking number of the case the holder
of the link reported or follows. The case's status page with its timeline and the follower's
forms (rate, reopen, comment) is ``portal.web.public``'s; this is the least of it."""

from django.http import Http404
from django.shortcuts import render
from django.urls import path

from cases.models import CaseFollower


def track(request, token: str):
    follower = CaseFollower.objects.select_related("case").filter(token=token).first()
    if follower is None:
        raise Http404
    return render(request, "portal/track.html", {"follower": follower, "case": follower.case})


urlpatterns = [path("t/<str:token>/", track, name="portal-track")]
