"""JAICP Calls API shapes: call job parameters (with the spec's validation rules, shared by
the client, which checks before sending, and the sandbox, which answers the same errors)
and the reports and campaign info the API returns.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .gmtzone import GmtZoneError, parse_gmt_zone

__all__ = [
    "CAMPAIGN_STATUSES",
    "DAYS",
    "FINAL_JOB_STATUSES",
    "JOB_STATUSES",
    "CallAttemptReport",
    "CallJobParameters",
    "CallJobRejected",
    "CallJobReport",
    "CampaignInfo",
    "ReportPage",
    "ShortReport",
    "normalize_campaign_status",
    "normalize_job_status",
    "parse_timestamp",
    "phone_digits",
    "validate_call_jobs",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The spec's JobStatus enum. Seed 000 writes "canceled" (and "longСallWithResult" with a
# Cyrillic "С"); normalize_job_status maps those onto these.
JOB_STATUSES = (
    "longCallWithNoResult",
    "noAnswer",
    "planned",
    "notDone",
    "longCallWithResult",
    "inProcess",
    "onRetry",
    "cancelledByUser",
    "technicalError",
    "nonexistentNumber",
    "unknown",
)
FINAL_JOB_STATUSES = frozenset(
    {
        "longCallWithNoResult",
        "longCallWithResult",
        "noAnswer",
        "notDone",
        "cancelledByUser",
        "technicalError",
        "nonexistentNumber",
    }
)
# Spec CallTaskStatusType; the older docs say "inProcess" for a running campaign.
CAMPAIGN_STATUSES = ("new", "planned", "inProgress", "finished", "paused", "deleted")

_JOB_STATUS_ALIASES = {
    "canceled": "cancelledByUser",
    "cancelled": "cancelledByUser",
    "canceledByUser": "cancelledByUser",
}


def normalize_job_status(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).replace("С", "C").replace("с", "c")  # Cyrillic look-alikes in seed 000
    return _JOB_STATUS_ALIASES.get(text, text)


def normalize_campaign_status(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return {"inProcess": "inProgress", "IN_PROGRESS": "inProgress"}.get(text, text)


def phone_digits(phone: object) -> str:
    return "".join(ch for ch in str(phone) if ch.isdigit())


# --- call job parameters -------------------------------------------------------------


class CallJobRejected(ValueError):
    """A request JAICP answers with 400: ``type`` is the API's error type, ``extra`` the
    other body fields (``phone``, ``gmtZone``, ``phonesDuplicates``...)."""

    def __init__(self, type_: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, **self.extra}


# The spec gives no error type for out-of-range retryIntervalInMinutes / maxAttempts,
# malformed allowedDays, dates or externalCheck (only "validated"); the sandbox answers them
# as 400 {"type": "invalid.parameter", "message", "field", "value", "phone"} (our reading).
INVALID_PARAMETER = "invalid.parameter"

_TIME = re.compile(r"^(?P<h>[01]\d|2[0-3]):(?P<m>[0-5]\d)$|^24:00$")
_PHONE = re.compile(r"^\+?\d{7,15}$")


@dataclass
class CallJobParameters:
    """One item of ``addPhones``. Unset fields are left out, so the campaign's policy applies."""

    phone: str
    payload: Mapping[str, Any] | None = None
    gmt_zone: str | None = None
    start_date_time: datetime | str | None = None
    finish_date_time: datetime | str | None = None
    allowed_days: Sequence[str] | None = None
    allowed_time: Mapping[str, Sequence[Mapping[str, str]]] | None = None
    retry_interval_in_minutes: int | None = None
    max_attempts: int | None = None
    dialer_priority: int | None = None
    external_check: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"phone": str(self.phone)}
        pairs = (
            ("payload", self.payload),
            ("gmtZone", self.gmt_zone),
            ("startDateTime", _iso(self.start_date_time)),
            ("finishDateTime", _iso(self.finish_date_time)),
            ("allowedDays", list(self.allowed_days) if self.allowed_days is not None else None),
            ("allowedTime", self.allowed_time),
            ("retryIntervalInMinutes", self.retry_interval_in_minutes),
            ("maxAttempts", self.max_attempts),
            ("dialerPriority", self.dialer_priority),
            ("externalCheck", self.external_check),
        )
        body.update({k: v for k, v in pairs if v is not None})
        return body


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(value: object) -> datetime:
    """ISO 8601 date-time (``2020-03-23T00:00:00Z``), or Unix milliseconds."""
    if isinstance(value, bool):
        raise ValueError("not a date-time")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value:
        raise ValueError("not a date-time")
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    moment = datetime.fromisoformat(value.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int_in(item: Mapping[str, Any], name: str, low: int, high: int, phone: str) -> None:
    if name not in item or item[name] is None:
        return
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CallJobRejected(
            INVALID_PARAMETER,
            f"{name} must be an integer between {low} and {high}",
            field=name,
            value=value,
            phone=phone,
        )


def _minutes(text: object) -> int | None:
    if not isinstance(text, str):
        return None
    match = _TIME.match(text)
    if match is None:
        return None
    return 24 * 60 if text == "24:00" else int(match["h"]) * 60 + int(match["m"])


def _check_allowed_time(value: object, phone: str) -> None:
    bad = CallJobRejected(
        "invalid.call.allowed.time", "Intervals must not overlap", phone=phone, allowedTime=value
    )
    if not isinstance(value, Mapping):
        bad.message = "allowedTime must be an object keyed by day or 'default'"
        raise bad
    for key, intervals in value.items():
        if key not in (*DAYS, "default") or not isinstance(intervals, list) or not intervals:
            bad.message = f"allowedTime.{key} must be a non-empty list of intervals"
            raise bad
        spans = []
        for interval in intervals:
            if not isinstance(interval, Mapping):
                bad.message = f"allowedTime.{key} items must be objects"
                raise bad
            start, end = (
                _minutes(interval.get("localTimeFrom")),
                _minutes(interval.get("localTimeTo")),
            )
            # Our reading: an interval must run forward within one day (no 22:00-02:00).
            if start is None or end is None or start >= end:
                bad.message = f"allowedTime.{key}: localTimeFrom and localTimeTo must be HH:MM, from before to"
                raise bad
            spans.append((start, end))
        spans.sort()
        for (_, prev_end), (next_start, _) in itertools.pairwise(spans):
            if next_start < prev_end:
                raise bad


def validate_call_jobs(items: object, *, strict_phone: bool = False) -> list[dict[str, Any]]:
    """Check an ``addPhones`` body the way the spec describes; returns the items as plain
    dicts with ``phone`` as a string. Raises :class:`CallJobRejected`.

    ``strict_phone`` applies the sandbox's phone rule (``+`` and 7 to 15 digits). The client
    leaves the regional phone format to the server, whose rules we cannot know.
    """
    if not isinstance(items, list):
        raise CallJobRejected(INVALID_PARAMETER, "The body must be an array of CallJobParameters")
    result: list[dict[str, Any]] = []
    for raw in items:
        if isinstance(raw, CallJobParameters):
            raw = raw.to_json()
        if not isinstance(raw, Mapping):
            raise CallJobRejected(INVALID_PARAMETER, "Each item must be a CallJobParameters object")
        item = dict(raw)
        phone = item.get("phone")
        if isinstance(phone, bool) or not isinstance(phone, str | int) or not str(phone).strip():
            raise CallJobRejected(
                "phone.bad.format", "Phone number is required", phone=str(phone or "")
            )
        item["phone"] = str(phone)
        result.append(item)

    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for item in result:
        key = phone_digits(item["phone"]) or item["phone"]
        if key in seen and item["phone"] not in duplicates:
            duplicates.append(item["phone"])
        seen.setdefault(key, item["phone"])
    if duplicates:
        raise CallJobRejected(
            "phone.duplicated",
            "There are duplicated phone numbers in the phone list",
            phone=duplicates[0],
            phonesDuplicates=duplicates,
        )

    for item in result:
        phone = item["phone"]
        if strict_phone and not _PHONE.match(phone):
            raise CallJobRejected(
                "phone.bad.format",
                f"Phone number {phone} doesn't comply to regional format",
                phone=phone,
            )
        zone = item.get("gmtZone")
        if zone is not None:
            try:
                parse_gmt_zone(zone)
            except GmtZoneError as exc:
                raise CallJobRejected(
                    "phone.gmtZone.bad.format",
                    f"Invalid gmtZone {zone!r} for phone {phone}: {exc.reason}",
                    phone=phone,
                    gmtZone=zone,
                ) from None
        priority = item.get("dialerPriority")
        if priority is not None and (
            isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5
        ):
            raise CallJobRejected(
                "invalid.dialer_priority",
                "The priority value must be an integer in the range between 1 and 5 inclusive",
                phone=phone,
                dialerPriority=priority,
            )
        if item.get("allowedTime") is not None:
            _check_allowed_time(item["allowedTime"], phone)
        for name in ("localTimeFrom", "localTimeTo"):
            if item.get(name) is not None and _minutes(item[name]) is None:
                raise CallJobRejected(
                    INVALID_PARAMETER,
                    f"{name} must be HH:MM",
                    field=name,
                    value=item[name],
                    phone=phone,
                )
        _int_in(item, "retryIntervalInMinutes", 1, 2880, phone)
        _int_in(item, "maxAttempts", 1, 50, phone)
        days = item.get("allowedDays")
        if days is not None and (
            not isinstance(days, list)
            or not 1 <= len(days) <= 7
            or any(d not in DAYS for d in days)
            or len(set(days)) != len(days)
        ):
            raise CallJobRejected(
                INVALID_PARAMETER,
                "allowedDays must hold 1 to 7 distinct days of mon, tue, wed, thu, fri, sat, sun",
                field="allowedDays",
                value=days,
                phone=phone,
            )
        moments: dict[str, datetime] = {}
        for name in ("startDateTime", "finishDateTime"):
            if item.get(name) is not None:
                try:
                    moments[name] = parse_datetime(item[name])
                except (ValueError, TypeError):
                    raise CallJobRejected(
                        INVALID_PARAMETER,
                        f"{name} must be an ISO 8601 date-time",
                        field=name,
                        value=item[name],
                        phone=phone,
                    ) from None
        if len(moments) == 2 and moments["startDateTime"] >= moments["finishDateTime"]:
            raise CallJobRejected(
                INVALID_PARAMETER,
                "The startDateTime must be before the finishDateTime",
                field="startDateTime",
                value=item["startDateTime"],
                phone=phone,
            )
        payload = item.get("payload")
        if payload is not None and not isinstance(payload, Mapping):
            raise CallJobRejected(
                INVALID_PARAMETER,
                "payload must be an object",
                field="payload",
                value=payload,
                phone=phone,
            )
        check = item.get("externalCheck")
        if check is not None:
            url = check.get("externalCheckUrl") if isinstance(check, Mapping) else None
            retries = check.get("externalCheckMaxRetries") if isinstance(check, Mapping) else None
            if (
                not isinstance(url, str)
                or not url
                or (
                    retries is not None
                    and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0)
                )
            ):
                raise CallJobRejected(
                    INVALID_PARAMETER,
                    "externalCheck needs externalCheckUrl (and a non-negative externalCheckMaxRetries)",
                    field="externalCheck",
                    value=check,
                    phone=phone,
                )
    return result


# --- what the API returns -------------------------------------------------------------


def parse_timestamp(value: object) -> datetime | None:
    """Report timestamps: Unix milliseconds as integers in real answers, strings (digits or
    ISO 8601) per the spec's typing. Unknown shapes give None rather than fail a sync."""
    if value is None or value == "":
        return None
    try:
        return parse_datetime(value)
    except (ValueError, TypeError, OverflowError):
        return None


def _int_or_none(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class CallJobReport:
    call_job_id: str
    phone: str
    created_at: datetime | None
    attempts_count: int
    job_status: str | None  # normalized (see normalize_job_status)
    redial_number: int | None = None
    finished_at: datetime | None = None
    tag_name: str | None = None
    tag_payload: dict[str, Any] | None = None
    call_duration: int | None = None
    report_data: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_final(self) -> bool:
        return self.job_status in FINAL_JOB_STATUSES

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallJobReport:
        return cls(
            call_job_id=str(data.get("callJobId")),
            phone=str(data.get("phone") or ""),
            created_at=parse_timestamp(data.get("createdAt")),
            attempts_count=_int_or_none(data.get("attemptsCount")) or 0,
            job_status=normalize_job_status(data.get("jobStatus")),
            redial_number=_int_or_none(data.get("redialNumber")),
            finished_at=parse_timestamp(data.get("finishedAt")),
            tag_name=data.get("tagName"),
            tag_payload=data.get("tagPayload"),
            call_duration=_int_or_none(data.get("callDuration")),
            report_data=data.get("reportData"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class CallAttemptReport:
    call_job_id: str
    phone: str
    attempt_number: int
    job_status: str | None
    call_result: str | None = None
    redial_number: int | None = None
    call_duration: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    tag_name: str | None = None
    tag_payload: dict[str, Any] | None = None
    report_data: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallAttemptReport:
        return cls(
            call_job_id=str(data.get("callJobId")),
            phone=str(data.get("phone") or ""),
            attempt_number=_int_or_none(data.get("attemptNumber")) or 0,
            job_status=normalize_job_status(data.get("jobStatus")),
            call_result=data.get("callResult"),
            redial_number=_int_or_none(data.get("redialNumber")),
            call_duration=_int_or_none(data.get("callDuration")),
            started_at=parse_timestamp(data.get("startedAt")),
            finished_at=parse_timestamp(data.get("finishedAt")),
            tag_name=data.get("tagName"),
            tag_payload=data.get("tagPayload"),
            report_data=data.get("reportData"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ReportPage[T]:
    items: list[T]
    page: int
    page_size: int

    @property
    def is_last(self) -> bool:
        # The API gives no total: a short page is the last one.
        return len(self.items) < self.page_size


@dataclass(frozen=True)
class ShortReport:
    total_numbers: int
    processed_numbers: int
    used_talking_time: int
    used_asr_seconds: int
    in_process_calls: int
    retry_calls: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ShortReport:
        data = data or {}
        return cls(
            total_numbers=_int_or_none(data.get("totalNumbers")) or 0,
            processed_numbers=_int_or_none(data.get("processedNumbers")) or 0,
            used_talking_time=_int_or_none(data.get("usedTalkingTime")) or 0,
            used_asr_seconds=_int_or_none(data.get("usedAsrSeconds")) or 0,
            in_process_calls=_int_or_none(data.get("inProcessCalls")) or 0,
            retry_calls=_int_or_none(data.get("retryCalls")) or 0,
        )


@dataclass(frozen=True)
class CampaignInfo:
    id: int | None
    name: str
    project_name: str
    creation_date: datetime | None
    bot_id: str
    status: str | None  # normalized: "inProcess" (older docs) -> "inProgress"
    short_report: ShortReport
    start_time: datetime | None = None
    end_time: datetime | None = None
    max_simultaneous_calls: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CampaignInfo:
        return cls(
            id=_int_or_none(data.get("id")),
            name=str(data.get("name") or ""),
            project_name=str(data.get("projectName") or ""),
            creation_date=parse_timestamp(data.get("creationDate")),
            bot_id=str(data.get("botId") or ""),
            status=normalize_campaign_status(data.get("status")),
            short_report=ShortReport.from_json(data.get("shortReport")),
            start_time=parse_timestamp(data.get("startTime")),
            end_time=parse_timestamp(data.get("endTime")),
            max_simultaneous_calls=_int_or_none(data.get("maxSimultaneousCalls")),
            raw=dict(data),
        )
