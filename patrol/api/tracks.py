"""Tracks in and out as files: a GPX upload of the caller's own recorded track, and a shift's
track as GPX 1.1 or GeoJSON.

The exports read the shift as ``selectors.shift_track`` does (one query, columns, no model
instance per fix: a 12-hour shift is 8,640 fixes) and are written by ``patrol.protocols``.
Visibility is the shift detail's: a shift one may not see is a 404.
"""

import json
import re

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridcity.coords import CRS_CHOICES
from patrol import services
from patrol.api import serializers as s
from patrol.api.parsers import BodyTooLarge
from patrol.api.views import IsInspector, _device_of, _visible_shift, shift_properties
from patrol.models import Shift
from patrol.protocols import geojson_track, gpx_read, gpx_write
from patrol.selectors import Track, from_ms, shift_track

GPX_TYPE = "application/gpx+xml"
GEOJSON_TYPE = "application/geo+json"
# Room for the multipart envelope (boundaries, headers, the crs field) around the file.
_MULTIPART_SLACK = 64 * 1024
REJECTED_POINTS_SHOWN = 1000


class _JsonWhateverAccepted(DefaultContentNegotiation):
    """The files are written by the views themselves; the only rendered answers are errors,
    always JSON, even to a client that asked for GPX (rather than a 406 for it)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _rows(track: Track) -> list[dict]:
    """The fixes as the writers read them: exact times (from ms), NaN as absent, and so is
    ±Infinity, which rows stored before uploads were checked may hold (v - v is NaN for both)."""
    altitude = [v if v - v == 0 else None for v in track.altitude.tolist()]
    speed = [v if v - v == 0 else None for v in track.speed.tolist()]
    columns = (track.ms.tolist(), track.lon.tolist(), track.lat.tolist(), altitude, speed)
    return [
        {"t": from_ms(ms), "lon": lon, "lat": lat, "altitude": alt, "speed": v, "segment_start": b}
        for ms, lon, lat, alt, v, b in zip(*columns, track.segment_start.tolist(), strict=True)
    ]


def _filename(shift: Shift, extension: str) -> str:
    """``shift-8812-zhang.san-2026-11-24.gpx``: the shift, whose, the local day it began."""
    name = re.sub(r"[^\w.-]+", "-", shift.inspector.get_username()).strip("-.") or "inspector"
    day = timezone.localtime(shift.started_at).date().isoformat()
    return f"shift-{shift.pk}-{name}-{day}.{extension}"


def _properties(shift: Shift, n: int) -> dict:
    return {**shift_properties(shift, n), "username": shift.inspector.get_username()}


class ShiftTrackGpxApi(APIView):
    """The shift's track as a GPX 1.1 download: one track, one segment, its fixes in time
    order with elevation and speed (Garmin TrackPointExtension v2)."""

    content_negotiation_class = _JsonWhateverAccepted

    @extend_schema(responses={(200, GPX_TYPE): OpenApiTypes.STR})
    def get(self, request, pk: int):
        shift = _visible_shift(request, pk)
        track = shift_track(shift)
        name = _("Shift %(id)d, %(name)s") % {
            "id": shift.pk,
            "name": shift.inspector.get_full_name() or shift.inspector.get_username(),
        }
        response = HttpResponse(gpx_write(_rows(track), name=name), content_type=GPX_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, _filename(shift, "gpx"))
        return response


class ShiftTrackGeoJsonApi(APIView):
    """The shift's track as GeoJSON (RFC 7946): a FeatureCollection whose LineString feature
    carries the shift's id, inspector, times and, in ``times``, the UTC time of each
    coordinate."""

    content_negotiation_class = _JsonWhateverAccepted

    @extend_schema(responses={(200, GEOJSON_TYPE): OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        shift = _visible_shift(request, pk)
        track = shift_track(shift)
        document = geojson_track(_rows(track), properties=_properties(shift, len(track)))
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        response = HttpResponse(body, content_type=GEOJSON_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            False, _filename(shift, "geojson")
        )
        return response


class GpxTooLarge(BodyTooLarge):
    default_detail = gettext_lazy("The GPX file is too large.")


class GpxImportResultSerializer(s.IngestResultSerializer):
    points = serializers.IntegerField(help_text="track points in the file")


class TrackGpxImportApi(APIView):
    """Upload a recorded track of one's own as a GPX file: multipart ``file`` and optional
    ``crs`` (wgs84, gcj02, bd09). Inspectors only. Every track point needs a time; the fixes
    go through the filters and into shifts as uploaded fixes do, and a file sent again stores
    nothing twice. 200 with the counts (``rejected_points`` index the file's track points in
    order, the first 1,000 of them); 400 naming the point for a file that cannot be read,
    with nothing stored; 413 beyond GRIDCITY_PATROL_MAX_GPX_BYTES."""

    parser_classes = [MultiPartParser]
    permission_classes = [IsAuthenticated, IsInspector]
    conflicts = True

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "GpxUpload",
                {
                    "file": serializers.FileField(),
                    "crs": serializers.ChoiceField(choices=CRS_CHOICES, required=False),
                },
            )
        },
        responses={200: GpxImportResultSerializer, 400: OpenApiResponse(), 413: OpenApiResponse()},
    )
    def post(self, request):
        limit = settings.GRIDCITY_PATROL_MAX_GPX_BYTES
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > limit + _MULTIPART_SLACK:
            raise GpxTooLarge()  # before the body is read
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": [_("A GPX file is required.")]})
        if upload.size > limit:
            raise GpxTooLarge()
        crs = request.data.get("crs") or "wgs84"
        if crs not in CRS_CHOICES:
            raise exceptions.ValidationError({"crs": [_("One of %s.") % ", ".join(CRS_CHOICES)]})
        segments = gpx_read(upload)  # FixFormatError → 400 naming the point
        result = services.track_points_import(
            inspector=request.user, segments=segments, crs=crs, device=_device_of(request)
        )
        answer = result.as_dict()
        answer["rejected_points"] = answer["rejected_points"][:REJECTED_POINTS_SHOWN]
        answer["points"] = sum(len(segment) for segment in segments)
        return Response(answer)
