"""JAICP ``gmtZone`` values: validation and UTC offsets.

JAICP parses ``gmtZone`` with Java's ``ZoneId.of`` (seed 002 lists exactly its grammar),
so this module accepts what that accepts and nothing more:

- ``Z`` (UTC);
- an offset ``+h``, ``+hh``, ``+hh:mm``, ``+hhmm``, ``+hh:mm:ss``, ``+hhmmss`` (either sign),
  colons used consistently or not at all, within -18:00..+18:00;
- ``UTC``, ``GMT`` or ``UT`` alone, or followed by such an offset (``GMT-05:00``, ``UTC+3``);
- an IANA TZDB zone id (``Europe/Moscow``), as known to the system's zoneinfo.

The dashboard's upload form reuses :func:`check_gmt_zone`; the calling-window preview uses
:func:`utc_offset`.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "MAX_OFFSET",
    "GmtZoneError",
    "check_gmt_zone",
    "is_valid_gmt_zone",
    "parse_gmt_zone",
    "utc_offset",
]

MAX_OFFSET = timedelta(hours=18)

# Java's ZoneOffset.of grammar: one digit hours, two digit hours, then minutes and seconds
# with colons everywhere or nowhere.
_OFFSET = re.compile(
    r"""^(?P<sign>[+-])(?:
        (?P<h1>\d)
      | (?P<h2>\d\d)
      | (?P<h3>\d\d):(?P<m3>\d\d)
      | (?P<h4>\d\d)(?P<m4>\d\d)
      | (?P<h5>\d\d):(?P<m5>\d\d):(?P<s5>\d\d)
      | (?P<h6>\d\d)(?P<m6>\d\d)(?P<s6>\d\d)
    )$""",
    re.VERBOSE,
)
_PREFIXES = ("UTC", "GMT", "UT")


class GmtZoneError(ValueError):
    """A ``gmtZone`` JAICP would reject (``phone.gmtZone.bad.format``)."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(f"gmtZone {value!r} is not valid: {reason}")
        self.value = value
        self.reason = reason


@functools.cache
def _iana_ids() -> frozenset[str]:
    return frozenset(available_timezones())


def _parse_offset(text: str, original: object) -> timedelta:
    match = _OFFSET.match(text)
    if match is None:
        raise GmtZoneError(original, "expected Z, ±h, ±hh, ±hh:mm, ±hhmm, ±hh:mm:ss or ±hhmmss")
    groups = {k: v for k, v in match.groupdict().items() if v is not None and k != "sign"}
    hours = int(next(v for k, v in groups.items() if k.startswith("h")))
    minutes = int(next((v for k, v in groups.items() if k.startswith("m")), "0"))
    seconds = int(next((v for k, v in groups.items() if k.startswith("s")), "0"))
    if minutes > 59 or seconds > 59:
        raise GmtZoneError(original, "minutes and seconds must be below 60")
    offset = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if offset > MAX_OFFSET:
        raise GmtZoneError(original, "the offset must be within -18:00..+18:00")
    return -offset if match["sign"] == "-" else offset


def parse_gmt_zone(value: object) -> tzinfo:
    """The zone a ``gmtZone`` value names; raises :class:`GmtZoneError` if JAICP would not
    accept it. Fixed offsets come back as ``datetime.timezone``, zone ids as ``ZoneInfo``."""
    if not isinstance(value, str):
        raise GmtZoneError(value, "must be a string")
    text = value
    if not text or text != text.strip():
        raise GmtZoneError(value, "must not be empty or padded with spaces")
    if text == "Z":
        return UTC
    if text[0] in "+-":
        return timezone(_parse_offset(text, value))
    for prefix in _PREFIXES:
        if text == prefix:
            return UTC
        # "UT" is a prefix of "UTC": only take it when a sign follows.
        if text.startswith(prefix) and text[len(prefix)] in "+-":
            return timezone(_parse_offset(text[len(prefix) :], value))
    if text in _iana_ids():
        return ZoneInfo(text)
    raise GmtZoneError(value, "not an offset and not an IANA time zone id")


def check_gmt_zone(value: object) -> str:
    """Validate and return the value unchanged (JAICP wants the caller's spelling)."""
    parse_gmt_zone(value)
    return value  # type: ignore[return-value]


def is_valid_gmt_zone(value: object) -> bool:
    try:
        parse_gmt_zone(value)
    except GmtZoneError:
        return False
    return True


def utc_offset(zone: str | tzinfo, at: datetime | float) -> timedelta:
    """The zone's offset from UTC at an instant (a datetime, or seconds since the epoch).

    Naive datetimes are taken as UTC. Zone ids follow daylight saving time, so the calling
    window preview must ask per instant, not once per zone.
    """
    tz = parse_gmt_zone(zone) if isinstance(zone, str) else zone
    if isinstance(at, int | float):
        moment = datetime.fromtimestamp(at, UTC)
    else:
        moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    offset = moment.astimezone(tz).utcoffset()
    return offset if offset is not None else timedelta(0)
