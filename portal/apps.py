from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The public side (市民门户) and the hotline console: pages over the cases services."""

    name = "portal"
    verbose_name = _("Citizen portal and hotline")
