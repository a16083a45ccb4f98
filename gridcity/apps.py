from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridcityConfig(AppConfig):
    name = "gridcity"
    verbose_name = _("Grid hierarchy")

    def ready(self) -> None:
        from gridcity import signals  # noqa: F401
