"""The JAICP sandbox on a manual clock, and clients wired to it in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from dashboard.providers.base import RetryPolicy
from dashboard.providers.jaicp.client import JaicpClient
from dashboard.providers.jaicp.sandbox import JaicpSandbox
from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import ManualClock, SubscriberProfile

BASE = "http://sandbox/jaicp"
RUNNING = "8231.7056.1b131df1"  # inProgress, 2 lines, Mon-Sun 09:00-21:00
NEW = "123456.789.mBoMyfZLZqKHIPKjFjWYfRw9hgfIV9InFC4bHGVw5ND"  # new, Mon-Fri, 2 attempts
PAUSED = "1024.2048.c0ffee42"  # paused, 3 lines, retry 60 min
FINISHED = "123.456.bAYxokdzmkWBZP2Tjcf4W0nzCpkC9L85mZQyd1OqJuv"  # finished
UNKNOWN = "999.999.nope"


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def app() -> SandboxApp:
    # ManualClock starts 2026-01-01 10:00 UTC, a Thursday.
    return SandboxApp(providers=("jaicp",), clock=ManualClock(), seed=1)


@pytest.fixture
def twin(app: SandboxApp) -> JaicpSandbox:
    return app.twin("jaicp")


@pytest.fixture
async def make_client(app: SandboxApp) -> AsyncIterator[Callable[..., JaicpClient]]:
    clients: list[JaicpClient] = []

    def make(token: str = RUNNING, **kwargs: object) -> JaicpClient:
        kwargs.setdefault("retry", RetryPolicy(attempts=5, timeout=5.0))
        client = JaicpClient(
            BASE, token, transport=httpx.ASGITransport(app=app), sleep=no_sleep, **kwargs
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: Callable[..., JaicpClient]) -> JaicpClient:
    return make_client(RUNNING)


@pytest.fixture
async def raw(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the sandbox, to check status codes and bodies on the wire."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        yield http


@pytest.fixture
def behave(twin: JaicpSandbox) -> Callable[[str, str], None]:
    """Pin how a phone behaves: answers (always, on the first ring), no_answer, busy,
    nonexistent. Other phones keep their seeded profile."""
    pinned: dict[str, SubscriberProfile] = {}
    real = twin.dialer.subscriber

    def subscriber(phone: str) -> SubscriberProfile:
        return pinned.get(phone) or real(phone)

    twin.dialer.subscriber = subscriber

    def pin(phone: str, kind: str, *, ring: float = 5.0, talk: float = 60.0) -> None:
        pinned[phone] = SubscriberProfile(
            kind=kind, ring_seconds=ring, talk_seconds=talk, answer_probability=1.0
        )

    return pin
