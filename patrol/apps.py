import re

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "patrol"
    verbose_name = _("Patrol")

    def ready(self):
        from gridcity.middleware import route_limit_add
        from patrol.trackers import protocols

        # The tracker endpoints (/osmand/, /owntracks/, …, patrol.urls_protocols) take
        # batches of fixes: the track upload's body limit, not the API's default.
        kinds = "|".join(re.escape(p.kind) for p in protocols())
        route_limit_add(rf"^/({kinds})/?$", lambda: settings.GRIDCITY_PATROL_MAX_BODY_BYTES)
