from django.conf import settings
from django.shortcuts import render

from gridcity.models import District


def home(request):
    """The district on a map: streets, communities and grids as layers, search, locate."""
    district = District.objects.order_by("code").only("code", "name").first()
    return render(
        request,
        "home.html",
        {
            "district": district,
            "tile_url": settings.GRIDCITY_TILE_URL,
            "tile_attribution": settings.GRIDCITY_TILE_ATTRIBUTION,
        },
    )
