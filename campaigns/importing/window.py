"""Calling-window preview: of the numbers just imported, how many could be called now, and
when the window opens for the rest.

Numbers are grouped by time zone first (an import has a handful of distinct zones, not a
million), so the calendar arithmetic runs once per zone. Zones follow daylight saving time
through ``gmtzone.parse_gmt_zone``/``utc_offset``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dashboard.providers.jaicp.gmtzone import parse_gmt_zone

__all__ = ["CallingPolicy", "WindowPreview", "ZoneWindow", "preview_calling_window"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
# Look this far ahead for an opening; a policy with any allowed day opens within a week.
_HORIZON_DAYS = 8


@dataclass(frozen=True)
class CallingPolicy:
    """The campaign's calling window, in JAICP's terms.

    ``allowed_time`` is keyed by day (mon..sun) or ``default``, each a list of
    ``{"localTimeFrom": "HH:MM", "localTimeTo": "HH:MM"}``; a day without its own key uses
    ``default``; no ``allowed_time`` at all means the whole day. ``default_zone`` is the
    campaign's zone, used for numbers imported without one.
    """

    allowed_days: Sequence[str] = DAYS
    allowed_time: Mapping[str, Sequence[Mapping[str, str]]] | None = None
    start: datetime | None = None
    finish: datetime | None = None
    default_zone: str = "UTC"

    @classmethod
    def from_jaicp(cls, policy: Mapping[str, Any], *, default_zone: str = "UTC") -> CallingPolicy:
        """From a JAICP-shaped dict (``allowedDays``, ``allowedTime``, ``startDateTime``,
        ``finishDateTime``)."""

        def moment(value: Any) -> datetime | None:
            if value is None or isinstance(value, datetime):
                return value
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))

        return cls(
            allowed_days=tuple(policy.get("allowedDays") or DAYS),
            allowed_time=policy.get("allowedTime"),
            start=moment(policy.get("startDateTime")),
            finish=moment(policy.get("finishDateTime")),
            default_zone=policy.get("gmtZone") or default_zone,
        )

    def spans(self, day: str) -> list[tuple[int, int]]:
        """Allowed (from, to) minutes of the local day, sorted; empty if not allowed."""
        if day not in self.allowed_days:
            return []
        if self.allowed_time is None:
            return [(0, 24 * 60)]
        intervals = self.allowed_time.get(day, self.allowed_time.get("default"))
        if intervals is None:
            return []
        spans = []
        for interval in intervals:
            start = _minutes(interval["localTimeFrom"])
            end = _minutes(interval["localTimeTo"])
            if start < end:
                spans.append((start, end))
        return sorted(spans)


def _minutes(text: str) -> int:
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not HH:MM")
    return 24 * 60 if text == "24:00" else int(match[1]) * 60 + int(match[2])


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ZoneWindow:
    zone: str  # as given ("" for numbers left to the campaign's zone)
    numbers: int
    callable_now: bool
    opens_at: datetime | None  # UTC; None if callable now or never within the campaign


@dataclass
class WindowPreview:
    callable_now: int = 0
    later: int = 0
    never: int = 0
    opening_by_hour: dict[datetime, int] = field(default_factory=dict)  # UTC hour -> numbers
    zones: list[ZoneWindow] = field(default_factory=list)


def _next_opening(policy: CallingPolicy, tz: tzinfo, at: datetime) -> datetime | None:
    """The first instant >= ``at`` inside the calling window, in UTC, or None."""
    local = at.astimezone(tz)
    for offset in range(_HORIZON_DAYS):
        day: date = local.date() + timedelta(days=offset)
        for start, end in policy.spans(DAYS[day.weekday()]):
            opens = _local(day, start, tz)
            closes = _local(day, end, tz)
            if closes <= at:
                continue
            return max(opens, at).astimezone(UTC)
    return None


def _local(day: date, minutes: int, tz: tzinfo) -> datetime:
    if minutes >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(), tz)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tz)


def preview_calling_window(
    zones: Mapping[str | None, int] | Iterable[str | None],
    policy: CallingPolicy,
    *,
    now: datetime,
) -> WindowPreview:
    """Counts of numbers callable at ``now`` and, for the rest, per UTC hour their window
    opens. ``zones`` is a count per zone (e.g. a ``Counter`` built during the import) or
    an iterable of each accepted number's zone; None or "" means the campaign's zone."""
    counts = Counter(zones) if not isinstance(zones, Mapping) else Counter(dict(zones))
    now = _aware(now).astimezone(UTC)
    start = _aware(policy.start).astimezone(UTC) if policy.start else None
    finish = _aware(policy.finish).astimezone(UTC) if policy.finish else None
    result = WindowPreview()
    merged: Counter[str] = Counter()
    for zone, count in counts.items():
        merged[zone or ""] += count
    for zone, count in sorted(merged.items()):
        tz = parse_gmt_zone(zone or policy.default_zone)
        begin = max(now, start) if start else now
        opens = None if finish and begin >= finish else _next_opening(policy, tz, begin)
        if opens is not None and finish and opens >= finish:
            opens = None
        callable_now = opens == now
        if callable_now:
            result.callable_now += count
            result.zones.append(ZoneWindow(zone, count, True, None))
            continue
        result.zones.append(ZoneWindow(zone, count, False, opens))
        if opens is None:
            result.never += count
            continue
        result.later += count
        hour = opens.replace(minute=0, second=0, microsecond=0)
        result.opening_by_hour[hour] = result.opening_by_hour.get(hour, 0) + count
    result.opening_by_hour = dict(sorted(result.opening_by_hour.items()))
    return result
