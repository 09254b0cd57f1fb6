"""Faults the sandbox can inject, set through ``POST B/_sandbox/faults``."""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["DroppedResponse", "Faults", "quiet_dropped_in_server_log"]


class DroppedResponse(ConnectionResetError):
    """Raised once a committed answer has been started and cut halfway through its body
    (``http.send_cut_response``). uvicorn then closes the connection, so an HTTP client
    sees a transport error; httpx's ASGI transport re-raises it, so an in-process client
    sees a ConnectionError."""


class _WithoutDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedResponse))


def quiet_dropped_in_server_log() -> None:
    """uvicorn logs every exception out of an app as an error with its traceback; a drop
    is a fault someone asked for, and the sandbox logs it in one line of its own. Added
    when a drop happens, after the server has configured its logging, and only once."""
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _WithoutDrops) for f in server_log.filters):
        server_log.addFilter(_WithoutDrops())


_RATES = {
    "error_rate",
    "timeout_rate",
    "drop_rate",
    "rate_limit_rate",
    "notify_drop_rate",
    "notify_duplicate_rate",
    "notify_reorder_rate",
    "notify_failure_rate",
}


@dataclass
class Faults:
    latency_ms: float = 0.0  # added to every provider answer
    error_rate: float = 0.0  # share of requests answered 5xx before anything happens
    timeout_rate: float = 0.0  # share of requests that hang for timeout_seconds
    timeout_seconds: float = 30.0
    drop_rate: float = 0.0  # share of requests whose work is committed, then the answer lost
    rate_limit_rate: float = 0.0  # share answered with the provider's own rate-limit error
    notify_drop_rate: float = 0.0  # webhooks never sent
    notify_duplicate_rate: float = 0.0  # webhooks sent twice
    notify_reorder_rate: float = 0.0  # webhooks held back and sent after a later one
    notify_failure_rate: float = 0.0  # webhook deliveries that fail and are retried
    seed: int = 7

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self, name: str) -> bool:
        rate = getattr(self, name)
        return rate > 0 and self.rng.random() < rate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, data: dict[str, Any]) -> list[str]:
        """Apply a partial update; returns a list of problems (empty when applied)."""
        known = {f.name: f for f in fields(self)}
        problems: list[str] = []
        clean: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                problems.append(f"unknown fault {key!r}")
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                problems.append(f"{key} must be a number")
                continue
            if key in _RATES and not 0.0 <= number <= 1.0:
                problems.append(f"{key} must be between 0 and 1")
                continue
            if number < 0:
                problems.append(f"{key} must not be negative")
                continue
            clean[key] = int(number) if key == "seed" else number
        if problems:
            return problems
        for key, value in clean.items():
            setattr(self, key, value)
        if "seed" in clean:
            self.rng = random.Random(self.seed)
        return []

    def clear(self) -> None:
        for f in fields(self):
            if f.name != "seed":
                setattr(self, f.name, f.default)
        self.rng = random.Random(self.seed)
