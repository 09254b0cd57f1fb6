"""Outgoing webhooks of the sandbox: queued, faulted on purpose, retried on failure."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .faults import Faults
    from .sim import Simulation

__all__ = ["Notifier", "Outgoing", "WebhookTarget"]

logger = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 5.0, 15.0, 60.0, 300.0)  # seconds of sandbox time between tries


@dataclass
class WebhookTarget:
    """Where one provider's notifications go. ``headers`` may carry the secret."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        # Header values are secrets: show their names only.
        return {"url": self.url, "headers": sorted(self.headers)}


@dataclass
class Outgoing:
    provider: str
    event: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    tries: int = 0
    due: float = 0.0
    seq: int = 0


class Notifier:
    def __init__(self, sim: Simulation, faults: Faults, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.sim = sim
        self.faults = faults
        self.transport = transport
        self.targets: dict[str, list[WebhookTarget]] = {}
        self.queue: deque[Outgoing] = deque()
        self._held: Outgoing | None = None
        self._seq = 0
        self.delivered: deque[dict[str, Any]] = deque(maxlen=1000)
        self.failed: deque[dict[str, Any]] = deque(maxlen=200)
        self._client: httpx.AsyncClient | None = None

    def reset(self) -> None:
        self.queue.clear()
        self._held = None
        self.delivered.clear()
        self.failed.clear()

    def set_targets(self, provider: str, targets: list[WebhookTarget]) -> None:
        self.targets[provider] = targets

    def emit(
        self,
        provider: str,
        event: str,
        *,
        body: bytes | str,
        content_type: str = "application/json",
        method: str = "POST",
        query: str = "",
    ) -> None:
        """Queue one notification to every target configured for ``provider``."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        for target in self.targets.get(provider, []):
            if self.faults.roll("notify_drop_rate"):
                continue
            url = target.url
            if query:
                url += ("&" if "?" in url else "?") + query
            self._seq += 1
            item = Outgoing(
                provider=provider,
                event=event,
                method=method,
                url=url,
                headers={"content-type": content_type, **target.headers},
                body=body,
                due=self.sim.now,
                seq=self._seq,
            )
            copies = 2 if self.faults.roll("notify_duplicate_rate") else 1
            for _ in range(copies):
                self._enqueue(Outgoing(**{**item.__dict__}))

    def _enqueue(self, item: Outgoing) -> None:
        if self._held is None and self.faults.roll("notify_reorder_rate"):
            self._held = item  # goes out right after the next one
            return
        self.queue.append(item)
        if self._held is not None:
            self.queue.append(self._held)
            self._held = None

    def pending(self) -> int:
        return len(self.queue) + (1 if self._held else 0)

    async def flush(self) -> int:
        """Deliver every queued notification that is due; returns how many succeeded."""
        if not self.queue:
            return 0
        now = self.sim.clock.now()
        due = [item for item in self.queue if item.due <= now]
        if not due:
            return 0
        self.queue = deque(item for item in self.queue if item.due > now)
        client = self._get_client()
        ok = 0
        for item in due:
            item.tries += 1
            status: int | None = None
            error = ""
            try:
                if self.faults.roll("notify_failure_rate"):
                    raise httpx.ConnectError("injected delivery failure")
                response = await client.request(item.method, item.url, headers=item.headers, content=item.body)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            record = {"event": item.event, "provider": item.provider, "url": _redact(item.url),
                      "status": status, "tries": item.tries, "error": error}
            if status is not None and status < 500 and status != 429:
                ok += 1
                self.delivered.append(record)
                continue
            if item.tries <= len(RETRY_DELAYS):
                item.due = now + RETRY_DELAYS[item.tries - 1]
                self.queue.append(item)
            else:
                self.failed.append(record)
                logger.warning("sandbox webhook %s to %s given up after %s tries", item.event, _redact(item.url), item.tries)
        return ok

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self.transport, timeout=10.0)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _redact(url: str) -> str:
    """Webhook URLs may carry the account secret in the query: never show it."""
    base, _, query = url.partition("?")
    if not query:
        return url
    parts = []
    for pair in query.split("&"):
        key, _, _value = pair.partition("=")
        parts.append(f"{key}=***" if "secret" in key.lower() or "token" in key.lower() else pair)
    return base + "?" + "&".join(parts)
