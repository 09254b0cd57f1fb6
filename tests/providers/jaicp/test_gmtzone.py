"""gmtZone formats from seed 002 (Java's ZoneId grammar) and the -18:00..+18:00 range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.providers.jaicp.gmtzone import (
    GmtZoneError,
    check_gmt_zone,
    is_valid_gmt_zone,
    parse_gmt_zone,
    utc_offset,
)

VALID = {
    "Z": timedelta(0),
    "+3": timedelta(hours=3),
    "-9": timedelta(hours=-9),
    "+03": timedelta(hours=3),
    "-05": timedelta(hours=-5),
    "+0330": timedelta(hours=3, minutes=30),
    "-0930": timedelta(hours=-9, minutes=-30),
    "+03:30": timedelta(hours=3, minutes=30),
    "+03:00": timedelta(hours=3),
    "+053015": timedelta(hours=5, minutes=30, seconds=15),
    "+05:30:15": timedelta(hours=5, minutes=30, seconds=15),
    "+18:00": timedelta(hours=18),
    "-18:00": timedelta(hours=-18),
    "-180000": timedelta(hours=-18),
    "UTC": timedelta(0),
    "GMT": timedelta(0),
    "UT": timedelta(0),
    "UTC+3": timedelta(hours=3),
    "GMT-05:00": timedelta(hours=-5),
    "UT+0530": timedelta(hours=5, minutes=30),
    "GMT+03:30:15": timedelta(hours=3, minutes=30, seconds=15),
    "UTC-12": timedelta(hours=-12),
    "Asia/Kolkata": timedelta(hours=5, minutes=30),
    "Europe/Moscow": timedelta(hours=3),
}

INVALID = [
    "",
    " +03:00",
    "+03:00 ",
    "03:00",
    "+",
    "+003",
    "+3:00",  # one-digit hours take no minutes
    "+03:0",
    "+0300:00",  # colons everywhere or nowhere
    "+03:0000",
    "+19",
    "+18:01",
    "-18:00:01",
    "+03:60",
    "+03:00:60",
    "UTC+",
    "UTC03:00",
    "GMT+3:00",
    "UTCZ",
    "utc",
    "Mars/Olympus",
    "europe/moscow",
    "MSK+3",
    "../etc/passwd",
]


@pytest.mark.parametrize(("value", "offset"), list(VALID.items()))
def test_valid_formats(value: str, offset: timedelta) -> None:
    assert is_valid_gmt_zone(value)
    assert check_gmt_zone(value) == value
    # 2026-01-15: no daylight saving in either zone id used above.
    assert utc_offset(value, datetime(2026, 1, 15, 12, tzinfo=UTC)) == offset


@pytest.mark.parametrize("value", INVALID)
def test_invalid_formats(value: str) -> None:
    assert not is_valid_gmt_zone(value)
    with pytest.raises(GmtZoneError):
        parse_gmt_zone(value)


@pytest.mark.parametrize("value", [None, 3, 3.0, ["+03:00"]])
def test_non_strings_are_invalid(value: object) -> None:
    assert not is_valid_gmt_zone(value)


def test_offset_of_a_zone_id_follows_daylight_saving() -> None:
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 12, tzinfo=UTC)
    assert utc_offset("America/New_York", winter) == timedelta(hours=-5)
    assert utc_offset("America/New_York", summer) == timedelta(hours=-4)
    assert utc_offset("+03:00", summer) == timedelta(hours=3)


def test_offset_at_epoch_seconds_and_naive_datetimes() -> None:
    at = datetime(2026, 7, 15, 12, tzinfo=UTC)
    assert utc_offset("Europe/Berlin", at.timestamp()) == timedelta(hours=2)
    assert utc_offset("Europe/Berlin", at.replace(tzinfo=None)) == timedelta(hours=2)
    assert utc_offset(parse_gmt_zone("GMT-05:00"), at) == timedelta(hours=-5)


def test_error_names_the_reason() -> None:
    with pytest.raises(GmtZoneError) as info:
        parse_gmt_zone("+19:00")
    assert info.value.value == "+19:00"
    assert "18:00" in info.value.reason
