"""/api/v1/hotline/: the city-level 12345 platform hands its tickets (工单) to the district.

``POST /api/v1/hotline/tickets/`` takes one ticket with its platform number (工单号):
idempotent by that number (the same number and body again: the first answer, 200; the same
number with another body: 409 ``client_uuid_reused``). The platform authenticates as an
account of the hotline with a device token (``Authorization: Token …``, issued by
``manage.py hotline_platform_token``; revoked like any handheld's); a session counts for
nothing here. The answers go back through the outside channel (``portal.platform``).
"""

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from accounts.authentication import DeviceTokenAuthentication
from cases.models import FollowerChannel, Item, RequestType
from gridcity import coords, db
from portal.services import call_take, platform_ticket_digest


class SendsPlatformTickets(BasePermission):
    message = _("This account may not send 12345 tickets.")

    def has_permission(self, request, view) -> bool:
        return policy.may_send_platform_tickets(request.user)


class TicketInputSerializer(serializers.Serializer):
    ticket_number = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$",
        help_text="工单号: the platform's ticket number, unique on the platform (at most 40).",
    )
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    item = serializers.SlugRelatedField(
        slug_field="code", queryset=Item.objects.filter(active=True)
    )
    description = serializers.CharField(max_length=2000)
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=coords.CRS_CHOICES, default="wgs84")
    grid = serializers.CharField(max_length=15, required=False, default="", allow_blank=True)
    caller_phone = serializers.CharField(
        max_length=32, required=False, default="", allow_blank=True
    )
    caller_name = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)

    def validate(self, data):
        has_point = data.get("lon") is not None and data.get("lat") is not None
        if not has_point and not data.get("grid"):
            raise serializers.ValidationError({"lon": _("Give lon and lat, or a work grid code.")})
        return data


class TicketSerializer(serializers.Serializer):
    ticket_number = serializers.CharField(source="external_number")
    case = serializers.CharField(source="number")
    status = serializers.CharField()
    request_type = serializers.CharField()
    reply_due = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class HotlineTicketCreateApi(APIView):
    """A ticket of the city's 12345 platform becomes a case of the district (source hotline),
    its caller the case's reporter (told of its progress through the platform)."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [SendsPlatformTickets]
    conflicts = True  # the same ticket number with another body

    @extend_schema(
        request=TicketInputSerializer, responses={201: TicketSerializer, 200: TicketSerializer}
    )
    def post(self, request):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        given = TicketInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        body = {k: (v.code if k == "item" else v) for k, v in data.items()}
        call = db.write_retrying(
            lambda: call_take(
                by=request.user,
                phone=data["caller_phone"],
                name=data["caller_name"],
                request_type=data["request_type"],
                item=data["item"],
                description=data["description"],
                address=data["address"],
                lon=data.get("lon"),
                lat=data.get("lat"),
                crs=data["crs"],
                grid_code=data["grid"],
                external_number=data["ticket_number"],
                digest=platform_ticket_digest(body),
                via=FollowerChannel.PLATFORM,
            )
        )
        code = status.HTTP_201_CREATED if call.created else status.HTTP_200_OK
        return Response(TicketSerializer(call.case).data, status=code)


urlpatterns = [
    path("tickets/", HotlineTicketCreateApi.as_view(), name="hotline-tickets"),
]
