"""The base of GridCity's websocket consumers."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from gridcity import jsonsafe


class StrictJsonConsumer(AsyncJsonWebsocketConsumer):
    """A JSON websocket consumer whose frames are read as the API reads bodies
    (``gridcity.jsonsafe``): a frame nested deeper than 64 levels, or holding NaN, a lone
    surrogate or a NUL, is answered with ``{"type": "error", "code": "invalid_json",
    "message": ...}``; a binary frame, or any frame while ``listening`` is false (before the
    socket is let in, after it is refused), is ignored. Neither may crash the consumer.
    ``receive_json`` gets only JSON objects."""

    @property
    def listening(self) -> bool:
        return True

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or not self.listening:
            return
        try:
            content = jsonsafe.loads(text_data)
        except jsonsafe.JSONRejected as error:
            await self.send_json({"type": "error", "code": "invalid_json", "message": str(error)})
            return
        if isinstance(content, dict):
            await self.receive_json(content, **kwargs)
