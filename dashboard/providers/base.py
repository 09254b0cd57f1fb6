"""What the three provider clients share: one HTTP transport with a single timeout and
retry policy, one typed error, and per-request timing for the provider health tiles.

Clients are async first (httpx.AsyncClient). Sync callers (views, task workers) go
through ``asgiref.sync.async_to_sync``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "ProviderError",
    "ProviderHTTP",
    "ProviderUnavailable",
    "RequestRecord",
    "RequestTimings",
    "RetryPolicy",
]


class ProviderError(Exception):
    """Any failure a provider reported or that stopped us reaching it.

    ``code`` is the provider's own code (a JSON-RPC code, an HTTP status, a JAICP error
    ``type``), ``mnemonic`` its symbolic name where it has one. ``permanent`` says
    whether repeating the same request can succeed: a validation error is permanent, a
    timeout or a 503 is not.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: int | str | None = None,
        mnemonic: str | None = None,
        field: str | None = None,
        value: Any = None,
        status: int | None = None,
        permanent: bool = True,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.mnemonic = mnemonic
        self.field = field
        self.value = value
        self.status = status
        self.permanent = permanent
        self.details = dict(details or {})

    def describe(self) -> str:
        """One line a supervisor can read, with the mnemonic for support."""
        parts = [self.message.rstrip(".")]
        if self.field:
            parts.append(f"field {self.field}")
        tag = self.mnemonic or (str(self.code) if self.code is not None else None)
        text = "; ".join(parts)
        return f"{text} [{self.provider}: {tag}]" if tag else f"{text} [{self.provider}]"

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "message": self.message,
            "code": self.code,
            "mnemonic": self.mnemonic,
            "field": self.field,
            "value": self.value,
            "status": self.status,
            "permanent": self.permanent,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"code={self.code!r}, mnemonic={self.mnemonic!r}, status={self.status!r})"
        )


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered with a transient failure."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("permanent", False)
        kwargs.setdefault("mnemonic", "unavailable")
        super().__init__(message, **kwargs)


@dataclass(frozen=True)
class RequestRecord:
    at: float  # wall-clock time the request started
    operation: str
    duration_ms: float
    ok: bool
    status: int | None
    mnemonic: str | None = None


class RequestTimings:
    """A bounded log of recent requests of one account, read by the health tiles."""

    def __init__(self, maxlen: int = 500) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)

    def add(self, record: RequestRecord) -> None:
        self._records.append(record)

    def recent(self, seconds: float | None = None, *, now: float | None = None) -> list[RequestRecord]:
        if seconds is None:
            return list(self._records)
        cutoff = (now if now is not None else time.time()) - seconds
        return [r for r in self._records if r.at >= cutoff]

    def summary(self, seconds: float = 300.0) -> dict[str, Any]:
        records = self.recent(seconds)
        if not records:
            return {"count": 0, "errors": 0, "error_rate": 0.0, "p50_ms": None, "p95_ms": None}
        durations = sorted(r.duration_ms for r in records)
        errors = sum(1 for r in records if not r.ok)

        def pct(p: float) -> float:
            return round(durations[min(len(durations) - 1, int(p * len(durations)))], 1)

        return {
            "count": len(records),
            "errors": errors,
            "error_rate": errors / len(records),
            "p50_ms": pct(0.5),
            "p95_ms": pct(0.95),
        }


@dataclass(frozen=True)
class RetryPolicy:
    """One policy for all providers: retry only what is safe to repeat.

    A request is safe to repeat when its method is idempotent (GET) or it carries an
    idempotence key, or when the client says so (JSON-RPC reads such as list.calls).
    """

    attempts: int = 3
    timeout: float = 10.0
    backoff: float = 0.25
    backoff_max: float = 4.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({500, 502, 503, 504}))

    def delay(self, attempt: int) -> float:
        base = min(self.backoff_max, self.backoff * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2)


Sleep = Callable[[float], Awaitable[None]]


class ProviderHTTP:
    """The transport under every client: base URL, timeout, retries, timing."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timings: RequestTimings | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.timings = timings if timings is not None else RequestTimings()
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(self.retry.timeout),
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ProviderHTTP:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry_safe: bool | None = None,
        json: Any = None,
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying transient failures when it is safe to.

        Returns the final response whatever its status (clients map provider errors
        themselves); raises ProviderUnavailable when no response could be had.
        """
        if retry_safe is None:
            retry_safe = method.upper() in {"GET", "HEAD", "OPTIONS"} or any(
                k.lower() == "idempotence-key" for k in (headers or {})
            )
        attempts = self.retry.attempts if retry_safe else 1
        last_error: Exception | None = None
        response: httpx.Response | None = None
        for attempt in range(1, attempts + 1):
            started = time.time()
            t0 = time.perf_counter()
            try:
                # The outer guard keeps the timeout uniform on transports that ignore
                # httpx's own (the in-process ASGI transport used by tests and the demo).
                async with asyncio.timeout(self.retry.timeout):
                    response = await self._client.request(
                        method, path, json=json, params=params, data=data, headers=headers
                    )
            # ConnectionError: a connection cut mid-answer, as an in-process ASGI
            # transport reports it (the sandbox's "commit then drop" fault).
            except (httpx.TransportError, TimeoutError, ConnectionError) as exc:
                last_error = exc
                self._record(operation, started, t0, ok=False, status=None, mnemonic="unavailable")
                if attempt < attempts:
                    await self._sleep(self.retry.delay(attempt))
                    continue
                break
            ok = response.status_code < 400
            self._record(operation, started, t0, ok=ok, status=response.status_code)
            if response.status_code in self.retry.retry_statuses and attempt < attempts:
                await self._sleep(self.retry.delay(attempt))
                continue
            return response
        if response is not None:
            return response
        raise ProviderUnavailable(
            f"{self.provider} did not answer {operation} ({type(last_error).__name__})",
            provider=self.provider,
            details={"attempts": attempts},
        ) from last_error

    def _record(
        self, operation: str, started: float, t0: float, *, ok: bool, status: int | None, mnemonic: str | None = None
    ) -> None:
        self.timings.add(
            RequestRecord(
                at=started,
                operation=operation,
                duration_ms=(time.perf_counter() - t0) * 1000,
                ok=ok,
                status=status,
                mnemonic=mnemonic,
            )
        )

    def record_failure(self, operation: str, mnemonic: str | None) -> None:
        """Let a client mark a request that came back 200 but carried a provider error
        (JSON-RPC errors arrive with HTTP 200), so the health tile counts it."""
        if self.timings._records and self.timings._records[-1].operation == operation:
            last = self.timings._records.pop()
            self.timings.add(
                RequestRecord(
                    at=last.at,
                    operation=operation,
                    duration_ms=last.duration_ms,
                    ok=False,
                    status=last.status,
                    mnemonic=mnemonic,
                )
            )
