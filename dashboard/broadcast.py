"""Sending rendered fragments to browsers, after the transaction that changed the data
commits (a browser must never see state that is then rolled back).

Where a fragment differs by permission (a control bar), the sender renders each variant
once and every connection picks the one its user may see: no rendering per connection.

Sends from threads (task workers inside the server process, sync views) are handed to
the server's event loop: the in-memory channel layer's queues belong to that loop and
are not thread-safe, so a put from another loop may sit unnoticed until something else
wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None
_thread = threading.local()


def set_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Called by the ASGI lifespan: where this process's consumers live."""
    global _server_loop
    _server_loop = loop


@contextlib.contextmanager
def sends_on(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """For a thread working for requests of ``loop`` (the webhook receiver): its sends go
    there when no server loop is known (a test's client, a bare ASGI app)."""
    _thread.loop = loop
    try:
        yield
    finally:
        _thread.loop = None


def group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _server_loop or getattr(_thread, "loop", None)
    if loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(layer.group_send(group, message))
        else:
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
            future.add_done_callback(_log_failure)
        return
    async_to_sync(layer.group_send)(group, message)


def _log_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("push to browsers failed: %r", future.exception())


Part = tuple[str | None, str]  # (what it replaces on the page, its html)


def send_html(group: str, html: str, *, key: str | None = None, variants: Mapping[str, str] | None = None) -> None:
    """``key``: what the fragment replaces on the page (an element's id, or a name for a
    set of them); a socket that is behind sends only the newest fragment of each key.
    ``variants`` maps a permission codename to the html its holders get instead."""
    send_parts(group, [(key, html)], variants={c: [(key, v)] for c, v in (variants or {}).items()})


def send_parts(group: str, parts: list[Part], *, variants: Mapping[str, list[Part]] | None = None) -> None:
    """Several fragments in one message (a batch's cards), each with its key (send_html)."""
    message: dict[str, Any] = {"type": "html.push", "parts": [list(p) for p in parts], "at": time.time()}
    if variants:
        message["variants"] = {c: [list(p) for p in v] for c, v in variants.items()}
    # robust: what is committed stays committed if a push fails (the page resyncs on reconnect).
    transaction.on_commit(lambda: group_send(group, message), robust=True)


def message_html(message: Mapping[str, Any]) -> str:
    """A push message's fragments as one frame (what a socket with no backlog sends)."""
    return "\n".join(html for _, html in message["parts"])


def perms_context(*codenames: str) -> dict[str, dict[str, dict[str, bool]]]:
    """A stand-in for the template ``perms`` of a user holding exactly these permissions."""
    return {"perms": {"dashboard": dict.fromkeys(codenames, True)}}
