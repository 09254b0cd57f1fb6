from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from dashboard import groups
from dashboard.consumers import LiveConsumer
from tests.conftest import frame_html

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_socket_is_closed():
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401
    await communicator.disconnect()


async def test_signed_in_socket_turns_the_indicator_to_connected_and_gets_pushes(supervisor):
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = supervisor
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_from()
    assert 'id="ws-status"' in first and 'data-state="connected"' in first and "hx-swap-oob" in first

    layer = get_channel_layer()
    await layer.group_send(groups.user_group(supervisor.pk), {"type": "html.push", "html": "<p id='x'>hi</p>"})
    assert frame_html(await communicator.receive_from()) == "<p id='x'>hi</p>"
    await communicator.disconnect()


async def test_a_push_to_one_user_does_not_reach_another(agent, other_agent):
    a = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    a.scope["user"] = agent
    b = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    b.scope["user"] = other_agent
    assert (await a.connect())[0] and (await b.connect())[0]
    await a.receive_from()
    await b.receive_from()
    await get_channel_layer().group_send(groups.user_group(agent.pk), {"type": "html.push", "html": "for-a"})
    assert frame_html(await a.receive_from()) == "for-a"
    assert await b.receive_nothing(timeout=0.2)
    await a.disconnect()
    await b.disconnect()


async def test_socket_through_the_asgi_stack_uses_the_session(supervisor):
    from django.test import AsyncClient

    from dashboard.asgi import application

    client = AsyncClient()
    await database_sync_to_async(client.force_login)(supervisor)
    cookie = client.cookies["sessionid"].value
    communicator = WebsocketCommunicator(
        application, "/ws/live/",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    connected, _ = await communicator.connect()
    assert connected
    assert 'data-state="connected"' in await communicator.receive_from()
    await communicator.disconnect()


async def test_socket_from_a_foreign_origin_is_refused(supervisor):
    from dashboard.asgi import application

    communicator = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://evil.example.com")])
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


# --- A socket that is behind ------------------------------------------------------------------


def _card(key: str, version: int) -> list[str]:
    return [key, f'<article id="{key}" data-v="{version}"></article>']


async def test_a_socket_that_cannot_keep_up_gets_the_latest_state_of_each_call(supervisor, monkeypatch):
    """While one frame is on its way, newer cards replace older cards of the same call:
    intermediate states are skipped, the latest never, and the order of calls is kept."""
    import asyncio

    gate = asyncio.Event()
    gate.set()
    handled = []
    real_send, real_push = LiveConsumer.send, LiveConsumer.html_push

    async def slow_send(self, *args, **kwargs):
        await gate.wait()
        await real_send(self, *args, **kwargs)

    def counting_push(self, event):
        real_push(self, event)
        handled.append(event)

    monkeypatch.setattr(LiveConsumer, "send", slow_send)
    monkeypatch.setattr(LiveConsumer, "html_push", counting_push)
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = supervisor
    assert (await communicator.connect())[0]
    await communicator.receive_from()
    gate.clear()  # the browser stops reading

    layer, group = get_channel_layer(), groups.user_group(supervisor.pk)
    pushes = [_card("session-1", 1), _card("session-1", 2), _card("session-2", 1), _card("session-1", 3),
              _card("session-3", 1), _card("session-2", 2), _card("session-1", 4)]
    for part in pushes:
        await layer.group_send(group, {"type": "html.push", "parts": [part]})
    for _ in range(500):
        if len(handled) == len(pushes):
            break
        await asyncio.sleep(0.01)
    assert len(handled) == len(pushes)
    gate.set()

    first = frame_html(await communicator.receive_from())
    assert first == pushes[0][1]  # on its way before the rest arrived
    second = frame_html(await communicator.receive_from())
    assert second.split("\n") == [
        '<article id="session-3" data-v="1"></article>',
        '<article id="session-2" data-v="2"></article>',
        '<article id="session-1" data-v="4"></article>',
    ]
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_coalescing_never_gives_one_agent_the_card_of_another(agent, other_agent):
    sockets = {}
    for user in (agent, other_agent):
        c = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        c.scope["user"] = user
        assert (await c.connect())[0]
        await c.receive_from()
        sockets[user.pk] = c
    layer = get_channel_layer()
    for version in range(5):  # the same key on both sockets: each keeps its own
        for user in (agent, other_agent):
            await layer.group_send(groups.user_group(user.pk), {"type": "html.push", "parts": [
                ["session-9", f'<article id="session-9" data-owner="{user.pk}" data-v="{version}"></article>']]})
    for user in (agent, other_agent):
        seen = ""
        while 'data-v="4"' not in seen:
            seen += await sockets[user.pk].receive_from()
        assert f'data-owner="{user.pk}"' in seen
        assert "data-owner=" not in seen.replace(f'data-owner="{user.pk}"', "")
        await sockets[user.pk].disconnect()


async def test_every_frame_says_how_long_its_oldest_fragment_waited(supervisor):
    import time

    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
    communicator.scope["user"] = supervisor
    assert (await communicator.connect())[0]
    await communicator.receive_from()
    await get_channel_layer().group_send(groups.user_group(supervisor.pk), {
        "type": "html.push", "parts": [["x", "<p id='x'></p>"]], "at": time.time() - 7})
    frame = await communicator.receive_from()
    lag = float(frame.split('data-lag="', 1)[1].split('"', 1)[0])
    assert 7 <= lag < 9
    await communicator.disconnect()
