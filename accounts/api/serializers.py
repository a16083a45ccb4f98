"""Input and output of the log-in, token and "me" endpoints."""

from rest_framework import serializers

from accounts.models import Device, User


def display_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


class TokenCreateInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )
    device_id = serializers.CharField(
        max_length=128, help_text="A stable id of the handheld (e.g. its Android ID)."
    )
    device_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="e.g. its model"
    )


class LoginUserSerializer(serializers.Serializer):
    """The user as the handheld needs it right after log-in. Needs ``user_with_profile``."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()
    role = serializers.CharField()
    department = serializers.CharField(source="department.code", default=None, allow_null=True)
    grids = serializers.SerializerMethodField()

    def get_name(self, user: User) -> str:
        return display_name(user)

    def get_grids(self, user: User) -> list[str]:
        return [a.grid.code for a in user.current_assignments]


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expires_at = serializers.DateTimeField(
        help_text="Moves forward on every use: the token expires after this long unused."
    )
    user = LoginUserSerializer()


class DepartmentBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class AssignedGridSerializer(serializers.Serializer):
    code = serializers.CharField(source="grid.code")
    name = serializers.CharField(source="grid.name")
    kind = serializers.CharField()


class MeSerializer(serializers.Serializer):
    """Who the caller is, what role, where they answer for. Needs ``user_with_profile``."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    department = DepartmentBriefSerializer(allow_null=True)
    street = serializers.CharField(source="street.code", default=None, allow_null=True)
    district = serializers.CharField(source="district.code", default=None, allow_null=True)
    grids = AssignedGridSerializer(source="current_assignments", many=True)

    def get_name(self, user: User) -> str:
        return display_name(user)


class DeviceSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(
        help_text="Whether this is the device whose token made the request."
    )

    class Meta:
        model = Device
        fields = [
            "id",
            "device_id",
            "name",
            "created_at",
            "last_login_at",
            "revoked_at",
            "revoked_reason",
            "current",
        ]

    def get_current(self, device: Device) -> bool:
        token = self.context.get("token")
        return token is not None and device.token_id == token.pk
