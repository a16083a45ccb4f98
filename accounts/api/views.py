"""Handheld log-in and log-out, and what a person may see of themselves and their devices."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.auth import (
    AuthToken,
    credentials_check,
    device_revoke,
    devices_of,
    token_issue,
    token_revoke,
    user_with_profile,
)
from accounts.authentication import DeviceTokenAuthentication
from accounts.selectors import me_profile


class TokenApi(APIView):
    """Log a handheld in (POST: user name, password, device → token) or out (DELETE).

    The token goes in ``Authorization: Token <token>``. It expires after a number of idle days
    (every use pushes the expiry on) and dies at once on log-out, a new log-in from the same
    device, device revocation, or when the user is disabled or changes role.
    """

    authentication_classes = [DeviceTokenAuthentication]

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def perform_authentication(self, request):
        # Logging in needs no credentials but the password: a stale token the handheld still
        # sends must not stand in its way. DELETE authenticates as usual.
        if request.method != "POST":
            super().perform_authentication(request)

    @extend_schema(
        summary="Log a handheld in: user name, password and device id give a token",
        auth=[],
        request=s.TokenCreateInputSerializer,
        responses={
            201: s.TokenOutputSerializer,
            400: OpenApiResponse(description="a field is missing or invalid"),
            401: OpenApiResponse(description="invalid_credentials"),
            429: OpenApiResponse(description="locked_out; see Retry-After"),
        },
    )
    def post(self, request):
        given = s.TokenCreateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        # LoginRefused: 401 invalid_credentials, or 429 locked_out with Retry-After.
        user = credentials_check(
            request=request, username=data["username"], password=data["password"]
        )
        issued = token_issue(
            user=user,
            device_id=data["device_id"],
            device_name=data["device_name"],
            request=request,
        )
        body = {
            "token": issued.token,
            "expires_at": issued.expires_at,
            "user": user_with_profile(user),
        }
        return Response(s.TokenOutputSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Log out: the token making this request dies", request=None, responses={204: None}
    )
    def delete(self, request):
        token_revoke(token=request.auth, by=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """Who I am: role, department, area, and the grids I answer for now (token or session)."""

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        # Built by the selector as plain data (MeSerializer documents it): /me/ is polled by
        # every handheld, and this keeps it within twice a bare authenticated view.
        return Response(me_profile(request.user))


class MyDeviceListApi(APIView):
    """My handhelds; ``current`` marks the one whose token made this request."""

    @extend_schema(responses=s.DeviceSerializer(many=True))
    def get(self, request):
        devices = devices_of(request.user)
        context = {"token": request.auth if isinstance(request.auth, AuthToken) else None}
        return Response(s.DeviceSerializer(devices, many=True, context=context).data)


class MyDeviceRevokeApi(APIView):
    """Sign one of my handhelds out at once (a lost phone). Another person's device: 404."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        device = get_object_or_404(devices_of(request.user), pk=pk)
        device_revoke(device=device, by=request.user, reason="revoked by its user", request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
