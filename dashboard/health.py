"""What /healthz checks: the database and the channel layer, each by a real round trip."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def check_health(limit: float = 3.0) -> dict[str, str]:
    results: dict[str, str] = {}
    try:
        await asyncio.wait_for(sync_to_async(_database_ok)(), limit)
        results["database"] = "ok"
    except Exception as exc:
        results["database"] = f"failed: {type(exc).__name__}"
    try:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("no channel layer configured")
        channel = await layer.new_channel("healthz.")
        await layer.send(channel, {"type": "healthz.ping"})
        message = await asyncio.wait_for(layer.receive(channel), limit)
        if message.get("type") != "healthz.ping":
            raise RuntimeError("unexpected message")
        results["channel_layer"] = "ok"
    except Exception as exc:
        results["channel_layer"] = f"failed: {type(exc).__name__}"
    return results
