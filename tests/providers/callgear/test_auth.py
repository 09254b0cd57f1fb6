"""login.user sessions: one hour, renewed before expiry, retried once when refused."""

from __future__ import annotations

import httpx
import pytest

from dashboard.providers.callgear.client import CallGearClient
from dashboard.providers.callgear.errors import CallGearError

from .conftest import make_client


def methods(twin) -> list[str]:
    return [r["method"] for r in twin.requests]


async def test_login_gives_a_one_hour_session_used_by_later_calls(twin, clock, client):
    await client.list_calls()
    await client.list_talk_options()
    assert methods(twin) == ["login.user", "list.calls", "list.talk_options"]
    assert client.session is not None
    assert client.session.expire_at == int(clock.now() + 3600)


async def test_session_is_renewed_before_it_expires(twin, clock, client):
    await client.list_calls()
    first = client.session.access_token
    clock.advance(3600 - 60)  # inside the renewal margin
    await client.list_calls()
    assert client.session.access_token != first
    assert methods(twin) == ["login.user", "list.calls", "login.user", "list.calls"]


async def test_expired_token_is_renewed_and_the_call_retried_once(twin, client):
    await client.list_calls()
    twin.expire_session_tokens()  # the server forgets it early
    calls = await client.list_calls()
    assert calls == []
    assert methods(twin) == ["login.user", "list.calls", "list.calls", "login.user", "list.calls"]


async def test_invalid_token_is_renewed_too(twin, client):
    await client.list_calls()
    twin.tokens.pop(client.session.access_token)
    await client.list_talk_options()
    assert methods(twin)[-3:] == ["list.talk_options", "login.user", "list.talk_options"]


async def test_only_one_retry_when_the_new_token_is_refused_too():
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        sent.append(body["method"])
        if body["method"] == "login.user":
            return httpx.Response(
                200,
                json={
                    "jsonrpc": "2.0",
                    "id": body["id"],
                    "result": {"data": {"access_token": "t", "expire_at": 4e9}},
                },
            )
        return httpx.Response(
            200,
            json={
                "jsonrpc": "2.0",
                "id": body["id"],
                "error": {
                    "code": -32001,
                    "message": "Access token has been expired",
                    "data": {"mnemonic": "access_token_expired"},
                },
            },
        )

    async with CallGearClient(
        base_url="http://x", login="a", password="b", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(CallGearError) as caught:
            await client.list_calls()
    assert caught.value.mnemonic == "access_token_expired"
    assert sent == ["login.user", "list.calls", "login.user", "list.calls"]


async def test_permanent_key_is_sent_as_access_token_and_never_logs_in(twin, key_client):
    await key_client.list_calls()
    assert methods(twin) == ["list.calls"]


async def test_permanent_key_refused_is_not_retried(app, clock, sleeps, twin):
    async with make_client(
        app, clock, sleeps, login=None, password=None, access_key="gone"
    ) as client:
        with pytest.raises(CallGearError) as caught:
            await client.list_calls()
    assert caught.value.mnemonic == "access_token_invalid"
    assert methods(twin) == ["list.calls"]


async def test_logout_ends_the_session(app, twin, client):
    await client.list_calls()
    token = client.session.access_token
    assert await client.logout_user() is True
    assert client.session is None
    assert token not in twin.tokens
    await client.list_calls()  # logs in again
    assert methods(twin).count("login.user") == 2


def test_client_needs_credentials():
    with pytest.raises(ValueError):
        CallGearClient(base_url="http://x")
