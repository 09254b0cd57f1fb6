"""Clients for ProviderAccount rows: the one place that turns stored credentials into a
provider client, keeps each account's request timings for the health tiles and reuses
CallGear login sessions between requests (each login.user costs limit points).

Sandbox accounts are reached over HTTP like real ones, so the sandbox always runs in its
server's event loop. Tests swap ``transport_for`` for an in-process ASGI transport.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgiref.sync import async_to_sync

from dashboard.models import ProviderAccount
from dashboard.providers.base import RequestTimings
from dashboard.providers.callgear.client import CallGearClient
from dashboard.providers.ccai.client import CcaiClient
from dashboard.providers.jaicp.client import JaicpClient

_lock = threading.Lock()
_timings: dict[int, RequestTimings] = {}
_callgear_sessions: dict[tuple[int, str], Any] = {}
_callgear_limits: dict[int, Any] = {}


def callgear_limits(account: ProviderAccount) -> Any:
    """The ``metadata.limits`` of the account's latest CallGear answer in this process."""
    with _lock:
        return _callgear_limits.get(account.pk)


def timings_for(account: ProviderAccount) -> RequestTimings:
    with _lock:
        return _timings.setdefault(account.pk, RequestTimings())


def transport_for(account: ProviderAccount) -> httpx.AsyncBaseTransport | None:
    """None means a real HTTP connection. Replaced in tests."""
    return None


def _session_key(account: ProviderAccount) -> tuple[int, str]:
    # A changed login or password must not reuse the old session.
    return (account.pk, f"{account.base_url}|{account.login}|{hash(account.password)}")


def callgear_client(account: ProviderAccount, **kwargs: Any) -> CallGearClient:
    if account.callgear_auth == ProviderAccount.CallGearAuth.ACCESS_KEY:
        credentials = {"access_key": account.access_key}
    else:
        credentials = {"login": account.login, "password": account.password}
    client = CallGearClient(
        base_url=account.base_url, transport=transport_for(account), timings=timings_for(account),
        **credentials, **kwargs,
    )
    with _lock:
        session = _callgear_sessions.get(_session_key(account))
    if session is not None:
        client._session = session
    return client


def ccai_client(account: ProviderAccount, **kwargs: Any) -> CcaiClient:
    return CcaiClient(
        base_url=account.base_url, company_key=account.company_key, company_secret=account.company_secret,
        transport=transport_for(account), timings=timings_for(account), **kwargs,
    )


def jaicp_client(account: ProviderAccount, token: str, **kwargs: Any) -> JaicpClient:
    return JaicpClient(
        base_url=account.base_url, token=token, transport=transport_for(account), timings=timings_for(account),
        **kwargs,
    )


@asynccontextmanager
async def open_callgear(account: ProviderAccount, **kwargs: Any) -> AsyncIterator[CallGearClient]:
    client = callgear_client(account, **kwargs)
    try:
        yield client
    finally:
        with _lock:
            if client.session is not None:
                _callgear_sessions[_session_key(account)] = client.session
            if client.limits is not None:
                _callgear_limits[account.pk] = client.limits
        await client.aclose()


@asynccontextmanager
async def open_ccai(account: ProviderAccount, **kwargs: Any) -> AsyncIterator[CcaiClient]:
    client = ccai_client(account, **kwargs)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def open_jaicp(account: ProviderAccount, token: str, **kwargs: Any) -> AsyncIterator[JaicpClient]:
    client = jaicp_client(account, token, **kwargs)
    try:
        yield client
    finally:
        await client.aclose()


def run[T](coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run provider work from sync code (views, task workers)."""

    async def runner() -> T:
        return await coro_fn()

    return async_to_sync(runner)()


def forget_sessions() -> None:
    with _lock:
        _callgear_sessions.clear()
