"""Points per method, metadata.limits on every answer, limit_exceeded and waiting for reset."""

from __future__ import annotations

import httpx
import pytest

from dashboard.providers.callgear.client import CallGearClient
from dashboard.providers.callgear.errors import CallGearError

from .conftest import VNUM, make_client, raw_rpc


async def test_limits_are_kept_from_every_answer(twin, key_client):
    await key_client.list_calls()
    limits = key_client.limits
    assert (limits.day_limit, limits.minute_limit) == (50_000, 150)
    assert (limits.day_remaining, limits.minute_remaining) == (49_999, 149)
    await key_client.start_informer_call(
        virtual_phone_number=VNUM,
        contact="79161234567",
        contact_message={"type": "tts", "value": "hi"},
    )
    assert key_client.limits.minute_remaining == 144  # a start costs 5 points
    assert twin.state()["limits"]["minute_remaining"] == 144


async def test_points_are_only_taken_for_successful_requests(key_client):
    await key_client.list_calls()
    with pytest.raises(CallGearError):
        await key_client.hold_call(1, contact_message={"type": "media", "value": "2034"})
    assert key_client.limits.minute_remaining == 149


async def test_limit_exceeded_waits_for_the_named_reset_and_retries_once(
    twin, clock, sleeps, key_client
):
    twin.minute_limit = 3
    clock.set(clock.now() - clock.now() % 60 + 20)  # 40 s before the minute resets
    for _ in range(3):
        await key_client.list_calls()
    assert key_client.limits.minute_remaining == 0
    await key_client.list_calls()  # refused, waits 40 s (the injected sleep), then succeeds
    assert sleeps == [40]
    assert key_client.limits.minute_remaining == 2
    assert [r["method"] for r in twin.requests].count("list.calls") == 5


async def test_limit_exceeded_is_raised_when_the_wait_is_too_long(twin, sleeps, key_client):
    twin.day_limit = 1
    await key_client.list_calls()
    with pytest.raises(CallGearError) as caught:
        await key_client.list_calls()
    err = caught.value
    assert (err.code, err.mnemonic) == (-32029, "limit_exceeded")
    assert err.message == "Limit per day has been exceeded. Value of current limit per day is 1"
    assert err.params == {"limit_type": "day", "limit_max_value": 1}
    assert err.permanent is False
    assert sleeps == []  # hours until the daily reset: not waited inside a request


async def test_limit_exceeded_answer_carries_limits(app, twin):
    twin.minute_limit = 0
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "list.calls",
        "params": {"access_token": twin.world["access_key"]},
    }
    _, reply = await raw_rpc(app, body)
    assert reply["id"] == 7
    assert (
        reply["error"]["message"]
        == "Limit per minute has been exceeded. Value of current limit per minute is 0"
    )
    assert reply["metadata"]["limits"]["minute_limit"] == 0


async def test_rate_limit_fault_answers_limit_exceeded_and_the_client_waits(
    app, clock, sleeps, key_client
):
    app.faults.update({"rate_limit_rate": 1.0})
    with pytest.raises(CallGearError) as caught:
        await key_client.list_calls()  # every answer is rate limited: one wait, one retry
    assert caught.value.mnemonic == "limit_exceeded"
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 60
    app.faults.clear()
    assert await key_client.list_calls() == []


async def test_deprecated_version_reports_api_version(app, clock, sleeps):
    async with make_client(app, clock, sleeps, version="3.0") as client:
        await client.list_calls()
        assert client.deprecated is True
        assert client.api_version.current_version == "3.0"
        assert client.api_version.latest_version == "4.0"


async def test_current_version_is_not_deprecated(key_client):
    await key_client.list_calls()
    assert key_client.deprecated is False and key_client.api_version is None


async def test_metadata_at_the_top_level_is_tolerated():
    def handler(request: httpx.Request) -> httpx.Response:
        import json

        rid = json.loads(request.content)["id"]
        return httpx.Response(
            200,
            json={
                "jsonrpc": "2.0",
                "id": rid,
                "result": {"data": []},
                "metadata": {
                    "limits": {
                        "day_limit": 750,
                        "day_remaining": 700,
                        "day_reset": 100,
                        "minute_limit": 150,
                        "minute_remaining": 149,
                        "minute_reset": 30,
                    },
                    "api_version": {
                        "current_version_depricated": "true",
                        "current_version": "4.0",
                        "latest_version": "4.1",
                    },
                },
            },
        )

    async with CallGearClient(
        base_url="http://x", access_key="k", transport=httpx.MockTransport(handler)
    ) as c:
        await c.list_calls()
    assert (c.limits.day_limit, c.limits.minute_remaining) == (750, 149)
    assert c.deprecated and c.api_version.latest_version == "4.1"
