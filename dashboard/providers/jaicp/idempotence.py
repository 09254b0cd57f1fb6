"""The sandbox's Idempotence-Key store (seed 001).

Keys are account-wide (one store for all campaigns) and expire ``ttl`` seconds of sandbox
time after their first use. Only successful answers are stored: see the sandbox module's
notes for the readings.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.sandbox.http import Response

__all__ = ["IdempotenceStore", "StoredAnswer"]


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str  # method, operation, campaign token and content of the first request
    first_used: float
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def replay(self) -> Response:
        # Not committed: a replay changes nothing, so the drop fault leaves it alone.
        return Response(self.status, self.body, list(self.headers))


class IdempotenceStore:
    def __init__(self, *, ttl: float) -> None:
        self.ttl = ttl
        self._answers: dict[str, StoredAnswer] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def lookup(self, key: str, now: float) -> StoredAnswer | None:
        stored = self._answers.get(key)
        if stored is not None and now - stored.first_used >= self.ttl:
            # Expired: the key may produce duplicates again (seed 001).
            del self._answers[key]
            return None
        return stored

    def remember(self, key: str, fingerprint: str, now: float, response: Response) -> None:
        self._answers[key] = StoredAnswer(
            fingerprint, now, response.status, response.body, tuple(response.headers)
        )
