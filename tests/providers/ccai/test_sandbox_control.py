"""The twin seen through the sandbox's control endpoints, faults on webhooks, a prefix mount."""

from __future__ import annotations

import json

import httpx

from dashboard.providers.ccai.webhooks import parse_status_change
from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import ManualClock

from .conftest import Hooks, make_client


async def test_state_and_ledger_through_the_control_endpoints(ccai_app: SandboxApp):
    async with httpx.AsyncClient(
        base_url="http://sandbox", transport=httpx.ASGITransport(app=ccai_app)
    ) as http:
        state = (await http.get("/_sandbox/state")).json()["ccai"]
        assert {
            "company_key",
            "company_secret",
            "agents",
            "menus",
            "outbound_numbers",
            "languages",
        } <= set(state)
        assert {"email": "agent@somedomain.com", "available": False}.items() <= state["agents"][
            1
        ].items()
        assert {"id": 9, "menu_type": "ivr_menu"}.items() <= state["menus"][0].items()
        assert state["languages"] == ["en", "es", "de", "ko"]
        ccai_app.twin("ccai").simulate_incoming_call("+1 650-555-0100")
        ledger = (await http.get("/_sandbox/ledger")).json()["ccai"]
        row = ledger["calls"][0]
        assert {"id", "call_type", "status", "end_user_number", "agent_email", "created_at"} <= set(
            row
        )
        assert (row["status"], row["agent_email"]) == ("queued", None)
        await http.post("/_sandbox/reset")
        assert (await http.get("/_sandbox/ledger")).json()["ccai"]["calls"] == []


async def test_webhook_targets_set_through_the_control_endpoint_and_duplicates_are_recognisable():
    hooks = Hooks()
    app = SandboxApp(
        providers=("ccai",),
        clock=ManualClock(),
        seed=1,
        notify_transport=httpx.MockTransport(hooks.handler),
    )
    async with httpx.AsyncClient(
        base_url="http://sandbox", transport=httpx.ASGITransport(app=app)
    ) as http:
        answer = await http.post(
            "/_sandbox/webhooks",
            json={
                "provider": "ccai",
                "targets": [{"url": "http://dash/hooks/ccai", "headers": {"X-Secret": "s"}}],
            },
        )
        assert answer.status_code == 200
        await http.post("/_sandbox/faults", json={"notify_duplicate_rate": 1.0})
    call = app.twin("ccai").simulate_incoming_call("+1 650-555-0100")
    await app.settle(10)
    bodies = hooks.for_call(call["id"])
    assert len(bodies) == 2 * len({b["sequence"] for b in bodies})
    latest: dict[int, int] = {}
    applied = []
    for body in bodies:  # what a consumer does: keep the highest sequence per call
        change = parse_status_change(json.dumps(body))
        if change.sequence > latest.get(change.call_id, 0):
            latest[change.call_id] = change.sequence
            applied.append(change.status)
    assert applied == ["queued", "assigned", "connecting", "connected"]


async def test_mounted_under_a_prefix_the_link_keeps_the_prefix():
    app = SandboxApp(prefix="/sandbox", providers=("ccai",), clock=ManualClock(), seed=1)
    twin = app.twin("ccai")
    for n in range(3):
        twin.simulate_incoming_call(f"+1 650-555-{100 + n:04d}")
    state = twin.state()
    async with httpx.AsyncClient(
        base_url="http://dash.local/sandbox/ccai",
        transport=httpx.ASGITransport(app=app),
        auth=(state["company_key"], state["company_secret"]),
    ) as http:
        response = await http.get("/manager/api/v1/calls", params={"per": 1})
        assert response.status_code == 200
        assert (
            '<http://dash.local/sandbox/ccai/manager/api/v1/calls?per=1&page=2>; rel="next"'
            in response.headers["link"]
        )
    client = make_client(app, base_url="http://dash.local/sandbox/ccai")
    assert len([c async for c in client.iter_calls(per=1)]) == 3
