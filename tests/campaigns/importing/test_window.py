from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from campaigns.importing import window
from campaigns.importing.window import CallingPolicy, preview_calling_window

WORKDAYS_9_TO_18 = CallingPolicy(
    allowed_days=("mon", "tue", "wed", "thu", "fri"),
    allowed_time={"default": [{"localTimeFrom": "09:00", "localTimeTo": "18:00"}]},
    default_zone="Europe/Moscow",
)
# Wednesday 2026-11-25 10:00 UTC: 13:00 in Moscow, 02:00 in Los Angeles, 19:00 in Vladivostok+1.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_it_counts_callable_now_and_when_the_rest_opens():
    zones = Counter(
        {"Europe/Moscow": 100, "America/Los_Angeles": 40, "Asia/Vladivostok": 7, "+05:00": 3, "": 5}
    )
    result = preview_calling_window(zones, WORKDAYS_9_TO_18, now=NOW)
    # Moscow (13:00), +05:00 (15:00) and the campaign-zone numbers (Moscow) are inside.
    assert result.callable_now == 108
    assert result.later == 47
    assert result.never == 0
    assert result.opening_by_hour == {
        datetime(2026, 11, 25, 17, 0, tzinfo=UTC): 40,  # LA opens 09:00 PST = 17:00 UTC
        datetime(2026, 11, 25, 23, 0, tzinfo=UTC): 7,  # Vladivostok: Thursday 09:00 = 23:00 UTC
    }
    by_zone = {z.zone: z for z in result.zones}
    assert by_zone["America/Los_Angeles"].opens_at == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert by_zone[""].callable_now


def test_zones_are_computed_once_each(monkeypatch):
    calls = []
    real = window._next_opening

    def counting(policy, tz, at):
        calls.append(tz)
        return real(policy, tz, at)

    monkeypatch.setattr(window, "_next_opening", counting)
    preview_calling_window(
        ["Europe/Moscow"] * 10_000 + ["Asia/Tokyo"] * 5, WORKDAYS_9_TO_18, now=NOW
    )
    assert len(calls) == 2


def test_weekend_and_per_day_times():
    policy = CallingPolicy(
        allowed_days=("mon", "sat"),
        allowed_time={
            "sat": [{"localTimeFrom": "12:00", "localTimeTo": "14:00"}],
            "default": [
                {"localTimeFrom": "08:00", "localTimeTo": "10:00"},
                {"localTimeFrom": "20:00", "localTimeTo": "24:00"},
            ],
        },
    )
    result = preview_calling_window({"UTC": 1}, policy, now=NOW)  # Wednesday
    assert result.opening_by_hour == {datetime(2026, 11, 28, 12, 0, tzinfo=UTC): 1}
    monday_late = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)
    assert preview_calling_window({"UTC": 1}, policy, now=monday_late).callable_now == 1


def test_start_and_finish_bound_the_window():
    later_start = CallingPolicy(start=datetime(2026, 12, 1, 6, 30, tzinfo=UTC))
    result = preview_calling_window({"Europe/Moscow": 2}, later_start, now=NOW)
    assert result.callable_now == 0
    assert result.opening_by_hour == {datetime(2026, 12, 1, 6, 0, tzinfo=UTC): 2}
    over = CallingPolicy(finish=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert preview_calling_window({"UTC": 3}, over, now=NOW).never == 3
    # Opens only after the finish: never.
    closes_soon = CallingPolicy(
        allowed_time={"default": [{"localTimeFrom": "09:00", "localTimeTo": "18:00"}]},
        finish=datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
    )
    assert preview_calling_window({"America/New_York": 1}, closes_soon, now=NOW).never == 1


def test_daylight_saving_time_is_followed():
    # 2026-03-09 (Monday), New York is on EDT (UTC-4) since March 8: 09:00 local = 13:00 UTC.
    monday = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    result = preview_calling_window({"America/New_York": 1}, WORKDAYS_9_TO_18, now=monday)
    assert result.opening_by_hour == {datetime(2026, 3, 9, 13, 0, tzinfo=UTC): 1}


def test_from_jaicp_policy_dict():
    policy = CallingPolicy.from_jaicp(
        {"allowedDays": ["mon"], "startDateTime": "2026-11-30T00:00:00Z", "gmtZone": "+03:00"}
    )
    assert policy.allowed_days == ("mon",)
    assert policy.start == datetime(2026, 11, 30, tzinfo=UTC)
    result = preview_calling_window([None], policy, now=NOW)
    # Monday in +03:00 starts Sunday 21:00 UTC, but the campaign starts Monday 00:00 UTC.
    assert result.opening_by_hour == {datetime(2026, 11, 30, 0, 0, tzinfo=UTC): 1}


def test_a_bad_time_is_refused():
    policy = CallingPolicy(
        allowed_time={"default": [{"localTimeFrom": "9", "localTimeTo": "18:00"}]}
    )
    with pytest.raises(ValueError):
        preview_calling_window({"UTC": 1}, policy, now=NOW)
