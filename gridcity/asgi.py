"""ASGI entry point: HTTP and websockets in one process (uvicorn or daphne).

Websockets are authenticated by a handheld's knox token when one is presented, otherwise by the
browser's session behind the Origin check (``accounts.ws`` says why a token skips it).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcity.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.ws import WebsocketAuthStack  # noqa: E402
from gridcity.middleware import BodyLimitASGIMiddleware  # noqa: E402
from gridcity.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Outside Django: its ASGI handler reads a whole body before any middleware runs.
        "http": BodyLimitASGIMiddleware(django_asgi_app),
        "websocket": WebsocketAuthStack(URLRouter(websocket_urlpatterns)),
    }
)
