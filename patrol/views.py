"""Patrol pages: the supervisors' audit of a day's patrols (督查), on a map.

The page is a shell: the script (``gridcity/static/patrol/audit.js``) reads the day's summary,
the shifts, their tracks and reports from the API with the session, as the home map does.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from accounts import policy
from patrol.selectors import streets_supervised


@login_required
def audit(request):
    """巡查督查: pick a street, a day and an inspector (the short ones stand out), then a
    shift, and see its track, stops and checkpoints on the map with a playback slider."""
    if not policy.may_audit_patrols(request.user):
        raise PermissionDenied
    streets = list(streets_supervised(request.user))
    return render(
        request,
        "patrol/audit.html",
        {
            "streets": streets,
            "today": timezone.localdate().isoformat(),
            "time_zone": settings.TIME_ZONE,
            "tile_url": settings.GRIDCITY_TILE_URL,
            "tile_attribution": settings.GRIDCITY_TILE_ATTRIBUTION,
        },
    )
