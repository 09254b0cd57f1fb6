"""The in-memory channel layer for one server process, made to hold a full floor.

Channels' stock ``InMemoryChannelLayer`` sweeps every channel and group for expired
messages on each ``receive()`` and ``group_send()``: at 500 connections that is about
150 µs a call, and the layer saturates near 100 events/s (shared PERFORMANCE-NOTES,
items 1 and 3). This one:

- sweeps at most once per ``sweep_interval`` seconds (expiry is a safety net for
  channels nobody reads any more, not a deadline: a second late changes nothing);
- delivers a group send inline (one copy of the message per receiver, no task per
  receiver, no ``as_completed``), so a push to 20 supervisors costs 20 queue puts;
- has a larger default capacity (1,000 messages per channel instead of 100), and
  counts and logs what it still has to drop instead of swallowing it.

Only for a single process (the default run): several processes need the Redis pub/sub
layer (``REDIS_URL``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

logger = logging.getLogger(__name__)


class FanoutInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, expiry: int = 60, group_expiry: int = 86400, capacity: int = 1000,
                 channel_capacity: Any = None, sweep_interval: float = 1.0, **kwargs: Any) -> None:
        super().__init__(expiry=expiry, group_expiry=group_expiry, capacity=capacity,
                         channel_capacity=channel_capacity, **kwargs)
        self.sweep_interval = sweep_interval
        self._next_sweep = 0.0
        self.dropped = 0  # messages a full channel refused, since start
        self._dropped_logged = 0
        self._next_drop_log = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        super()._clean_expired()
        self._log_drops(now)

    def _log_drops(self, now: float) -> None:
        if self.dropped != self._dropped_logged and now >= self._next_drop_log:
            logger.warning("channel layer: %d messages dropped on full channels (%d since start)",
                           self.dropped - self._dropped_logged, self.dropped)
            self._dropped_logged = self.dropped
            self._next_drop_log = now + 10

    def _queue(self, channel: str) -> asyncio.Queue[Any]:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await super().send(channel, message)
        except ChannelFull:
            self.dropped += 1
            raise

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        # One deep copy per send; each receiver gets its own top-level dict of it (the
        # consumers only read the nested values).
        copied = deepcopy(message)
        expires = time.time() + self.expiry
        for channel in list(members):
            try:
                self._queue(channel).put_nowait((expires, dict(copied)))
            except asyncio.QueueFull:
                self.dropped += 1  # as Channels does, a full receiver does not fail the send
        self._log_drops(time.monotonic())
