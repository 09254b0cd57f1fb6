"""The ASGI entry point: HTTP to Django (and, in the default run, /sandbox to the
embedded provider sandbox), WebSockets to Channels with session auth."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

from django.core.asgi import get_asgi_application

django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dashboard.routing import websocket_urlpatterns  # noqa: E402

SANDBOX_PREFIX = "/sandbox"


class HttpDispatcher:
    """Sends /sandbox/... to the sandbox, which answers as the providers do and must not
    pass through Django's login, CSRF and session middleware, and provider webhooks
    (/hooks/<account>/) straight to their receiver (livecalls/receiver.py says why)."""

    def __init__(self, django_app: Any) -> None:
        self.django_app = django_app
        self._sandbox: Any = None

    @property
    def sandbox(self) -> Any:
        if self._sandbox is None:
            from dashboard.sandbox.embedded import get_embedded_sandbox

            self._sandbox = get_embedded_sandbox()
        return self._sandbox

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if settings.SANDBOX_EMBEDDED and (path == SANDBOX_PREFIX or path.startswith(SANDBOX_PREFIX + "/")):
            await self.sandbox(scope, receive, send)
            return
        if path.startswith("/hooks/"):
            from livecalls.receiver import WEBHOOK_PATH, asgi_webhook

            hook = WEBHOOK_PATH.match(path)
            if hook is not None:
                await asgi_webhook(scope, receive, send, int(hook.group(1)))
                return
        await self.django_app(scope, receive, send)


http_app: Any = django_http
if getattr(settings, "SERVE_STATIC", True):
    http_app = ASGIStaticFilesHandler(http_app)

class Lifespan:
    """Starts and stops what lives beside the server: the embedded sandbox's clock."""

    def __init__(self, app: Any, dispatcher: HttpDispatcher) -> None:
        self.app = app
        self.dispatcher = dispatcher

    async def _start_sandbox(self) -> None:
        from asgiref.sync import sync_to_async

        from dashboard.sandbox.embedded import embedded_webhook_targets

        sandbox = self.dispatcher.sandbox
        try:
            targets = await sync_to_async(embedded_webhook_targets)()
        except Exception:  # no tables yet (before migrate): start without targets
            logging.getLogger(__name__).warning("sandbox webhook targets not loaded", exc_info=True)
            targets = {}
        for provider, provider_targets in targets.items():
            if provider in sandbox.twins:
                sandbox.notifier.set_targets(provider, provider_targets)
        sandbox.start()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                from dashboard.broadcast import set_server_loop

                set_server_loop(asyncio.get_running_loop())
                if settings.SANDBOX_EMBEDDED:
                    await self._start_sandbox()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                from dashboard.broadcast import set_server_loop

                set_server_loop(None)
                if settings.SANDBOX_EMBEDDED:
                    await self.dispatcher.sandbox.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


_dispatcher = HttpDispatcher(http_app)
application = Lifespan(
    ProtocolTypeRouter(
        {
            "http": _dispatcher,
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    ),
    _dispatcher,
)
