"""The positioning apps' endpoints, at the root as their users expect to type them
(``https://gridcity.example/osmand/`` in Traccar Client, ``…/owntracks/`` in OwnTracks,
``…/overland/`` in Overland): one per protocol registered in ``patrol.trackers``."""

from patrol.api.protocols import tracker_urls

urlpatterns = tracker_urls()
