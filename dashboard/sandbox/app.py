"""The sandbox: one ASGI app serving the three provider twins and the control endpoints.

Mounted under ``/sandbox`` by the dashboard's ASGI router in the default run, and served
alone by ``manage.py runsandbox``. The world lives in this process's memory; the
simulation advances lazily on every request and, on wall time, from a background ticker
that also delivers webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
from typing import Any, ClassVar

import httpx

from .faults import DroppedResponse, Faults, quiet_dropped_in_server_log
from .http import (
    Request,
    Response,
    Router,
    json_response,
    read_request,
    send_cut_response,
    send_response,
    text_response,
)
from .notify import Notifier, WebhookTarget
from .sim import Clock, ManualClock, Simulation, SubscriberProfile, subscriber_profile

__all__ = ["TWIN_CLASSES", "ProviderTwin", "SandboxApp"]

logger = logging.getLogger(__name__)

# provider name -> "module:Class" of its twin, beside its client.
TWIN_CLASSES = {
    "jaicp": "dashboard.providers.jaicp.sandbox:JaicpSandbox",
    "callgear": "dashboard.providers.callgear.sandbox:CallGearSandbox",
    "ccai": "dashboard.providers.ccai.sandbox:CcaiSandbox",
}


class ProviderTwin:
    """Base of one provider's simulator. Subclasses register routes under ``/<name>/``."""

    name: ClassVar[str] = ""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.reset()

    @property
    def sim(self) -> Simulation:
        return self.app.sim

    @property
    def notifier(self) -> Notifier:
        return self.app.notifier

    def subscriber(self, phone: str) -> SubscriberProfile:
        return subscriber_profile(phone, seed=self.sim.seed)

    def mount(self, router: Router) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Rebuild this provider's world from the seed."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def ledger(self) -> Any:
        raise NotImplementedError

    def rate_limited(self, request: Request) -> Response:
        """The provider's own answer when its rate limit is hit."""
        return json_response({"message": "Too Many Requests"}, status=429)

    def server_error(self, request: Request) -> Response:
        return text_response("Service Unavailable", status=503)


class SandboxApp:
    def __init__(
        self,
        *,
        prefix: str = "",
        seed: int = 1,
        scale: float = 1.0,
        clock: Clock | None = None,
        notify_transport: httpx.AsyncBaseTransport | None = None,
        providers: tuple[str, ...] = ("jaicp", "callgear", "ccai"),
        ticker: bool | None = None,
        tick_interval: float = 0.1,
        demo_traffic: bool = False,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self.sim = Simulation(clock=clock, seed=seed, scale=scale)
        self.faults = Faults()
        self.notifier = Notifier(self.sim, self.faults, transport=notify_transport)
        # A manual clock only moves when a test says so: no background ticking then.
        self.ticker_enabled = (not isinstance(self.sim.clock, ManualClock)) if ticker is None else ticker
        self.tick_interval = tick_interval
        self._ticker: asyncio.Task[None] | None = None
        self.router = Router()
        self.twins: dict[str, ProviderTwin] = {}
        for name in providers:
            module_name, _, cls_name = TWIN_CLASSES[name].partition(":")
            cls = getattr(importlib.import_module(module_name), cls_name)
            twin = cls(self)
            twin.mount(self.router)
            self.twins[name] = twin
        self._mount_control()
        self.traffic = None
        if demo_traffic:
            from .traffic import DemoTraffic

            self.traffic = DemoTraffic(self)

    # --- the world --------------------------------------------------------------

    def twin(self, name: str) -> Any:
        return self.twins[name]

    def advance(self, seconds: float) -> int:
        """Move a manual clock forward and run what fell due (tests)."""
        return self.sim.advance(seconds)

    async def tick(self) -> None:
        self.sim.run_due()
        if self.traffic is not None:
            self.traffic.step()
        await self.notifier.flush()

    async def settle(self, seconds: float = 0.0, *, step: float = 1.0) -> None:
        """Tests: advance a manual clock in steps, delivering webhooks as they fall due."""
        remaining = seconds
        while True:
            await self.notifier.flush()
            if remaining <= 0:
                break
            delta = min(step, remaining)
            self.sim.advance(delta)
            remaining -= delta
        await self.notifier.flush()

    def reset(self) -> None:
        self.sim.reset()
        self.faults.clear()
        self.notifier.reset()
        for twin in self.twins.values():
            twin.reset()

    def start(self) -> None:
        """Start the background clock (inside a running event loop)."""
        self._ensure_ticker()

    def _ensure_ticker(self) -> None:
        if not self.ticker_enabled or (self._ticker is not None and not self._ticker.done()):
            return
        self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the world must keep moving whatever one event did
                logger.exception("sandbox tick failed")
            await asyncio.sleep(self.tick_interval)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.notifier.aclose()

    # --- ASGI -------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        self._ensure_ticker()
        self.sim.run_due()
        request = await read_request(scope, receive, self.prefix)
        response, drop = await self.handle(request)
        if not drop:
            await send_response(send, response)
            return
        # The work is committed and the answer is lost on the way back: started, cut
        # halfway, then the connection closed by the server because the app raised.
        await send_cut_response(send, response)
        quiet_dropped_in_server_log()
        logger.info("sandbox fault: answer to %s %s cut after commit (drop_rate)", request.method, request.path)
        raise DroppedResponse("sandbox fault: response dropped after commit")

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._ensure_ticker()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, request: Request) -> tuple[Response, bool]:
        handler, params, path_exists = self.router.match(request.method, request.path)
        if handler is None:
            status = 405 if path_exists else 404
            return json_response({"error": "Method Not Allowed" if path_exists else "Not Found",
                                  "path": request.path}, status=status), False
        request.path_params = params
        control = request.path.startswith("/_sandbox/")
        twin = None if control else self.twins.get(request.path.split("/")[1])
        if twin is not None:
            if self.faults.latency_ms:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            if self.faults.roll("timeout_rate"):
                await asyncio.sleep(self.faults.timeout_seconds)
            if self.faults.roll("error_rate"):
                return twin.server_error(request), False
            if self.faults.roll("rate_limit_rate"):
                return twin.rate_limited(request), False
        response = await handler(request)
        drop = twin is not None and response.committed and self.faults.roll("drop_rate")
        return response, drop

    # --- control endpoints ------------------------------------------------------

    def _mount_control(self) -> None:
        r = self.router
        r.add("GET", "/_sandbox/state", self._state)
        r.add("GET", "/_sandbox/ledger", self._ledger)
        r.add("GET", "/_sandbox/faults", self._faults_get)
        r.add("POST", "/_sandbox/faults", self._faults_post)
        r.add("POST", "/_sandbox/reset", self._reset)
        r.add("GET", "/_sandbox/webhooks", self._webhooks_get)
        r.add("POST", "/_sandbox/webhooks", self._webhooks_post)
        r.add("POST", "/_sandbox/advance", self._advance)

    async def _state(self, request: Request) -> Response:
        state = {name: twin.state() for name, twin in self.twins.items()}
        state["clock"] = {"now": self.sim.clock.now(), "scale": self.sim.scale, "seed": self.sim.seed}
        return json_response(state)

    async def _ledger(self, request: Request) -> Response:
        return json_response({name: twin.ledger() for name, twin in self.twins.items()})

    async def _faults_get(self, request: Request) -> Response:
        return json_response(self.faults.as_dict())

    async def _faults_post(self, request: Request) -> Response:
        try:
            data = request.json()
        except (ValueError, UnicodeDecodeError):
            return json_response({"errors": ["body must be a JSON object"]}, status=400)
        if not isinstance(data, dict):
            return json_response({"errors": ["body must be a JSON object"]}, status=400)
        if data.get("clear"):
            self.faults.clear()
            data = {k: v for k, v in data.items() if k != "clear"}
        problems = self.faults.update(data)
        if problems:
            return json_response({"errors": problems}, status=400)
        return json_response(self.faults.as_dict())

    async def _reset(self, request: Request) -> Response:
        self.reset()
        return json_response({"reset": True})

    async def _webhooks_get(self, request: Request) -> Response:
        return json_response({
            "targets": {p: [t.as_dict() for t in ts] for p, ts in self.notifier.targets.items()},
            "pending": self.notifier.pending(),
            "delivered": list(self.notifier.delivered)[-50:],
            "failed": list(self.notifier.failed)[-50:],
        })

    async def _webhooks_post(self, request: Request) -> Response:
        """Body: {"provider": "callgear", "targets": [{"url": ..., "headers": {...}}]}"""
        try:
            data = request.json()
            provider = data["provider"]
            targets = [WebhookTarget(url=str(t["url"]), headers={str(k): str(v) for k, v in (t.get("headers") or {}).items()})
                       for t in data.get("targets", [])]
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            return json_response({"errors": ["expected {provider, targets: [{url, headers}]}"]}, status=400)
        if provider not in self.twins:
            return json_response({"errors": [f"unknown provider {provider!r}"]}, status=400)
        self.notifier.set_targets(provider, targets)
        return json_response({"provider": provider, "targets": [t.as_dict() for t in targets]})

    async def _advance(self, request: Request) -> Response:
        """Move a manual clock (end-to-end tests drive time through this)."""
        if not isinstance(self.sim.clock, ManualClock):
            return json_response({"errors": ["the sandbox runs on wall time"]}, status=409)
        try:
            seconds = float(json.loads(request.body or b"{}").get("seconds", 0))
        except (ValueError, TypeError, AttributeError):
            return json_response({"errors": ["expected {seconds: number}"]}, status=400)
        ran = self.sim.advance(seconds)
        await self.notifier.flush()
        return json_response({"ran": ran, "now": self.sim.clock.now()})
