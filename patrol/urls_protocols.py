"""The positioning apps' endpoints, at the root as their users expect to type them
(``https://gridcity.example/osmand/`` in Traccar Client, ``…/owntracks/`` in OwnTracks), with or
without the trailing slash: a POST to a URL without it could not be redirected."""

from django.urls import re_path

from patrol.api.protocols import OsmAndPositionsApi, OwnTracksPositionsApi

urlpatterns = [
    re_path(r"^osmand/?$", OsmAndPositionsApi.as_view(), name="osmand"),
    re_path(r"^owntracks/?$", OwnTracksPositionsApi.as_view(), name="owntracks"),
]
