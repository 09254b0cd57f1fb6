from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from dashboard import groups
from dashboard.consumers import LiveConsumer

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
    assert await communicator.receive_from() == "<p id='x'>hi</p>"
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
    assert await a.receive_from() == "for-a"
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
