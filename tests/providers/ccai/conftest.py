from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.providers.base import RetryPolicy
from dashboard.providers.ccai.client import CcaiClient
from dashboard.providers.ccai.sandbox import CcaiSandbox
from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.notify import WebhookTarget
from dashboard.sandbox.sim import ManualClock

BASE_URL = "http://sandbox/ccai"
SEED_EXAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "seed_examples.json").read_text(encoding="utf-8")
)


async def no_sleep(seconds: float) -> None:
    return None


class Sleeps:
    """An injectable sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Hooks:
    """Captures the webhooks the sandbox delivers."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.received.append(json.loads(request.content))
        return httpx.Response(200)

    def for_call(self, call_id: int) -> list[dict[str, Any]]:
        return [b for b in self.received if b["call_id"] == call_id]

    def statuses(self, call_id: int) -> list[str]:
        return [b["status"] for b in sorted(self.for_call(call_id), key=lambda b: b["sequence"])]


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def ccai_app(hooks: Hooks) -> SandboxApp:
    app = SandboxApp(
        providers=("ccai",),
        clock=ManualClock(),
        seed=1,
        notify_transport=httpx.MockTransport(hooks.handler),
    )
    app.notifier.set_targets("ccai", [WebhookTarget(url="http://dashboard/hooks/ccai")])
    return app


@pytest.fixture
def twin(ccai_app: SandboxApp) -> CcaiSandbox:
    return ccai_app.twin("ccai")


def make_client(app: SandboxApp, *, base_url: str = BASE_URL, **kwargs: Any) -> CcaiClient:
    state = app.twin("ccai").state()
    kwargs.setdefault("company_key", state["company_key"])
    kwargs.setdefault("company_secret", state["company_secret"])
    kwargs.setdefault("sleep", no_sleep)
    kwargs.setdefault("retry", RetryPolicy(attempts=3, timeout=5.0))
    return CcaiClient(base_url=base_url, transport=httpx.ASGITransport(app=app), **kwargs)


@pytest.fixture
async def ccai(ccai_app: SandboxApp) -> AsyncIterator[CcaiClient]:
    client = make_client(ccai_app)
    yield client
    await client.aclose()


@pytest.fixture
async def raw(ccai_app: SandboxApp, twin: CcaiSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """Plain authenticated HTTP to the twin, for bodies the client would refuse."""
    state = twin.state()
    async with httpx.AsyncClient(
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=ccai_app),
        auth=(state["company_key"], state["company_secret"]),
    ) as client:
        yield client
