"""The public API (市民门户): what the public pages show, for a phone app or a city's site.

- ``GET public/cases/<number>/``: a public case, sanitised (404 for one that is not public);
- ``GET public/near/?bbox=`` (or ``?lon=&lat=&radius=``): the recent public problems in view,
  as GeoJSON points, newest first, capped;
- ``GET public/track/<token>/``: a follower's case through their private link, with what they
  may do now; ``POST …/rate/``, ``…/reopen/``, ``…/comment/``, ``…/updates/``.

Anyone may call them: a case's public view carries no person, no contact, no staff note and
no original photo (``cases.selectors``, "the public side"); the private link's token is the
follower's credential, so the calls need no account and no session (and no CSRF token). A
refused input is a 400 naming its fields and writes nothing; a service's refusal (not the
reporter: 403; not now: 409) is answered by the one exception handler.
"""

from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import services
from cases.models import Satisfaction
from cases.selectors import (
    PUBLIC_NEAR_RADIUS_MAX,
    case_public_view,
    case_tracked,
    cases_public_near,
    follower_by_token,
    track_options,
)
from gridcity import coords, db
from gridcity.api import fields as api_fields
from gridcity.api.fields import LatitudeField, LongitudeField

# --- answers -----------------------------------------------------------------------------------


class PublicPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField(help_text="report, handle (after handling) or verify")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    display = serializers.SerializerMethodField(help_text="the display copy (never the original)")
    thumbnail = serializers.SerializerMethodField()

    def _url(self, photo, kind: str) -> str:
        name, key = self.context["photo_route"]
        url = reverse(name, args=[key, photo.id, kind])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_display(self, photo) -> str:
        return self._url(photo, "display")

    def get_thumbnail(self, photo) -> str:
        return self._url(photo, "thumbnail")


class PublicStepSerializer(serializers.Serializer):
    action = serializers.CharField()
    words = serializers.CharField(help_text="what happened, in public words")
    state = serializers.CharField()
    state_label = serializers.CharField(help_text="the state after it, in public words")
    at = serializers.DateTimeField()
    text = serializers.CharField(
        help_text="on the private link only: the follower's own comment or reopen reason, or "
        "the hotline's answer to them; empty on the public page"
    )
    mine = serializers.BooleanField(help_text="written by this follower (private link only)")


class PublicCaseSerializer(serializers.Serializer):
    number = serializers.CharField()
    item = serializers.CharField(help_text="the item's name for citizens")
    state = serializers.CharField()
    state_label = serializers.CharField(help_text="the state in public words")
    address = serializers.CharField()
    location = serializers.SerializerMethodField(help_text="[lon, lat], WGS-84")
    reported_at = serializers.DateTimeField()
    filed_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    description = serializers.CharField(
        help_text="as moderated: empty when hidden, the moderators' text when edited"
    )
    moderated = serializers.BooleanField(help_text="what the public sees was moderated")
    satisfaction = serializers.CharField(help_text="the reporter's rating, or empty")
    satisfaction_label = serializers.CharField()
    rework_count = serializers.IntegerField(help_text="times it was done again (不满意重办)")
    repeat_count = serializers.IntegerField(help_text="repeat callers merged into it (并单)")
    photos = PublicPhotoSerializer(many=True)
    timeline = PublicStepSerializer(many=True)
    public = serializers.BooleanField(help_text="whether the case shows on the public pages")

    def get_location(self, case) -> list[float]:
        return [case.lon, case.lat]


class TrackOptionsSerializer(serializers.Serializer):
    reporter = serializers.BooleanField(help_text="this follower reported the case")
    rate = serializers.BooleanField(help_text="the reporter may rate it now")
    reopen = serializers.BooleanField(help_text="the reporter may reopen it now (after 不满意)")
    reopen_until = serializers.DateTimeField(allow_null=True)
    comment = serializers.BooleanField()
    notify = serializers.BooleanField(help_text="the follower is told of each step")


class TrackSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="reporter, follower or caller")
    case = PublicCaseSerializer()
    options = TrackOptionsSerializer()


class NearPropertiesSerializer(serializers.Serializer):
    number = serializers.CharField()
    item = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    address = serializers.CharField()
    reported_at = serializers.DateTimeField()


class NearGeometrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class NearFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    geometry = NearGeometrySerializer()
    properties = NearPropertiesSerializer()


class NearSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = NearFeatureSerializer(many=True)
    truncated = serializers.BooleanField(help_text="more public cases are in view: zoom in")
    limit = serializers.IntegerField()


# --- questions ---------------------------------------------------------------------------------


class NearQuerySerializer(serializers.Serializer):
    bbox = serializers.CharField(
        required=False, help_text="min_lon,min_lat,max_lon,max_lat (in ``crs``)"
    )
    lon = LongitudeField(required=False)
    lat = LatitudeField(required=False)
    radius = serializers.IntegerField(
        min_value=1, max_value=PUBLIC_NEAR_RADIUS_MAX, default=1000, help_text="metres"
    )
    crs = serializers.ChoiceField(choices=coords.CRS_CHOICES, default="wgs84")

    def validate(self, data):
        if "bbox" in data:
            data["bbox"] = api_fields.bbox(data["bbox"])  # a 400 naming ``bbox``
        if ("lon" in data) != ("lat" in data):
            raise serializers.ValidationError(
                {"lat" if "lon" in data else "lon": _("Give both lon and lat, or neither.")}
            )
        if "bbox" in data and "lon" in data:
            raise serializers.ValidationError({"bbox": _("Give a box or a point, not both.")})
        return data


class TrackRateInputSerializer(serializers.Serializer):
    satisfaction = serializers.ChoiceField(
        choices=Satisfaction.choices,
        help_text="满意 satisfied / 基本满意 fair / 不满意 unsatisfied",
    )
    note = serializers.CharField(max_length=1000, allow_blank=True, default="")


class TrackReopenInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, help_text="what is still wrong")


class TrackCommentInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=services.COMMENT_MAX_CHARS)


class TrackUpdatesInputSerializer(serializers.Serializer):
    notify = serializers.BooleanField(help_text="false: send no more updates on this case")


# --- views -------------------------------------------------------------------------------------


class _PublicApi(APIView):
    # Anyone; the private link's token is the credential, so no session (and no CSRF token).
    authentication_classes: list = []
    permission_classes = [AllowAny]


def _case_answer(request, view, photo_route) -> dict:
    context = {"request": request, "photo_route": photo_route}
    return PublicCaseSerializer(view, context=context).data


class PublicCaseApi(_PublicApi):
    """A public case: its state in public words, the place, the times, the description as
    moderated, the photos not hidden and a timeline of states. Any other case is a 404."""

    @extend_schema(responses=PublicCaseSerializer)
    def get(self, request, number: str):
        view = case_public_view(number)
        if view is None:
            raise NotFound()
        return Response(_case_answer(request, view, ("portal-case-photo", number)))


class PublicNearApi(_PublicApi):
    """Near me: the public cases reported lately in a box or around a point, newest first,
    at most ``limit``; ``truncated`` says there are more (zoom in)."""

    @extend_schema(
        parameters=[NearQuerySerializer],
        responses=NearSerializer,
    )
    def get(self, request):
        given = NearQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        crs = data["crs"]
        bbox = point = None
        if "bbox" in data:
            low = services.Where.of(data["bbox"][0], data["bbox"][1], crs)
            high = services.Where.of(data["bbox"][2], data["bbox"][3], crs)
            bbox = (low.lon, low.lat, high.lon, high.lat)
        elif "lon" in data:
            point = services.Where.of(data["lon"], data["lat"], crs).point()
        found = cases_public_near(bbox=bbox, point=point, radius_m=data["radius"])
        return Response(
            {
                "type": "FeatureCollection",
                "features": [_feature(row) for row in found.rows],
                "truncated": found.truncated,
                "limit": found.limit,
            }
        )


def _feature(row: dict) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": {
            "number": row["number"],
            "item": row["item"],
            "state": row["state"],
            "state_label": row["state_label"],
            "address": row["address"],
            "reported_at": serializers.DateTimeField().to_representation(row["reported_at"]),
        },
    }


def _follower(token: str):
    follower = follower_by_token(token)
    if follower is None:
        raise NotFound()
    return follower


def _track_answer(request, follower, token: str) -> dict:
    view = case_tracked(follower)
    return {
        "role": follower.role,
        "case": _case_answer(request, view, ("portal-track-photo", token)),
        "options": TrackOptionsSerializer(track_options(follower)).data,
    }


TOKEN = OpenApiParameter(
    "token", str, OpenApiParameter.PATH, description="the private link's secret"
)


class TrackApi(_PublicApi):
    """A follower's case through their private link: whatever its state (a report before it
    is filed too), with their own comments, and what they may do now."""

    @extend_schema(parameters=[TOKEN], responses=TrackSerializer)
    def get(self, request, token: str):
        return Response(_track_answer(request, _follower(token), token))


class _TrackWriteApi(_PublicApi):
    conflicts = True  # the case's state does not allow it (not closed, rated, too late)
    input_class: type[serializers.Serializer]
    created = False

    def call(self, follower, data) -> None:  # pragma: no cover - each step says its own
        raise NotImplementedError

    def get_serializer_class(self):  # for the schema
        return self.input_class

    def post(self, request, token: str):
        follower = _follower(token)
        given = self.input_class(data=request.data)
        given.is_valid(raise_exception=True)
        db.write_retrying(lambda: self.call(follower, given.validated_data))
        follower = _follower(token)  # read afresh, with the case as the write left it
        code = status.HTTP_201_CREATED if self.created else status.HTTP_200_OK
        return Response(_track_answer(request, follower, token), status=code)


_FORBIDDEN = OpenApiResponse(description="permission_denied: only the case's reporter may")


class TrackRateApi(_TrackWriteApi):
    """评价: the reporter rates the result once it is closed, once a round (满意 / 基本满意 /
    不满意); it counts as the hotline's callback (回访)."""

    input_class = TrackRateInputSerializer

    @extend_schema(parameters=[TOKEN], responses={200: TrackSerializer, 403: _FORBIDDEN})
    def post(self, request, token: str):
        return super().post(request, token)

    def call(self, follower, data):
        services.case_satisfaction(
            case=follower.case,
            follower=follower,
            satisfaction=data["satisfaction"],
            note=data["note"],
        )


class TrackReopenApi(_TrackWriteApi):
    """不满意重办: the reporter, having rated it 不满意, sends it back to be done again with
    the reason, within ``GRIDCITY_REOPEN_DAYS`` of its closing."""

    input_class = TrackReopenInputSerializer

    @extend_schema(parameters=[TOKEN], responses={200: TrackSerializer, 403: _FORBIDDEN})
    def post(self, request, token: str):
        return super().post(request, token)

    def call(self, follower, data):
        services.case_reopen(case=follower.case, follower=follower, note=data["reason"])


class TrackCommentApi(_TrackWriteApi):
    """A follower's comment for the people handling the case (never on the public page)."""

    input_class = TrackCommentInputSerializer
    created = True

    @extend_schema(
        parameters=[TOKEN],
        responses={
            201: TrackSerializer,
            429: OpenApiResponse(description="rate_limited: too many comments today"),
        },
    )
    def post(self, request, token: str):
        return super().post(request, token)

    def call(self, follower, data):
        services.case_comment(case=follower.case, follower=follower, text=data["text"])


class TrackUpdatesApi(_TrackWriteApi):
    """Stop (``notify: false``) or restart the updates on this case."""

    input_class = TrackUpdatesInputSerializer
    conflicts = False

    @extend_schema(parameters=[TOKEN], responses=TrackSerializer)
    def post(self, request, token: str):
        return super().post(request, token)

    def call(self, follower, data):
        services.follower_notify_set(follower=follower, notify=data["notify"])


urlpatterns = [
    path("cases/<str:number>/", PublicCaseApi.as_view(), name="public-case"),
    path("near/", PublicNearApi.as_view(), name="public-near"),
    path("track/<str:token>/", TrackApi.as_view(), name="public-track"),
    path("track/<str:token>/rate/", TrackRateApi.as_view(), name="public-track-rate"),
    path("track/<str:token>/reopen/", TrackReopenApi.as_view(), name="public-track-reopen"),
    path("track/<str:token>/comment/", TrackCommentApi.as_view(), name="public-track-comment"),
    path("track/<str:token>/updates/", TrackUpdatesApi.as_view(), name="public-track-updates"),
]
