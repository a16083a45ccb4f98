"""The case API: report, list, read, act, photos, duplicates, tasks, notifications.

Thin views: input serializers validate, selectors decide what the caller may see (a case they
may not see is a 404), services do the work and decide what they may do (403) and what the
case's state allows (409, saying the current state).
"""

import hashlib

from django.conf import settings
from django.db.models import Max, Prefetch
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from cases import actions, photos, services
from cases.api import serializers as s
from cases.api.filters import CaseFilter
from cases.models import (
    Case,
    CaseExtension,
    CasePhoto,
    CaseTransition,
    Category,
    Item,
    Notification,
)
from cases.notify import notification_mark_read, notifications_mark_all_read
from cases.selectors import (
    as_list_rows,
    cases_visible_to,
    cases_waiting_for,
    duplicates_visible_to,
)
from gridcity import coords, db
from gridcity.api.conditional import etag_answer
from gridcity.api.fields import LatitudeField, LongitudeField
from gridcity.api.pagination import CursorPagination
from gridcity.api.parsers import FormParser, MultiPartParser


class CasePagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200


def _case_detail(request, case):
    context = {"request": request, **s.contact_context(request.user, case)}
    return s.CaseDetailSerializer(case, context=context).data


def _visible_case(request, number: str):
    return get_object_or_404(cases_visible_to(request.user), number=number)


def _case_whole(case_pk: int):
    return (
        Case.objects.select_related(
            "item", "grid", "community", "street", "department", "assignee", "verifier", "master"
        )
        .prefetch_related(
            Prefetch("timeline", CaseTransition.objects.select_related("actor")),
            Prefetch("photos", CasePhoto.objects.order_by("uploaded_at", "id")),
            Prefetch("extensions", CaseExtension.objects.order_by("requested_at")),
            "followers",
        )
        .get(pk=case_pk)
    )


class CaseListCreateApi(ListAPIView):
    """GET: the cases the caller may see, newest first. POST: report a case (idempotent)."""

    conflicts = True  # a retried report with another body is a 409

    serializer_class = s.CaseListSerializer
    pagination_class = CasePagination
    filterset_class = CaseFilter

    def get_queryset(self):
        return as_list_rows(cases_visible_to(self.request.user))

    @extend_schema(
        request=s.CaseCreateInputSerializer,
        responses={201: s.CaseCreatedSerializer, 200: s.CaseCreatedSerializer},
    )
    def post(self, request):
        if not policy.may_report(request.user):
            raise exceptions.PermissionDenied()
        given = s.CaseCreateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        digest = services.request_digest(
            {k: (v.code if k == "item" else v) for k, v in data.items() if k != "client_uuid"}
        )
        reported = services.case_report(
            by=request.user,
            item=data["item"],
            lon=data["lon"],
            lat=data["lat"],
            crs=data["crs"],
            description=data["description"],
            address=data["address"],
            client_uuid=data["client_uuid"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            digest=digest,
        )
        code = status.HTTP_201_CREATED if reported.created else status.HTTP_200_OK
        body = _case_detail(request, _case_whole(reported.case.pk))
        # Offered to whoever reported it: the same problem may already be open nearby. Only
        # cases the reporter may open are named; the others are only counted.
        visible, hidden = duplicates_visible_to(
            request.user,
            item=reported.case.item,
            point=reported.case.point,
            radius_m=settings.GRIDCITY_DUPLICATE_RADIUS_M,
            exclude=reported.case,
        )
        body["possible_duplicates"] = list(visible.values_list("number", flat=True))
        body["possible_duplicates_hidden"] = hidden
        return Response(body, status=code)


class CaseDetailApi(APIView):
    """One case with its deadlines, timeline and photos."""

    @extend_schema(responses=s.CaseDetailSerializer)
    def get(self, request, number: str):
        case = _visible_case(request, number)
        return Response(_case_detail(request, _case_whole(case.pk)))


# action → (input serializer, call(case, by, data)): the workflow's one table (cases.actions).
ACTIONS = {name: (a.input, a.call) for name, a in actions.ACTIONS.items()}


class CaseActionApi(APIView):
    """A step of the workflow: 200 with the case; 403 for a role that may not; 409 for a
    state that does not allow it (the body says the current state)."""

    action_name = ""
    conflicts = True

    def get_serializer_class(self):  # for the schema
        return ACTIONS[self.action_name][0]

    @extend_schema(responses=s.CaseDetailSerializer)
    def post(self, request, number: str):
        case = _visible_case(request, number)
        input_class, call = ACTIONS[self.action_name]
        given = input_class(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            changed = db.write_retrying(lambda: call(case, request.user, given.validated_data))
        except db.DatabaseBusy:
            # SQLite stayed locked by other writers: nothing was written; say where it stands.
            current = Case.objects.get(pk=case.pk)
            raise services.CaseConflict(
                current, _("The case is being changed by someone else; try again."), code="busy"
            ) from None
        return Response(_case_detail(request, _case_whole(changed.pk)))


class CasePhotoApi(APIView):
    """Upload a photo (multipart: ``file``, ``stage``, ``client_id``). Idempotent by client_id.

    A body larger than a photo may be is refused unread (gridcity.middleware); the file part,
    which Django streams to a temporary file, is measured before it is read, and a photo over
    GRIDCITY_PHOTO_MAX_BYTES is a 413 naming ``file``."""

    parser_classes = [MultiPartParser, FormParser]
    conflicts = True  # a retried upload with another file is a 409

    @extend_schema(request=s.PhotoInputSerializer, responses={201: s.PhotoSerializer})
    def post(self, request, number: str):
        case = _visible_case(request, number)
        given = s.PhotoInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        content = photos.photo_read(data["file"])  # PhotoRejected: 413 naming ``file``
        added = services.case_photo_add(
            case=case,
            by=request.user,
            data=content,
            stage=data["stage"],
            client_id=data.get("client_id"),
        )
        code = status.HTTP_201_CREATED if added.created else status.HTTP_200_OK
        return Response(s.PhotoSerializer(added.photo, context={"request": request}).data, code)


class CasePhotoFileApi(APIView):
    """A photo's display copy or thumbnail, to whoever may see the case (never the original)."""

    @extend_schema(
        responses={(200, "image/jpeg"): bytes},
        parameters=[
            OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH),
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=["display", "thumbnail"]),
        ],
    )
    def get(self, request, number: str, pk: int, kind: str):
        case = _visible_case(request, number)
        photo = get_object_or_404(CasePhoto.objects.filter(case=case), pk=pk)
        field = photo.display if kind == "display" else photo.thumbnail
        if not field:
            raise exceptions.NotFound(_("This photo is still being processed."))
        # A neutral name: the stored one holds a digest of the original.
        response = FileResponse(
            field.open("rb"), content_type="image/jpeg", filename=f"{case.number}-{photo.pk}.jpg"
        )
        response["Cache-Control"] = "private, max-age=86400"
        return response


class CaseDuplicatesApi(APIView):
    """Open cases of the same item near a point: offered before reporting it again."""

    @extend_schema(
        parameters=[
            OpenApiParameter("item", str, required=True),
            OpenApiParameter("lon", float, required=True),
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("crs", str, enum=list(coords.CRS_CHOICES)),
        ],
        responses=s.CaseListSerializer(many=True),
    )
    def get(self, request):
        given = _DuplicateQuery(data=request.query_params)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        visible, _hidden = duplicates_visible_to(
            request.user,
            item=data["item"],
            point=services.Where.of(data["lon"], data["lat"], data["crs"]).point(),
            radius_m=settings.GRIDCITY_DUPLICATE_RADIUS_M,
        )
        return Response(s.CaseListSerializer(as_list_rows(visible), many=True).data)


class _DuplicateQuery(s.serializers.Serializer):
    item = s.serializers.SlugRelatedField(slug_field="code", queryset=Item.objects.all())
    lon = LongitudeField()
    lat = LatitudeField()
    crs = s.serializers.ChoiceField(choices=coords.CRS_CHOICES, default="wgs84")


class MyTasksApi(ListAPIView):
    """我的待办: what waits for the caller's hand now."""

    serializer_class = s.CaseListSerializer
    pagination_class = CasePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        return as_list_rows(cases_waiting_for(self.request.user))


class CategoriesApi(APIView):
    """The taxonomy with time limits, for handhelds to cache offline (ETag, 304). Public: the
    citizens' portal and Open311 clients choose from it too."""

    permission_classes = [AllowAny]

    @extend_schema(responses=s.CategorySerializer(many=True))
    def get(self, request):
        stamp = Item.objects.aggregate(n=Max("id"), at=Max("updated_at"))
        count = Item.objects.count()
        version = repr((stamp, count, request.LANGUAGE_CODE)).encode()
        etag = f'"{hashlib.sha1(version).hexdigest()[:20]}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if (answer := etag_answer(request, etag=etag, headers=headers)) is not None:
            return answer
        categories = Category.objects.prefetch_related(
            Prefetch(
                "items",
                Item.objects.filter(active=True).select_related("department"),
                to_attr="active_items",
            )
        )
        return Response(s.CategorySerializer(categories, many=True).data, headers=headers)


class NotificationListApi(ListAPIView):
    """My inbox, newest first; ``?unread=1`` for the unread only."""

    serializer_class = s.NotificationSerializer
    pagination_class = CasePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        rows = Notification.objects.filter(user=self.request.user).select_related("case")
        if self.request.query_params.get("unread") in ("1", "true"):
            rows = rows.filter(read_at__isnull=True)
        return rows


class NotificationReadApi(APIView):
    """Mark one of my notifications read (idempotent); another person's: 404."""

    @extend_schema(request=None, responses=s.NotificationSerializer)
    def post(self, request, pk: int):
        if notification_mark_read(user_id=request.user.pk, notification_id=pk) is None:
            raise exceptions.NotFound()
        row = Notification.objects.select_related("case").get(pk=pk)
        return Response(s.NotificationSerializer(row).data)


class NotificationReadAllApi(APIView):
    """Mark all my notifications read."""

    @extend_schema(request=None, responses={200: None})
    def post(self, request):
        return Response({"marked": notifications_mark_all_read(user_id=request.user.pk)})
