from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from dashboard import groups
from dashboard.params import int_param
from dashboard.roles import perm


@database_sync_to_async
def _codenames(user: Any) -> frozenset[str]:
    return frozenset(p.split(".", 1)[1] for p in user.get_all_permissions() if p.startswith("dashboard."))


@database_sync_to_async
def _watchable_groups(user: Any, query: dict[str, list[str]]) -> list[str] | None:
    """Groups a page asks to watch (``?campaign=<id>``), or None if one is not allowed."""
    extra: list[str] = []
    if query.get("calls"):
        if user.has_perm(perm("view_all_calls")):
            from dashboard.models import ProviderAccount

            ids = ProviderAccount.objects.exclude(kind=ProviderAccount.Kind.JAICP).values_list("pk", flat=True)
            extra += [groups.calls_account_group(pk) for pk in ids]
        elif user.has_perm(perm("control_own_calls")):
            extra.append(groups.calls_agent_group(user.pk))
        else:
            return None
    for raw in query.get("campaign", []):
        campaign_id = int_param(raw)
        if campaign_id is None or not user.has_perm(perm("view_campaigns")):
            return None
        extra.append(groups.campaign_group(campaign_id))
    return extra


class LiveConsumer(AsyncWebsocketConsumer):
    """The page's one WebSocket. It sends HTML fragments that htmx swaps out of band;
    the first one turns the connection indicator to connected, which proves the server
    end is really there, not just an open socket."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        extra = await _watchable_groups(user, query)
        if extra is None:
            await self.close(code=4403)
            return
        self.joined = [groups.ANNOUNCEMENTS, groups.user_group(user.pk), *extra]
        self.codenames = await _codenames(user)
        for name in self.joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()
        await self.send(text_data=render_to_string("partials/ws_status.html", {"state": "connected", "oob": True}))

    async def disconnect(self, code: int) -> None:
        sender = getattr(self, "_sender", None)
        if sender is not None:
            sender.cancel()
        for name in getattr(self, "joined", []):
            await self.channel_layer.group_discard(name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Control actions go through HTTP (CSRF, permissions, audit); the socket only
        # carries state to the browser, so anything a client sends is ignored.
        return

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels awaits aclose_old_connections() (a thread hop) before every handler;
        # a push never touches the database, so it skips that hop (PERFORMANCE-NOTES, 2).
        if message.get("type") == "html.push":
            self.html_push(message)
            return
        await super().dispatch(message)

    # --- Sending: newest fragment of each key, one frame at a time ------------------------
    #
    # A push does not wait for the socket: its fragments go into this socket's pending
    # map, keyed by what they replace on the page (a call's card), and one sender task
    # writes whatever is pending as one frame, then the next. While a frame is on its way
    # (a slow browser, a busy server) newer fragments replace older ones of the same key,
    # so a socket that is behind skips intermediate states of a call but never its
    # latest, and what waits is bounded by what the page shows, not by time.

    def html_push(self, event: dict[str, Any]) -> None:
        parts = event.get("parts") or [[None, event.get("html", "")]]
        for codename, variant in event.get("variants", {}).items():
            if codename in self.codenames:
                parts = variant
                break
        pending = self.__dict__.setdefault("_pending", {})
        for key, html in parts:
            if key is None:
                self._unkeyed = getattr(self, "_unkeyed", 0) + 1
                key = f"~{self._unkeyed}"
            else:
                pending.pop(key, None)  # the newer one goes where the page will see it last
            pending[key] = html
        at = event.get("at") or time.time()
        self._oldest = min(getattr(self, "_oldest", None) or at, at)
        if len(pending) > MAX_PENDING:  # more than any page holds: start the page over
            pending.clear()
            pending["~resync"] = RESYNC_HTML
        sender = getattr(self, "_sender", None)
        if sender is None or sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_pending())

    async def _send_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            wait = getattr(self, "_last_frame", 0.0) + MIN_FRAME_GAP - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # a short tick: a burst becomes one frame
            parts, oldest = self._pending, self._oldest
            self._pending, self._oldest = {}, None
            self._last_frame = loop.time()
            lag = max(0.0, time.time() - oldest) if oldest else 0.0
            await self.send(text_data="\n".join(parts.values()) + LAG_HTML.format(lag=lag))


MAX_PENDING = 5000
MIN_FRAME_GAP = 0.02  # seconds between two frames of one socket
# How long the newest frame's oldest fragment waited on the server: the page says
# "behind by N s" when it grows (static/js/app.js).
LAG_HTML = '\n<span id="live-lag" hx-swap-oob="true" data-lag="{lag:.2f}" hidden></span>'
RESYNC_HTML = '<span id="live-lag" hx-swap-oob="true" data-lag="0" data-resync="1" hidden></span>'
