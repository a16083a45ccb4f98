"""Input and output of the portal's public API (and of its pages' forms, which validate the
same way)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.models import Item, RequestType
from cases.services import phone_normalised
from gridcity.api.fields import LatitudeField, LongitudeField
from gridcity.coords import CRS_CHOICES
from portal.selectors import item_public_name
from portal.services import REPORT_PHOTOS_MAX, REPORT_REQUEST_TYPE_CHOICES

PHONE_DIGITS = (7, 15)  # a landline without its area code to an international number


class _ContactInput(serializers.Serializer):
    name = serializers.CharField(max_length=50, allow_blank=True, default="")
    phone = serializers.CharField(
        max_length=32,
        allow_blank=True,
        default="",
        help_text=_("Seen by the hotline and the administrators only."),
    )
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    captcha_key = serializers.CharField(max_length=64, allow_blank=True, default="")
    captcha_answer = serializers.CharField(max_length=32, allow_blank=True, default="")

    def validate_phone(self, value: str) -> str:
        digits = phone_normalised(value)
        if value.strip() and not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
            raise serializers.ValidationError(_("Not a phone number."))
        return value.strip()


class ReportInputSerializer(_ContactInput):
    """A citizen's report: where (a point, and the address in words), what (an item offered
    to citizens, a description, photos), and, if they like, who (name, phone, e-mail)."""

    client_uuid = serializers.UUIDField(
        help_text=_("Made by the client once per report; the same id again is the same case.")
    )
    item = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Item.objects.filter(active=True, citizen_reportable=True),
        help_text=_("An item's code, from /api/v1/public/items/."),
    )
    lon = LongitudeField()
    lat = LatitudeField()
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    address = serializers.CharField(max_length=200, allow_blank=True, default="")
    description = serializers.CharField(max_length=2000)
    request_type = serializers.ChoiceField(
        choices=REPORT_REQUEST_TYPE_CHOICES,
        default=RequestType.COMPLAINT.value,
    )
    photos = serializers.ListField(
        child=serializers.FileField(),
        max_length=REPORT_PHOTOS_MAX,
        required=False,
        default=list,
        help_text=_("Up to 5 photos (multipart): JPEG, PNG or WebP."),
    )


class FollowInputSerializer(_ContactInput):
    """ "This is mine too": follow a public problem instead of reporting it again."""


def track_url(token: str) -> str:
    return reverse("portal-track", args=[token])


class ReportedSerializer(serializers.Serializer):
    """What the reporter gets back: the tracking number and their private link."""

    number = serializers.CharField(source="case.number", help_text=_("The tracking number."))
    status = serializers.CharField(source="case.status")
    held = serializers.BooleanField(
        source="case.held", help_text=_("Held for a person to read before it goes further.")
    )
    token = serializers.CharField(source="follower.token", help_text=_("The private link's key."))
    track_url = serializers.SerializerMethodField()

    def get_track_url(self, reported) -> str:
        return track_url(reported.follower.token)


class FollowedSerializer(serializers.Serializer):
    number = serializers.CharField(source="follower.case.number")
    created = serializers.BooleanField()
    token = serializers.CharField(source="follower.token")
    track_url = serializers.SerializerMethodField()

    def get_track_url(self, followed) -> str:
        return track_url(followed.follower.token)


class PublicItemSerializer(serializers.ModelSerializer):
    """An item as a citizen picks it: its citizen-facing name in the asked language."""

    name = serializers.SerializerMethodField()
    category = serializers.CharField(source="category.code")
    category_name = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = ["code", "name", "category", "category_name"]

    def get_name(self, item) -> str:
        return item_public_name(item)

    def get_category_name(self, item) -> str:
        from django.utils import translation

        category = item.category
        if (translation.get_language() or "").startswith("en") and category.name_en:
            return category.name_en
        return category.name


class ItemQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=50, allow_blank=True, default="")


class SimilarQuerySerializer(serializers.Serializer):
    item = serializers.SlugRelatedField(
        slug_field="code", queryset=Item.objects.filter(active=True, citizen_reportable=True)
    )
    lon = LongitudeField()
    lat = LatitudeField()
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")


class SimilarSerializer(serializers.Serializer):
    """An open public problem nearby: no names, no contacts, the description as the public
    may read it."""

    number = serializers.CharField()
    item = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    address = serializers.CharField()
    description = serializers.CharField()
    moderated = serializers.BooleanField()
    reported_at = serializers.DateTimeField()
    distance_m = serializers.FloatField()
