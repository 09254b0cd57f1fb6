"""Time and chance for the sandbox world.

The world moves on a clock that tests can hold and advance by hand (hours of campaign in
a second) and that the demo runs on wall time. Everything random comes from generators
seeded from one seed, so the same seed gives the same world and the same outcomes.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Clock",
    "ManualClock",
    "Simulation",
    "SubscriberProfile",
    "SystemClock",
    "subscriber_profile",
]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1_767_261_600.0) -> None:  # 2026-01-01 10:00 UTC
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, t: float) -> None:
        self._now = float(t)


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    cancelled: bool = False


class Simulation:
    """A discrete-event scheduler on a clock.

    ``scale`` shrinks every realistic duration (ring time, talk time, retry interval)
    so the demo moves in seconds; tests keep it at 1 and move a ManualClock instead.
    While an event runs, ``now`` is that event's own time, so timestamps stay exact
    however late ``run_due`` is called.
    """

    def __init__(self, *, clock: Clock | None = None, seed: int = 1, scale: float = 1.0) -> None:
        self.clock: Clock = clock or SystemClock()
        self.seed = seed
        self.scale = scale
        self._heap: list[_Event] = []
        self._seq = itertools.count()
        self._current: float | None = None
        self.rng = random.Random(seed)

    def reset(self) -> None:
        self._heap.clear()
        self.rng = random.Random(self.seed)

    def rng_for(self, name: str) -> random.Random:
        """An independent generator per part of the world, stable across runs."""
        return random.Random(f"{self.seed}:{name}")

    @property
    def now(self) -> float:
        return self._current if self._current is not None else self.clock.now()

    def duration(self, realistic_seconds: float) -> float:
        return realistic_seconds * self.scale

    def at(self, when: float, fn: Callable[..., Any], *args: Any) -> _Event:
        event = _Event(when, next(self._seq), fn, args)
        heapq.heappush(self._heap, event)
        return event

    def after(self, realistic_seconds: float, fn: Callable[..., Any], *args: Any) -> _Event:
        """Schedule ``fn`` after a realistic duration, scaled."""
        return self.at(self.now + self.duration(realistic_seconds), fn, *args)

    @staticmethod
    def cancel(event: _Event | None) -> None:
        if event is not None:
            event.cancelled = True

    def next_event_at(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].at if self._heap else None

    def run_due(self, limit: int = 1_000_000) -> int:
        """Run every event due by the clock's time, in time order. Returns the count."""
        horizon = self.clock.now()
        ran = 0
        while self._heap and ran < limit:
            event = self._heap[0]
            if event.at > horizon:
                break
            heapq.heappop(self._heap)
            if event.cancelled:
                continue
            self._current = event.at
            try:
                event.fn(*event.args)
            finally:
                self._current = None
            ran += 1
        return ran

    def advance(self, seconds: float) -> int:
        """Move a ManualClock forward and run what fell due (tests)."""
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance() needs a ManualClock")
        ran = 0
        target = clock.now() + seconds
        # Step through event times so each event sees the clock at its own moment.
        while True:
            nxt = self.next_event_at()
            if nxt is None or nxt > target:
                break
            clock.set(max(clock.now(), nxt))
            ran += self.run_due()
        clock.set(target)
        ran += self.run_due()
        return ran


@dataclass(frozen=True)
class SubscriberProfile:
    """How a phone number behaves when called.

    ``kind``: ``answers`` (picks up after ``ring_seconds`` with probability
    ``answer_probability`` on each attempt), ``no_answer`` (rings out), ``busy``,
    ``nonexistent`` (the number does not exist). ``talk_seconds`` is the typical
    conversation length.
    """

    kind: str
    ring_seconds: float
    talk_seconds: float
    answer_probability: float


def subscriber_profile(phone: str, *, seed: int) -> SubscriberProfile:
    """The same phone in the same world always behaves the same way."""
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    h = hashlib.sha256(f"{seed}:{digits}".encode()).digest()
    rng = random.Random(int.from_bytes(h[:8], "big"))
    roll = rng.random()
    if digits.endswith("000000") or roll < 0.04:
        kind = "nonexistent"
    elif roll < 0.12:
        kind = "busy"
    elif roll < 0.30:
        kind = "no_answer"
    else:
        kind = "answers"
    return SubscriberProfile(
        kind=kind,
        ring_seconds=round(rng.uniform(3, 25), 1),
        talk_seconds=round(rng.lognormvariate(4.2, 0.7), 1),  # median ~67 s
        answer_probability=round(rng.uniform(0.55, 0.95), 2),
    )
