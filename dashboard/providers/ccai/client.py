"""Async client of the UJET / Google CCAI Platform call API.

Two API families on one host, both with HTTP Basic auth:

- Apps API ``/apps/api/v1``: create outbound, incoming and scheduled calls
  (``POST /calls``), read and update a call's customer flags (``/calls/:id/customer_flag``).
- Manager API ``/manager/api/v1``: list calls (``GET /calls?page=&per=``, pagination in
  the ``total``, ``per-page`` and ``link`` response headers) and read one call
  (``GET /calls/:id``, "Calls: a single call resource" in the Manager API docs; the
  Apps API documents no read of a call).

Credentials: tap-ujet authenticates with the company key and secret, Google's current
pages with the subdomain and an API token. Both are plain Basic credentials; pass either pair.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from dashboard.providers.base import ProviderHTTP, RequestTimings, RetryPolicy, Sleep

from .errors import PROVIDER, CcaiError, CcaiRateLimited, CcaiUnavailable, error_from_message
from .models import Call, CallPage, CreateCallResult, CreateOutcome, CustomerFlags, format_time
from .rules import (
    CALL_TYPE_INBOUND,
    CALL_TYPE_OUTBOUND,
    CALL_TYPE_SCHEDULED,
    canonical_call_type,
    static_problem,
)

__all__ = ["APPS_PREFIX", "MANAGER_PREFIX", "MAX_PER_PAGE", "CcaiClient"]

APPS_PREFIX = "/apps/api/v1"
MANAGER_PREFIX = "/manager/api/v1"
MAX_PER_PAGE = 100  # "up to a maximum of 100. A larger value is reduced to 100."

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";,]+)"?')


class CcaiClient:
    def __init__(
        self,
        *,
        base_url: str,
        company_key: str | None = None,
        company_secret: str | None = None,
        subdomain: str | None = None,
        api_token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timings: RequestTimings | None = None,
        sleep: Sleep = asyncio.sleep,
        max_retry_after: float = 30.0,
    ) -> None:
        if company_key and company_secret:
            credentials = (company_key, company_secret)
        elif subdomain and api_token:
            credentials = (subdomain, api_token)
        else:
            raise ValueError("CCAI needs company_key + company_secret, or subdomain + api_token")
        self._sleep = sleep
        # A 429 may ask for a long wait; past this we give the job back to the caller.
        self.max_retry_after = max_retry_after
        self.http = ProviderHTTP(
            provider=PROVIDER,
            base_url=base_url,
            retry=retry,
            transport=transport,
            auth=httpx.BasicAuth(*credentials),
            headers={"Accept": "application/json"},
            timings=timings,
            sleep=sleep,
        )

    @classmethod
    def for_subdomain(
        cls, subdomain: str, api_token: str, *, domain: str = "ccaiplatform.com", **kwargs: Any
    ) -> CcaiClient:
        """``https://{subdomain}.{domain}`` (e.g. domain "uc1.ccaiplatform.com")."""
        return cls(
            base_url=f"https://{subdomain}.{domain}",
            subdomain=subdomain,
            api_token=api_token,
            **kwargs,
        )

    @property
    def timings(self) -> RequestTimings:
        return self.http.timings

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> CcaiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- creating calls ------------------------------------------------------------

    async def create_outbound_call(
        self,
        *,
        agent_email: str,
        end_user_number: str | None = None,
        ticket_id: str | int | None = None,
        outbound_number: str | None = None,
        lang: str | None = None,
        call_type: str = CALL_TYPE_OUTBOUND,
    ) -> CreateCallResult:
        """An agent calls an end user. ticket_id wins over end_user_number when both are given."""
        return await self.create_call(
            _body(
                call_type=call_type,
                agent_email=agent_email,
                ticket_id=ticket_id,
                end_user_number=end_user_number,
                outbound_number=outbound_number,
                lang=lang,
            ),
            expect=CALL_TYPE_OUTBOUND,
        )

    async def create_incoming_call(
        self,
        *,
        menu_id: int,
        end_user_number: str,
        ticket_id: str | int | None = None,
        outbound_number: str | None = None,
        lang: str | None = None,
        recording_permission: str | None = None,
        call_type: str = CALL_TYPE_INBOUND,
    ) -> CreateCallResult:
        """A call queued on ``menu_id`` as if the end user had called in."""
        return await self.create_call(
            _body(
                call_type=call_type,
                lang=lang,
                menu_id=menu_id,
                ticket_id=ticket_id,
                end_user_number=end_user_number,
                outbound_number=outbound_number,
                recording_permission=recording_permission,
            ),
            expect=CALL_TYPE_INBOUND,
        )

    async def create_scheduled_call(
        self,
        *,
        end_user_number: str,
        scheduled_at: datetime | str,
        menu_id: int | None = None,
        call_id: int | None = None,
        ticket_id: str | int | None = None,
        lang: str | None = None,
        recording_permission: str | None = None,
        call_type: str = CALL_TYPE_SCHEDULED,
    ) -> CreateCallResult:
        """A call back at ``scheduled_at``; ``call_id`` links a parent call (menu_id optional then)."""
        if isinstance(scheduled_at, datetime):
            scheduled_at = format_time(scheduled_at) or ""
        return await self.create_call(
            _body(
                call_type=call_type,
                lang=lang,
                menu_id=menu_id,
                call_id=call_id,
                ticket_id=ticket_id,
                end_user_number=end_user_number,
                scheduled_at=scheduled_at,
                recording_permission=recording_permission,
            ),
            expect=CALL_TYPE_SCHEDULED,
        )

    async def create_call(
        self, body: Mapping[str, Any], *, expect: str | None = None
    ) -> CreateCallResult:
        """``POST /apps/api/v1/calls`` with any documented body, checked before sending.

        The rules that need no account knowledge are checked here with the API's own
        message (``status`` None on the error says it never left). Not retried on 5xx or
        a lost answer: the API has no idempotence key, so a repeat could place a second call.
        """
        payload = dict(body)
        problem = static_problem(payload)
        if expect is not None and canonical_call_type(payload.get("call_type")) != expect:
            # A typed helper given another type's name (e.g. "IncomingCall" to the
            # outbound helper) would otherwise fail on that type's missing fields.
            problem = "Invalid call type"
        if problem is not None:
            raise error_from_message(problem, status=None, request=payload, details={"local": True})
        response = await self._send(
            "POST", f"{APPS_PREFIX}/calls", operation="calls.create", json=payload
        )
        self._raise_for(response, request=payload)
        if response.status_code == 201:
            return CreateCallResult(
                CreateOutcome.CREATED, 201, call=Call.from_json(self._json(response))
            )
        if response.status_code == 202:
            return CreateCallResult(CreateOutcome.ACCEPTED, 202)
        # 200: the call adapter was prompted; the seed shows the request echoed back.
        data = self._json(response, default=None)
        if isinstance(data, dict) and "id" in data and "status" in data:
            # Tolerate a server that answers a created call with 200.
            return CreateCallResult(
                CreateOutcome.CREATED, response.status_code, call=Call.from_json(data)
            )
        echo = data if isinstance(data, dict) else None
        return CreateCallResult(CreateOutcome.PROMPTED, response.status_code, echo=echo)

    # --- reading calls -------------------------------------------------------------

    async def get_call(self, call_id: int) -> Call:
        response = await self._send(
            "GET", f"{MANAGER_PREFIX}/calls/{int(call_id)}", operation="calls.get"
        )
        self._raise_for(response)
        return Call.from_json(self._json(response))

    async def list_calls_page(
        self,
        *,
        page: int = 1,
        per: int = MAX_PER_PAGE,
        sort_column: str | None = "created_at",
        sort_direction: str | None = "ASC",
        created_from: datetime | str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> CallPage:
        """One page of ``GET /manager/api/v1/calls`` (tap-ujet's parameters)."""
        query: dict[str, Any] = {"page": page, "per": max(1, min(int(per), MAX_PER_PAGE))}
        if sort_column:
            query["sort_column"] = sort_column
        if sort_direction:
            query["sort_direction"] = sort_direction
        if created_from is not None:
            query["created_at[from]"] = (
                format_time(created_from) if isinstance(created_from, datetime) else created_from
            )
        query.update(params or {})
        response = await self._send(
            "GET", f"{MANAGER_PREFIX}/calls", operation="calls.list", params=query
        )
        self._raise_for(response)
        data = self._json(response, default=[])
        if not isinstance(data, list):
            raise CcaiError(
                "calls listing is not a JSON array",
                status=response.status_code,
                mnemonic="bad_response",
            )
        next_url = _next_link(response.headers.get("link"))
        return CallPage(
            calls=tuple(Call.from_json(item) for item in data if isinstance(item, dict)),
            page=page,
            per_page=_int_header(response, "per-page"),
            total=_int_header(response, "total"),
            next_page=_page_of(next_url, fallback=page + 1) if next_url else None,
            next_url=next_url,
        )

    async def iter_calls(
        self,
        *,
        per: int = MAX_PER_PAGE,
        sort_column: str | None = "created_at",
        sort_direction: str | None = "ASC",
        created_from: datetime | str | None = None,
        params: Mapping[str, Any] | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[Call]:
        """Every call over all pages, following ``link: rel="next"`` until it is absent.

        We request the next page number with our own base URL and parameters instead of
        fetching the link's URL: the link is built from the host the server saw, which
        behind a proxy (or the sandbox mount) is not the one we talk to.
        """
        page = 1
        pages = 0
        while True:
            result = await self.list_calls_page(
                page=page,
                per=per,
                sort_column=sort_column,
                sort_direction=sort_direction,
                created_from=created_from,
                params=params,
            )
            pages += 1
            for call in result.calls:
                yield call
            if result.next_page is None or not result.calls or result.next_page <= page:
                return
            if max_pages is not None and pages >= max_pages:
                return
            page = result.next_page

    # --- customer flags ------------------------------------------------------------

    async def get_customer_flags(self, call_id: int) -> CustomerFlags:
        response = await self._send(
            "GET",
            f"{APPS_PREFIX}/calls/{int(call_id)}/customer_flag",
            operation="calls.customer_flag.get",
        )
        self._raise_for(response)
        return CustomerFlags.from_json(self._json(response, default={}))

    async def update_customer_flags(
        self,
        call_id: int,
        *,
        verified_customer: bool | None = None,
        bad_actor: bool | None = None,
        repeat_customer: bool | None = None,
    ) -> CustomerFlags:
        """PATCH only the flags given. The docs' PATCH example spells ``repeat_customers``
        while GET answers ``repeat_customer``; we send both spellings so the flag lands
        whichever the server reads (an unknown key is ignored by the API)."""
        body: dict[str, bool] = {}
        if verified_customer is not None:
            body["verified_customer"] = bool(verified_customer)
        if bad_actor is not None:
            body["bad_actor"] = bool(bad_actor)
        if repeat_customer is not None:
            body["repeat_customer"] = bool(repeat_customer)
            body["repeat_customers"] = bool(repeat_customer)
        if not body:
            return await self.get_customer_flags(call_id)
        path = f"{APPS_PREFIX}/calls/{int(call_id)}/customer_flag"
        # Setting flags to given values is idempotent: safe to repeat after a 5xx.
        response = await self._send(
            "PATCH", path, operation="calls.customer_flag.update", json=body, retry_safe=True
        )
        self._raise_for(response, request=body)
        data = self._json(response, default=None)
        if isinstance(data, dict) and any(
            k in data for k in ("verified_customer", "bad_actor", "repeat_customer")
        ):
            return CustomerFlags.from_json(data)
        # The docs show no PATCH answer: read the flags back when it carried none.
        return await self.get_customer_flags(call_id)

    # --- transport -----------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json: Any = None,
        params: Any = None,
        retry_safe: bool | None = None,
    ) -> httpx.Response:
        """One request; a 429 is waited out (Retry-After when given) and sent again.

        A 429 means the request was refused before any work (10 requests per second per
        customer), so repeating it is safe even for a POST.
        """
        attempts = max(1, self.http.retry.attempts)
        for attempt in range(1, attempts + 1):
            response = await self.http.request(
                method, path, operation=operation, json=json, params=params, retry_safe=retry_safe
            )
            if response.status_code != 429:
                return response
            wait = _retry_after(response)
            if attempt == attempts or (wait is not None and wait > self.max_retry_after):
                raise CcaiRateLimited(
                    f"CCAI rate limit hit on {operation}",
                    retry_after=wait,
                    details={"attempts": attempt},
                )
            await self._sleep(wait if wait is not None else self.http.retry.delay(attempt))
        raise AssertionError("unreachable")

    def _raise_for(
        self, response: httpx.Response, *, request: Mapping[str, Any] | None = None
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        message = _message(response)
        if status in (400, 422):
            raise error_from_message(
                message or "Bad request",
                status=status,
                request=dict(request or {}),
                details={"body": _text(response)},
            )
        if status == 401:
            raise CcaiError(
                "CCAI refused the credentials (HTTP Basic: access denied)",
                code=401,
                mnemonic="unauthorized",
                status=401,
                details={"body": _text(response)},
            )
        if status == 403:
            raise CcaiError(message or "Forbidden", code=403, mnemonic="forbidden", status=403)
        if status == 404:
            # "Resource not found - Please check your subdomain" (or an unknown call id).
            raise CcaiError(
                message or "Resource not found", code=404, mnemonic="not_found", status=404
            )
        if status >= 500:
            raise CcaiUnavailable(
                f"CCAI answered {status}" + (f": {message}" if message else ""),
                code=status,
                status=status,
                mnemonic="server_error",
            )
        raise CcaiError(
            message or f"CCAI answered {status}", code=status, mnemonic="http_error", status=status
        )

    @staticmethod
    def _json(response: httpx.Response, default: Any = ...) -> Any:
        if not response.content.strip():
            if default is ...:
                raise CcaiError(
                    "empty answer where a JSON body was expected",
                    status=response.status_code,
                    code=response.status_code,
                    mnemonic="bad_response",
                )
            return default
        try:
            return response.json()
        except ValueError as exc:
            if default is not ...:
                return default
            raise CcaiError(
                "answer is not JSON",
                status=response.status_code,
                code=response.status_code,
                mnemonic="bad_response",
            ) from exc


def _body(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _text(response: httpx.Response) -> str:
    return response.text[:500]


def _message(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] or None
    if isinstance(data, dict):
        for key in ("message", "error", "errors"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:
                return "; ".join(str(v) for v in value)
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _next_link(header: str | None) -> str | None:
    if not header:
        return None
    for url, rel in _LINK.findall(header):
        if "next" in rel.split():
            return url
    return None


def _page_of(url: str, *, fallback: int) -> int:
    values = parse_qs(urlsplit(url).query).get("page")
    try:
        return int(values[0]) if values else fallback
    except ValueError:
        return fallback


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers.get(name, ""))
    except ValueError:
        return None
