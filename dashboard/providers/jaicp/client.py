"""Async client of the JAICP Calls API (one campaign token per client).

Sources: seeds 000 (older docs), 001 (method list, idempotence), 002 (adding phones,
gmtZone), and the official OpenAPI "calls api" 1.10.0 (CryLeech/jaicp-mcp
vendor/specs/calls.yml, common.yml). Readings where they disagree are noted at the code.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from ..base import (
    ProviderError,
    ProviderHTTP,
    ProviderUnavailable,
    RequestTimings,
    RetryPolicy,
    Sleep,
)
from .models import (
    CallAttemptReport,
    CallJobParameters,
    CallJobRejected,
    CallJobReport,
    CampaignInfo,
    ReportPage,
    normalize_campaign_status,
    validate_call_jobs,
)

__all__ = ["PROVIDER", "JaicpClient", "JaicpError"]

PROVIDER = "jaicp"
CONTROL_ACTIONS = ("start", "pause", "resume", "stop")
MAX_PAGE = 199  # PaginationRequest.page maximum
MAX_PAGE_SIZE = 200  # PaginationRequest.pageSize maximum

# 400 bodies that name the offending value: the body key -> ProviderError.field.
_FIELD_KEYS = ("gmtZone", "dialerPriority", "allowedTime", "phone")


class JaicpError(ProviderError):
    """A JAICP error; ``code`` and ``mnemonic`` are both the body's ``type`` (or ``error``)."""


def _field_of(body: Mapping[str, Any]) -> tuple[str | None, Any]:
    """Which request field an error body blames: an explicit ``field`` (our
    invalid.parameter answers), else the most specific key the body names (gmtZone before
    phone for phone.gmtZone.bad.format), else the campaign ``state``."""
    if "field" in body:
        return body.get("field"), body.get("value")
    for key in (*_FIELD_KEYS, "state"):
        if key in body:
            return key, body[key]
    return None, None


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_key() -> str:
    # Seed 001 recommends UUIDs so keys never collide across the account.
    return str(uuid.uuid4())


class JaicpClient:
    """Calls API for one campaign.

    ``base_url`` is the host (``https://app.jaicp.com``, or the sandbox's
    ``http://sandbox/jaicp``); paths ``/api/calls/...`` and ``/api/crmCalls/...`` are
    appended. Every POST carries an ``Idempotence-Key`` header: the caller's, or one
    generated per logical call; ProviderHTTP's retries resend the same headers, so a retry
    after a lost answer never creates a second job.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timings: RequestTimings | None = None,
        sleep: Sleep = asyncio.sleep,
        key_factory: Callable[[], str] = _new_key,
    ) -> None:
        if not token:
            raise ValueError("a JAICP campaign token is required")
        self.token = token
        self._key_factory = key_factory
        self.http = ProviderHTTP(
            provider=PROVIDER,
            base_url=base_url,
            retry=retry,
            transport=transport,
            headers={"Accept": "application/json"},
            timings=timings,
            sleep=sleep,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> JaicpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def timings(self) -> RequestTimings:
        return self.http.timings

    # --- paths and plumbing ------------------------------------------------------

    def _calls(self, suffix: str = "") -> str:
        return f"/api/calls/campaign/{quote(self.token, safe='')}{suffix}"

    def _crm(self, suffix: str) -> str:
        return f"/api/crmCalls/campaign/{quote(self.token, safe='')}{suffix}"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json_body: Any = None,
        params: Any = None,
        data: Any = None,
        idempotence_key: str | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if method == "POST" or idempotence_key is not None:
            headers["Idempotence-Key"] = idempotence_key or self._key_factory()
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        response = await self.http.request(
            method,
            path,
            operation=operation,
            json=json_body,
            params=params,
            data=data,
            headers=headers,
        )
        if response.status_code >= 400:
            raise self._error(response, operation)
        return response

    def _error(self, response: httpx.Response, operation: str) -> ProviderError:
        status = response.status_code
        # 5xx (after ProviderHTTP's retries) and 429 may pass if repeated later.
        transient = status >= 500 or status == 429
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = response.text.strip()[:200]
            message = f"JAICP answered {status} to {operation}" + (f": {text}" if text else "")
            cls = ProviderUnavailable if transient else JaicpError
            return cls(
                message, provider=PROVIDER, code=status, status=status, permanent=not transient
            )
        # Two error shapes: {type, message, ...} (most methods) and {error, message, args}
        # (control, ApiErrorData).
        code = body.get("type") or body.get("error") or str(status)
        field_name, value = _field_of(body)
        cls = ProviderUnavailable if status >= 500 else JaicpError
        return cls(
            str(body.get("message") or code),
            provider=PROVIDER,
            code=code,
            mnemonic=code,
            field=field_name,
            value=value,
            status=status,
            permanent=not transient,
            details=body,
        )

    @staticmethod
    def _local_error(exc: CallJobRejected) -> JaicpError:
        """A request we refuse to send: the same code the server would answer."""
        field_name, value = _field_of(exc.extra)
        return JaicpError(
            exc.message,
            provider=PROVIDER,
            code=exc.type,
            mnemonic=exc.type,
            field=field_name,
            value=value,
            status=None,
            permanent=True,
            details={**exc.body(), "local": True},
        )

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return response.text.strip()

    @classmethod
    def _job_id(cls, response: httpx.Response) -> str:
        # The spec types CallJobID as a JSON string; a bare number in text/plain is
        # tolerated too (seed 002 only says "a string containing the created call job ID").
        body = cls._json(response)
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        return str(body).strip().strip('"')

    @classmethod
    def _id_list(cls, response: httpx.Response) -> list[str]:
        # Ids are strings per the spec; the spec's own example ([1234,6543]) has numbers.
        body = cls._json(response)
        if not isinstance(body, list):
            raise JaicpError(
                "JAICP answered an unexpected body (expected a list of call job ids)",
                provider=PROVIDER,
                code="unexpected.body",
                mnemonic="unexpected.body",
                status=response.status_code,
                details={"body": body},
            )
        return [str(x) for x in body]

    @staticmethod
    def _selection(
        phones: Sequence[str | int] | None, ids: Sequence[str | int] | None
    ) -> dict[str, list[str]]:
        body: dict[str, list[str]] = {}
        if phones:
            body["phones"] = [str(p) for p in phones]
        if ids:
            body["ids"] = [str(i) for i in ids]
        return body

    # --- adding phone numbers ------------------------------------------------------

    async def add_phones(
        self,
        items: Sequence[CallJobParameters | Mapping[str, Any]],
        *,
        idempotence_key: str | None = None,
    ) -> list[str]:
        """POST addPhones: one call job per item, ids (strings) in input order.

        Checked locally first (unique phones, gmtZone, dialerPriority 1-5, allowedTime
        overlaps, retryIntervalInMinutes 1-2880, maxAttempts 1-50, allowedDays, dates,
        externalCheck); the regional phone format is left to the server.
        """
        try:
            body = validate_call_jobs(list(items))
        except CallJobRejected as exc:
            raise self._local_error(exc) from None
        response = await self._send(
            "POST",
            self._calls("/addPhones"),
            operation="addPhones",
            json_body=body,
            idempotence_key=idempotence_key or self._key_factory(),
        )
        return self._id_list(response)

    def _single_phone_query(
        self,
        phone: str | int,
        gmt_zone: str | None,
        payload: Mapping[str, Any] | None,
    ) -> list[tuple[str, str]]:
        item: dict[str, Any] = {"phone": str(phone)}
        if gmt_zone is not None:
            item["gmtZone"] = gmt_zone
        try:
            validate_call_jobs([item])
        except CallJobRejected as exc:
            raise self._local_error(exc) from None
        pairs = [("phone", str(phone))]
        if gmt_zone is not None:
            pairs.append(("gmtZone", gmt_zone))
        for name, value in (payload or {}).items():
            if name in {"phone", "gmtZone", "Idempotence-Key"}:
                raise JaicpError(
                    f"payload key {name!r} collides with a reserved parameter",
                    provider=PROVIDER,
                    code="invalid.parameter",
                    mnemonic="invalid.parameter",
                    field=name,
                    value=value,
                )
            # URL and form parameters are strings; the script reads them via $dialer.getPayload.
            pairs.append((str(name), value if isinstance(value, str) else json.dumps(value)))
        return pairs

    async def add_phone(
        self,
        phone: str | int,
        *,
        gmt_zone: str | None = None,
        payload: Mapping[str, Any] | None = None,
        idempotence_key: str | None = None,
    ) -> str:
        """GET /api/calls/campaign/{token}/addPhone (seed 002): the simplified single-number
        method; extra parameters become the payload. The key goes both as the
        ``Idempotence-Key`` query parameter (seed 001) and header (spec).

        Seeds 001/002 spell this path under ``/api/calls``, the spec only has it under
        ``/api/crmCalls`` (:meth:`crm_add_phone` with ``method="GET"``): both are kept, and
        an account whose host answers 404 here should use the crmCalls one."""
        return await self._add_one(
            "GET", self._calls("/addPhone"), "addPhone", phone, gmt_zone, payload, idempotence_key
        )

    async def crm_add_phone(
        self,
        phone: str | int,
        *,
        gmt_zone: str | None = None,
        payload: Mapping[str, Any] | None = None,
        idempotence_key: str | None = None,
        method: Literal["GET", "POST"] = "POST",
    ) -> str:
        """crmCalls addPhone: GET with query parameters, or POST with a form-urlencoded body
        (not JSON). JAICP refuses the same phone with the same payload within 24 h unless
        the request repeats the idempotence key of the first one."""
        return await self._add_one(
            method, self._crm("/addPhone"), "crmAddPhone", phone, gmt_zone, payload, idempotence_key
        )

    async def test_add_phone(
        self,
        phone: str | int,
        *,
        gmt_zone: str | None = None,
        payload: Mapping[str, Any] | None = None,
        idempotence_key: str | None = None,
    ) -> str:
        """GET crmCalls test/addPhone: like addPhone without the 24 h duplicate check."""
        return await self._add_one(
            "GET",
            self._crm("/test/addPhone"),
            "testAddPhone",
            phone,
            gmt_zone,
            payload,
            idempotence_key,
        )

    async def _add_one(
        self,
        method: str,
        path: str,
        operation: str,
        phone: str | int,
        gmt_zone: str | None,
        payload: Mapping[str, Any] | None,
        idempotence_key: str | None,
    ) -> str:
        pairs = self._single_phone_query(phone, gmt_zone, payload)
        key = idempotence_key or self._key_factory()
        if method == "GET":
            response = await self._send(
                "GET",
                path,
                operation=operation,
                params=[*pairs, ("Idempotence-Key", key)],
                idempotence_key=key,
            )
        else:
            response = await self._send(
                "POST", path, operation=operation, data=dict(pairs), idempotence_key=key
            )
        return self._job_id(response)

    # --- cancelling ------------------------------------------------------------------

    async def cancel(
        self,
        *,
        phones: Sequence[str | int] | None = None,
        ids: Sequence[str | int] | None = None,
        idempotence_key: str | None = None,
    ) -> list[str]:
        """POST callJob/cancel: ongoing calls finish, no new attempts start. Only jobs added
        through the API can be cancelled. Answers the cancelled ids."""
        response = await self._send(
            "POST",
            self._calls("/callJob/cancel"),
            operation="cancel",
            json_body=self._selection(phones, ids),
            idempotence_key=idempotence_key,
        )
        return self._id_list(response)

    # --- reports ---------------------------------------------------------------------

    async def _report_list(
        self, path: str, operation: str, body: Any, key: str | None
    ) -> list[Any]:
        response = await self._send(
            "POST", path, operation=operation, json_body=body, idempotence_key=key
        )
        data = self._json(response)
        if not isinstance(data, list):
            raise JaicpError(
                f"JAICP answered an unexpected body to {operation}",
                provider=PROVIDER,
                code="unexpected.body",
                mnemonic="unexpected.body",
                status=response.status_code,
            )
        return data

    async def call_job_report(
        self,
        *,
        phones: Sequence[str | int] | None = None,
        ids: Sequence[str | int] | None = None,
        idempotence_key: str | None = None,
    ) -> list[CallJobReport]:
        """POST callJob/getReport by job ids and/or phones."""
        rows = await self._report_list(
            self._calls("/callJob/getReport"),
            "callJobReport",
            self._selection(phones, ids),
            idempotence_key,
        )
        return [CallJobReport.from_json(r) for r in rows]

    async def get_report(
        self,
        *,
        phones: Sequence[str | int] | None = None,
        ids: Sequence[str | int] | None = None,
        idempotence_key: str | None = None,
    ) -> list[CallJobReport]:
        """POST getReport: the older docs' name (seed 000) for the call job report."""
        rows = await self._report_list(
            self._calls("/getReport"), "getReport", self._selection(phones, ids), idempotence_key
        )
        return [CallJobReport.from_json(r) for r in rows]

    async def call_attempt_report(
        self,
        *,
        phones: Sequence[str | int] | None = None,
        ids: Sequence[str | int] | None = None,
        idempotence_key: str | None = None,
    ) -> list[CallAttemptReport]:
        """POST callAttempt/getReport: every attempt of the selected jobs."""
        rows = await self._report_list(
            self._calls("/callAttempt/getReport"),
            "callAttemptReport",
            self._selection(phones, ids),
            idempotence_key,
        )
        return [CallAttemptReport.from_json(r) for r in rows]

    @staticmethod
    def _pagination(page: int, page_size: int) -> dict[str, int]:
        if not 0 <= page <= MAX_PAGE or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise JaicpError(
                f"pagination out of range (page 0..{MAX_PAGE}, pageSize 1..{MAX_PAGE_SIZE})",
                provider=PROVIDER,
                code="invalid.pagination",
                mnemonic="invalid.pagination",
                field="page" if not 0 <= page <= MAX_PAGE else "pageSize",
                value=page if not 0 <= page <= MAX_PAGE else page_size,
            )
        return {"page": page, "pageSize": page_size}

    async def _page(
        self, path: str, operation: str, body: dict[str, Any], parse: Callable[[Any], Any]
    ) -> ReportPage[Any]:
        response = await self._send("POST", path, operation=operation, json_body=body)
        data = self._json(response)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise JaicpError(
                f"JAICP answered an unexpected body to {operation}",
                provider=PROVIDER,
                code="unexpected.body",
                mnemonic="unexpected.body",
                status=response.status_code,
            )
        pagination = data.get("pagination") or {}
        return ReportPage(
            items=[parse(r) for r in items],
            page=int(pagination.get("page", body["pagination"]["page"])),
            page_size=int(pagination.get("pageSize", body["pagination"]["pageSize"])),
        )

    @staticmethod
    def _filter(**dates: datetime | str | None) -> dict[str, str]:
        return {k: v for k, v in ((k, _iso(v)) for k, v in dates.items()) if v is not None}

    async def call_job_report_by_date(
        self,
        *,
        created_at_from: datetime | str | None = None,
        created_at_to: datetime | str | None = None,
        finished_at_from: datetime | str | None = None,
        finished_at_to: datetime | str | None = None,
        page: int = 0,
        page_size: int = 20,
    ) -> ReportPage[CallJobReport]:
        """POST callJob/getReportByDate: one page of jobs filtered by dates."""
        body = {
            "filter": self._filter(
                createdAtFrom=created_at_from,
                createdAtTo=created_at_to,
                finishedAtFrom=finished_at_from,
                finishedAtTo=finished_at_to,
            ),
            "pagination": self._pagination(page, page_size),
        }
        return await self._page(
            self._calls("/callJob/getReportByDate"),
            "callJobReportByDate",
            body,
            CallJobReport.from_json,
        )

    async def call_job_unfinished(
        self, *, page: int = 0, page_size: int = 20
    ) -> ReportPage[CallJobReport]:
        """POST callJob/getUnfinished: jobs whose finishedAt is null.

        The spec's request body here is the bare PaginationRequest (``{"page",
        "pageSize"}``) while the provider notes describe ``{"pagination": {...}}`` like the
        by-date methods. We send both spellings in one body (unknown keys are ignored by
        the server's JSON binding); the sandbox reads either."""
        pagination = self._pagination(page, page_size)
        body = {"pagination": pagination, **pagination}
        return await self._page(
            self._calls("/callJob/getUnfinished"),
            "callJobUnfinished",
            body,
            CallJobReport.from_json,
        )

    async def call_attempt_report_by_date(
        self,
        *,
        started_at_from: datetime | str | None = None,
        started_at_to: datetime | str | None = None,
        finished_at_from: datetime | str | None = None,
        finished_at_to: datetime | str | None = None,
        page: int = 0,
        page_size: int = 20,
    ) -> ReportPage[CallAttemptReport]:
        """POST callAttempt/getReportByDate: one page of attempts filtered by dates."""
        body = {
            "filter": self._filter(
                startedAtFrom=started_at_from,
                startedAtTo=started_at_to,
                finishedAtFrom=finished_at_from,
                finishedAtTo=finished_at_to,
            ),
            "pagination": self._pagination(page, page_size),
        }
        return await self._page(
            self._calls("/callAttempt/getReportByDate"),
            "callAttemptReportByDate",
            body,
            CallAttemptReport.from_json,
        )

    async def _all_pages(self, fetch: Callable[[int], Any], page_size: int) -> AsyncIterator[Any]:
        for page in range(MAX_PAGE + 1):
            result = await fetch(page)
            for item in result.items:
                yield item
            if len(result.items) < page_size:
                return
        # 200 pages of 200 is the API's ceiling: the rest is unreachable with this filter.
        raise JaicpError(
            "The report has more rows than the API pages through (200 pages); narrow the date filter",
            provider=PROVIDER,
            code="report.too.large",
            mnemonic="report.too.large",
        )

    def iter_call_job_report_by_date(
        self, *, page_size: int = MAX_PAGE_SIZE, **filters: Any
    ) -> AsyncIterator[CallJobReport]:
        return self._all_pages(
            lambda page: self.call_job_report_by_date(page=page, page_size=page_size, **filters),
            page_size,
        )

    def iter_call_job_unfinished(
        self, *, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[CallJobReport]:
        """All unfinished jobs. Jobs finishing during the walk shift later pages, so a job
        may be skipped: callers should treat this as a snapshot to re-check, not a ledger."""
        return self._all_pages(
            lambda page: self.call_job_unfinished(page=page, page_size=page_size), page_size
        )

    def iter_call_attempt_report_by_date(
        self, *, page_size: int = MAX_PAGE_SIZE, **filters: Any
    ) -> AsyncIterator[CallAttemptReport]:
        return self._all_pages(
            lambda page: self.call_attempt_report_by_date(
                page=page, page_size=page_size, **filters
            ),
            page_size,
        )

    # --- campaign ----------------------------------------------------------------------

    async def campaign_info(self) -> CampaignInfo:
        """GET /api/calls/campaign/{token}."""
        response = await self._send("GET", self._calls(), operation="campaignInfo")
        data = self._json(response)
        if not isinstance(data, dict):
            raise JaicpError(
                "JAICP answered an unexpected body to campaignInfo",
                provider=PROVIDER,
                code="unexpected.body",
                mnemonic="unexpected.body",
                status=response.status_code,
            )
        return CampaignInfo.from_json(data)

    async def status(self) -> str:
        """GET .../status: the campaign status string (JSON string or bare text tolerated)."""
        response = await self._send("GET", self._calls("/status"), operation="campaignStatus")
        return normalize_campaign_status(str(self._json(response)).strip().strip('"')) or ""

    async def control(self, action: str, *, idempotence_key: str | None = None) -> None:
        """POST control/{action}: start (older docs only), pause, resume, stop."""
        if action not in CONTROL_ACTIONS:
            raise ValueError(f"unknown campaign control action {action!r}")
        await self._send(
            "POST",
            self._calls(f"/control/{action}"),
            operation=f"control.{action}",
            idempotence_key=idempotence_key,
        )

    async def start(self, *, idempotence_key: str | None = None) -> None:
        await self.control("start", idempotence_key=idempotence_key)

    async def pause(self, *, idempotence_key: str | None = None) -> None:
        await self.control("pause", idempotence_key=idempotence_key)

    async def resume(self, *, idempotence_key: str | None = None) -> None:
        await self.control("resume", idempotence_key=idempotence_key)

    async def stop(self, *, idempotence_key: str | None = None) -> None:
        await self.control("stop", idempotence_key=idempotence_key)
