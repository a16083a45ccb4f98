from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        # Pillow's decompression-bomb guard (a warning past the number, an error past twice
        # it, both before any pixel is decoded) at the photos' own limit, for every image
        # this process opens: an upload, or an original the derivatives task reads back.
        Image.MAX_IMAGE_PIXELS = settings.GRIDCITY_PHOTO_MAX_PIXELS
