"""Retries: reads are repeated on transport failures, control actions never are."""

from __future__ import annotations

import httpx
import pytest

from dashboard.providers.base import ProviderError, ProviderUnavailable, RetryPolicy
from dashboard.providers.callgear.client import CallGearClient
from dashboard.providers.callgear.errors import CallGearError
from dashboard.providers.callgear.models import Message

from .conftest import VNUM, talking_call


async def test_reads_are_retried_on_server_errors(app, twin, key_client):
    app.faults.update({"error_rate": 1.0})
    with pytest.raises(ProviderUnavailable):
        await key_client.list_calls()
    assert [r.status for r in key_client.timings.recent()] == [503, 503, 503]


async def test_control_actions_are_not_retried(app, twin, key_client):
    app.faults.update({"error_rate": 1.0})
    with pytest.raises(ProviderUnavailable) as caught:
        await key_client.start_informer_call(
            virtual_phone_number=VNUM, contact="79161234567", contact_message=Message.tts("hi")
        )
    assert caught.value.status == 503
    assert len(key_client.timings.recent()) == 1


async def test_dropped_answer_after_commit_is_not_repeated(app, twin, key_client):
    app.faults.update({"drop_rate": 1.0})
    with pytest.raises(ProviderUnavailable):
        await key_client.start_informer_call(
            virtual_phone_number=VNUM, contact="79161234567", contact_message=Message.tts("hi")
        )
    # The call was started once on the provider's side, and only once.
    assert len(twin.ledger()["call_sessions"]) == 1
    app.faults.clear()
    assert len(await key_client.list_calls()) == 1


async def test_dropped_read_is_retried(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    app.faults.update({"drop_rate": 1.0})  # reads are not "committed": never dropped
    assert [c.call_session_id for c in await key_client.list_calls()] == [sid]


async def test_timings_count_provider_errors_as_failures(key_client):
    with pytest.raises(ProviderError):
        await key_client.release_call(1)
    [record] = key_client.timings.recent()
    assert record.ok is False and record.mnemonic == "call_session_not_found"


async def test_non_json_answer_is_a_provider_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    async with CallGearClient(
        base_url="http://x",
        access_key="k",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    ) as client:
        with pytest.raises(ProviderError) as caught:
            await client.release_call(1)
    assert isinstance(caught.value, CallGearError)
    assert caught.value.mnemonic == "bad_response" and caught.value.permanent is False


async def test_success_as_boolean_or_string():
    answers = iter([True, "true", "false"])

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        rid = json.loads(request.content)["id"]
        return httpx.Response(
            200, json={"jsonrpc": "2.0", "id": rid, "result": {"data": {"success": next(answers)}}}
        )

    async with CallGearClient(
        base_url="http://x", access_key="k", transport=httpx.MockTransport(handler)
    ) as c:
        assert await c.unhold_call(1) is True
        assert await c.unhold_call(1) is True
        assert await c.unhold_call(1) is False


async def test_base_url_with_a_path_posts_to_its_version(app, twin):
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": "x", "result": {"data": []}})

    async with CallGearClient(
        base_url="http://sandbox/callgear/", access_key="k", transport=httpx.MockTransport(handler)
    ) as c:
        await c.list_calls()
    assert seen == ["http://sandbox/callgear/v4.0"]


async def test_timeouts_fail_fast_and_reads_retry(app, twin, clock, sleeps):
    from .conftest import make_client

    app.faults.update({"timeout_rate": 1.0, "timeout_seconds": 1.0})
    async with make_client(
        app,
        clock,
        sleeps,
        login=None,
        password=None,
        access_key=twin.world["access_key"],
        retry=RetryPolicy(attempts=2, timeout=0.05, backoff=0.0),
    ) as client:
        with pytest.raises(ProviderUnavailable):
            await client.list_calls()
        assert len(client.timings.recent()) == 2
        with pytest.raises(ProviderUnavailable):
            await client.release_call(1)
        assert len(client.timings.recent()) == 3
