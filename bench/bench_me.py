"""GET /api/v1/me/ against a bare token-authenticated DRF view, same token, same run.

Both are called through the URL resolver's view function with a RequestFactory request that
carries ``Authorization: Token …``, so both pay for knox's token check and nothing else in
common differs. Target: /me/ takes no more than twice the bare view, on PostGIS (production's
database: ``DATABASE_URL=postgis://… bench/run.py me``); the line names the database it ran on.
"""

from django.db import connection
from django.test import RequestFactory
from django.urls import resolve
from knox.models import get_token_model
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from bench.common import best_of_interleaved, line

N = 2_000


class BareApi(APIView):
    """The floor: authenticate the token, answer the user name."""

    def get(self, request):
        return Response({"username": request.user.username})


def run():
    supervisor = User.objects.get(username="supervisor-440306001")
    inspector = User.objects.filter(username__startswith="inspector-").order_by("username").first()
    for label, user in (("supervisor", supervisor), ("inspector", inspector)):
        yield from measure(label, user)


def measure(label: str, user: User):
    _instance, token = get_token_model().objects.create(user=user, expiry=None)
    factory = RequestFactory()
    me = resolve("/api/v1/me/").func
    bare = BareApi.as_view()

    def call(view):
        def go():
            for _ in range(N):
                response = view(factory.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}"))
                assert response.status_code == 200, response.status_code
                response.render()

        return go

    try:
        me_s, bare_s = best_of_interleaved([call(me), call(bare)])
    finally:
        _instance.delete()
    ratio = me_s / bare_s
    yield line(
        f"GET /api/v1/me/ ({label}, {connection.vendor})",
        f"{me_s / N * 1e3:.2f} ms",
        f"bare token-authenticated view {bare_s / N * 1e3:.2f} ms",
        ratio,
        "OK" if ratio <= 2 else "ABOVE TARGET (≤ 2 × baseline)",
    )
