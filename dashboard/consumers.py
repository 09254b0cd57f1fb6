from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from dashboard import groups


class LiveConsumer(AsyncWebsocketConsumer):
    """The page's one WebSocket. It sends HTML fragments that htmx swaps out of band;
    the first one turns the connection indicator to connected, which proves the server
    end is really there, not just an open socket."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.joined = [groups.ANNOUNCEMENTS, groups.user_group(user.pk)]
        for name in self.joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()
        await self.send(text_data=render_to_string("partials/ws_status.html", {"state": "connected"}))

    async def disconnect(self, code: int) -> None:
        for name in getattr(self, "joined", []):
            await self.channel_layer.group_discard(name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Control actions go through HTTP (CSRF, permissions, audit); the socket only
        # carries state to the browser, so anything a client sends is ignored.
        return

    async def html_push(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])
