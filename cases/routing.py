"""Websocket routes of the cases app."""

from django.urls import path

from cases.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi(), name="ws-notifications"),
]
