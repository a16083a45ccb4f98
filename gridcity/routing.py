"""Websocket routes of every app, gathered in one list for the ASGI router."""

from cases.routing import websocket_urlpatterns as cases_websocket_urlpatterns
from patrol.routing import websocket_urlpatterns as patrol_websocket_urlpatterns

websocket_urlpatterns: list = [*cases_websocket_urlpatterns, *patrol_websocket_urlpatterns]
