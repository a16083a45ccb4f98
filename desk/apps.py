from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    """The back-office workbenches (工作台): pages only, over the cases and patrol services."""

    name = "desk"
    verbose_name = _("Workbenches")
