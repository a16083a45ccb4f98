from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The public side (市民门户): the citizens' portal, and the hotline's console (12345)."""

    name = "portal"
    verbose_name = _("Citizen portal and hotline")

    def ready(self) -> None:
        from django.conf import settings

        from gridcity.middleware import MULTIPART_SLACK, route_limit_add
        from portal.services import REPORT_PHOTOS_MAX

        # A report carries its photos in the same request (up to REPORT_PHOTOS_MAX, each at
        # most a case photo's limit; the page makes them smaller first).
        def report_limit() -> int:
            return REPORT_PHOTOS_MAX * settings.GRIDCITY_PHOTO_MAX_BYTES + MULTIPART_SLACK

        route_limit_add(r"^/api/v1/public/reports/?$", report_limit)
        route_limit_add(r"^/portal/report/?$", report_limit)
