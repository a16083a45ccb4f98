"""Websocket test helpers shared by the apps' consumer tests."""

import json
from unittest import mock
from urllib.parse import unquote, urlparse

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings as django_settings
from django.test import Client

ORIGIN = (b"origin", b"http://testserver")


class WebsocketCommunicator(ApplicationCommunicator):
    """``channels.testing.WebsocketCommunicator``, the part these tests use.

    ``channels.testing`` cannot be imported without daphne (its package imports the live
    server test case), which the project does not install; with daphne as a dev dependency
    this class gives way to ``from channels.testing import WebsocketCommunicator``.
    """

    def __init__(self, application, path, headers=None, subprotocols=None):
        parsed = urlparse(path)
        scope = {
            "type": "websocket",
            "path": unquote(parsed.path),
            "query_string": parsed.query.encode(),
            "headers": headers or [],
            "subprotocols": subprotocols or [],
        }
        super().__init__(application, scope)

    # As channels' communicator: the consumer must not close the test's database connection.
    async def send_input(self, message):
        with mock.patch("channels.db.close_old_connections", lambda: None):
            return await super().send_input(message)

    async def receive_output(self, timeout=1):
        with mock.patch("channels.db.close_old_connections", lambda: None):
            return await super().receive_output(timeout)

    async def connect(self, timeout=1):
        """``(True, subprotocol)`` when accepted, ``(False, close code)`` when refused."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept"
        return True, response.get("subprotocol")

    async def send_to(self, text_data=None, bytes_data=None):
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data):
        await self.send_to(text_data=json.dumps(data))

    async def receive_json_from(self, timeout=1):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code=1000, timeout=1):
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def session_headers(user, origin=ORIGIN) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    headers = [(b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode())]
    return [*headers, origin] if origin else headers


def run(scenario):
    """Run an async test body on one event loop; sync ORM calls go through the main thread."""
    async_to_sync(scenario)()
