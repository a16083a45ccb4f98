"""What the browser's photo upload (desk/_photo_upload.html) must know of the server's rules."""

from django import template

from cases import photos

register = template.Library()


@register.simple_tag
def photo_max_bytes() -> int:
    """The largest photo the server takes (``GRIDCITY_PHOTO_MAX_BYTES``)."""
    return photos.photo_limits()[0]
