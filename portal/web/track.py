"""The private link's landing (``portal-track``): the tracking number of the case the holder
of the link reported or follows. The case's status page with its timeline and the follower's
forms (rate, reopen, comment) is ``portal.web.public``'s; this is the least of it."""

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from cases.models import CaseFollower, FollowerRole

HEADINGS = {
    FollowerRole.REPORTER: _("Thank you: your report was received"),
    FollowerRole.FOLLOWER: _("You follow this problem now"),
}


def track(request, token: str):
    follower = CaseFollower.objects.select_related("case").filter(token=token).first()
    if follower is None:
        raise Http404
    context = {
        "follower": follower,
        "case": follower.case,
        "heading": HEADINGS.get(follower.role, HEADINGS[FollowerRole.FOLLOWER]),
    }
    return render(request, "portal/track.html", context)


urlpatterns = [path("t/<str:token>/", track, name="portal-track")]
