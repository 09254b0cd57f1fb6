"""The twin's control views: /_sandbox/state and /_sandbox/ledger."""

from __future__ import annotations

import httpx

from .conftest import VNUM, talking_call


async def get(app, path: str):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        return (await http.get(path)).json()


async def test_state_lists_the_seeded_world(app, twin):
    state = (await get(app, "/_sandbox/state"))["callgear"]
    for key in (
        "login",
        "password",
        "access_key",
        "virtual_numbers",
        "employees",
        "tags",
        "media_files",
        "scenarios",
        "talk_options",
        "coaches",
        "blacklist",
    ):
        assert key in state, key
    assert VNUM in state["virtual_numbers"]
    anna = next(e for e in state["employees"] if e["id"] == 25)
    assert {"id", "full_name", "phone_numbers"} <= set(anna)
    assert any(e["phone_numbers"] == [] for e in state["employees"])  # some have no active number
    assert state["blacklist"] == ["79169999999"]
    assert state["limits"]["minute_limit"] == 150


async def test_ledger_records_every_session(app, twin, key_client):
    sid, contact = await talking_call(key_client, app, twin)
    incoming = twin.simulate_incoming_call(virtual_number="74951045771", employee_id=26)
    ledger = (await get(app, "/_sandbox/ledger"))["callgear"]
    rows = {row["call_session_id"]: row for row in ledger["call_sessions"]}
    assert rows[sid]["method"] == "start.employee_call"
    assert rows[sid]["contact"] == contact and rows[sid]["virtual_phone_number"] == VNUM
    assert rows[sid]["state"] == "talk"
    assert rows[incoming]["method"] == "incoming" and rows[incoming]["state"] == "connecting"
    assert isinstance(rows[sid]["created_at"], float)


async def test_reset_endpoint(app, twin, key_client):
    await talking_call(key_client, app, twin)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        await http.post("/_sandbox/reset")
    assert (await get(app, "/_sandbox/ledger"))["callgear"] == {"call_sessions": []}


async def test_get_on_the_endpoint_is_not_allowed(app):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        response = await http.get("/callgear/v4.0")
    assert response.status_code == 405
