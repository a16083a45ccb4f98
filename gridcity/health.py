"""GET /healthz: is each part the system needs answering? 200 if all, 503 naming the rest."""

import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from gridcity.celery import app as celery_app

TIMEOUT_S = 3.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_S)
        return conn.transport.driver_type


async def _channel_round_trip(layer) -> None:
    import asyncio

    channel = await layer.new_channel("healthz.")
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "healthz.ping", "token": token})
    message = await asyncio.wait_for(layer.receive(channel), timeout=TIMEOUT_S)
    if message.get("token") != token:
        raise RuntimeError("the channel layer returned another message")


def check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    async_to_sync(_channel_round_trip)(layer)
    return type(layer).__name__


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
}


@never_cache
@require_GET
def healthz(request):
    results, down = {}, []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            results[name] = {"ok": True, "detail": detail}
        except Exception as exc:  # a health check reports every failure, whatever its kind
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            down.append(name)
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    body = {"status": "fail" if down else "ok", "down": down, "checks": results}
    return JsonResponse(body, status=503 if down else 200)
