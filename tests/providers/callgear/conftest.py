from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.providers.base import RetryPolicy
from dashboard.providers.callgear.client import CallGearClient
from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import ManualClock

BASE = "http://sandbox/callgear"
LOGIN = "callboard"
PASSWORD = "sandbox-password"
VNUM = "74993720692"
EXAMPLES: dict[str, Any] = json.loads((Path(__file__).parent / "seed_examples.json").read_text())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(clock: ManualClock) -> SandboxApp:
    return SandboxApp(providers=("callgear",), clock=clock, seed=1)


@pytest.fixture
def twin(app: SandboxApp) -> Any:
    return app.twin("callgear")


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(
    app: SandboxApp, clock: ManualClock, sleeps: list[float], **kwargs: Any
) -> CallGearClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    kwargs.setdefault("login", LOGIN)
    kwargs.setdefault("password", PASSWORD)
    kwargs.setdefault("retry", RetryPolicy(attempts=3, backoff=0.0))
    return CallGearClient(
        base_url=BASE,
        transport=httpx.ASGITransport(app=app),
        sleep=sleep,
        clock=clock.now,
        **kwargs,
    )


@pytest.fixture
async def client(app: SandboxApp, clock: ManualClock, sleeps: list[float]):
    c = make_client(app, clock, sleeps)
    yield c
    await c.aclose()


@pytest.fixture
async def key_client(app: SandboxApp, clock: ManualClock, sleeps: list[float], twin: Any):
    c = make_client(
        app, clock, sleeps, login=None, password=None, access_key=twin.world["access_key"]
    )
    yield c
    await c.aclose()


async def raw_rpc(
    app: SandboxApp,
    body: Any,
    *,
    path: str = "/callgear/v4.0",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST anything to the endpoint, bypassing the client."""
    if isinstance(body, bytes | str):
        content = body.encode() if isinstance(body, str) else body
    else:
        content = json.dumps(body).encode()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        response = await http.post(
            path,
            content=content,
            headers=headers or {"Content-Type": "application/json; charset=UTF-8"},
        )
    return response.status_code, response.json()


async def talking_call(
    client: CallGearClient,
    app: SandboxApp,
    twin: Any,
    *,
    employee_id: int = 25,
    min_talk: float = 600.0,
    start: int = 0,
) -> tuple[int, str]:
    """An employee call that is in talk, with a contact who will keep talking a while."""
    contact = twin.find_contact(min_talk=min_talk, max_ring=20, start=start)
    sid = await client.start_employee_call(
        virtual_phone_number=VNUM, contact=contact, employee_id=employee_id
    )
    app.advance(30)
    assert twin.sessions[sid].state == "talk"
    return sid, contact
