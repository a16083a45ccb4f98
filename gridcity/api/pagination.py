from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class FeatureCursorPagination(CursorPagination):
    """Cursor pagination whose pages are GeoJSON FeatureCollections with next/previous links.

    A map can ask for a whole district's grids in one page (``page_size`` up to 5,000).
    """

    ordering = "code"
    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 5000

    def get_paginated_response(self, data):
        return Response(
            {
                "type": "FeatureCollection",
                "features": data["features"],
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": schema.get("items", schema)},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
