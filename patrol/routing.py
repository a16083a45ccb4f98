"""Websocket routes of the patrol app."""

from django.urls import path

from patrol.consumers import PatrolLiveConsumer

websocket_urlpatterns = [
    path("ws/patrol/", PatrolLiveConsumer.as_asgi(), name="ws-patrol"),
]
