"""The portal's report API, open to anonymous callers: the items a citizen may pick, the
public problems near a spot, a report with its photos, and "this is mine too".

Thin views: the serializers validate (400 naming the field, nothing written), the abuse
guards and the services act (``portal.submit``), the selectors decide what is public (a case
that is not is a 404).
"""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from cases.models import FollowerChannel
from cases.services import Where
from gridcity.api.parsers import FormParser, JSONParser, MultiPartParser
from gridcity.coords import CRS_CHOICES
from portal.api import serializers as s
from portal.selectors import case_public, cases_similar_public, items_reportable
from portal.submit import follow_submit, report_submit

REFUSED = {
    429: OpenApiResponse(
        description=_("rate_limited: too many reports from this address or phone; see Retry-After")
    ),
}


class PublicItemListApi(APIView):
    """The categories a citizen may report, in plain words: search ``q`` over the items'
    citizen-facing and official names, in Chinese or English."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description=_("words to look for"))],
        responses=s.PublicItemSerializer(many=True),
    )
    def get(self, request):
        query = s.ItemQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = items_reportable(query.validated_data["q"])
        return Response(s.PublicItemSerializer(items, many=True).data)


class PublicSimilarListApi(APIView):
    """Open public problems of the same item within 50 m of a spot (``settings.
    GRIDCITY_DUPLICATE_RADIUS_M``), nearest first: offered before a citizen reports the same."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("item", str, required=True),
            OpenApiParameter("lon", float, required=True),
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("crs", str, enum=list(CRS_CHOICES)),
        ],
        responses=s.SimilarSerializer(many=True),
    )
    def get(self, request):
        query = s.SimilarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        at = Where.of(data["lon"], data["lat"], data["crs"])
        rows = cases_similar_public(item=data["item"], lon=at.lon, lat=at.lat)
        return Response(s.SimilarSerializer(rows, many=True).data)


class PublicReportCreateApi(APIView):
    """Report a problem, anonymously or signed in: multipart (with up to 5 ``photos``) or
    JSON (without). Idempotent by ``client_uuid``: the same id and body again is 200 with the
    same case; another body is a 409. 201 with the tracking number and the private link.
    After a few reports an hour from one address an anonymous report needs a captcha: the 400
    ``captcha_required`` carries a challenge (``captcha.key``, ``captcha.image_url``) to
    answer in ``captcha_key`` and ``captcha_answer``."""

    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    conflicts = True  # a retried report with another body

    @extend_schema(
        request={
            "multipart/form-data": s.ReportInputSerializer,
            "application/json": s.ReportInputSerializer,
        },
        responses={
            201: s.ReportedSerializer,
            200: s.ReportedSerializer,
            403: OpenApiResponse(
                description=_("permission_denied: a signed-in role that may not report problems")
            ),
            **REFUSED,
        },
    )
    def post(self, request):
        if request.user.is_authenticated and not policy.may_report(request.user):
            raise PermissionDenied()
        given = s.ReportInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        reported = report_submit(request, given.validated_data, via=FollowerChannel.PORTAL)
        code = status.HTTP_201_CREATED if reported.created else status.HTTP_200_OK
        return Response(s.ReportedSerializer(reported).data, status=code)


class PublicCaseFollowApi(APIView):
    """ "This is mine too": follow an open public problem instead of reporting it again; the
    follower is told of its progress and gets a private link. Following again (the same
    account or phone) returns the first link (200)."""

    permission_classes = [AllowAny]
    conflicts = True  # a case that closed meanwhile

    @extend_schema(
        request=s.FollowInputSerializer,
        responses={201: s.FollowedSerializer, 200: s.FollowedSerializer, **REFUSED},
    )
    def post(self, request, number: str):
        case = case_public(number)
        if case is None:
            raise NotFound()
        given = s.FollowInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        followed = follow_submit(request, case, given.validated_data, via=FollowerChannel.PORTAL)
        code = status.HTTP_201_CREATED if followed.created else status.HTTP_200_OK
        return Response(s.FollowedSerializer(followed).data, status=code)


urlpatterns = [
    path("items/", PublicItemListApi.as_view(), name="public-items"),
    path("similar/", PublicSimilarListApi.as_view(), name="public-similar"),
    path("reports/", PublicReportCreateApi.as_view(), name="public-reports"),
    path("cases/<str:number>/follow/", PublicCaseFollowApi.as_view(), name="public-case-follow"),
]
