from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The public side: the citizen portal and the 12345 hotline console (热线受理台)."""

    name = "portal"
    verbose_name = _("Portal and hotline")
