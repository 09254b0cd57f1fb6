"""The sandbox campaign dials over (manual) time: lines, calling windows in the
subscriber's zone, retries, priorities, pause/resume/stop, cancel, and reports."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dashboard.providers.jaicp.client import JaicpClient
from dashboard.providers.jaicp.dialer import next_window_open, resolve_policy
from dashboard.providers.jaicp.sandbox import JaicpSandbox
from dashboard.providers.jaicp.world import DEFAULT_POLICY
from dashboard.sandbox.app import SandboxApp

from .conftest import NEW, PAUSED, RUNNING

START = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)  # ManualClock's start, a Thursday
HOUR = 3600


async def by_id(client: JaicpClient, ids: list[str]) -> dict[str, object]:
    return {r.call_job_id: r for r in await client.call_job_report(ids=ids)}


async def test_never_more_calls_than_lines(
    app: SandboxApp, client: JaicpClient, twin: JaicpSandbox, behave: Callable[..., None]
) -> None:
    phones = [f"7911000{n:04d}" for n in range(1, 6)]
    for phone in phones:
        behave(phone, "answers", ring=5, talk=60)
    ids = await client.add_phones([{"phone": p} for p in phones])
    campaign = twin.campaigns[RUNNING]
    peak = 0
    for _ in range(600):
        app.advance(1)
        peak = max(peak, len(campaign.active))
        assert len(campaign.active) <= campaign.max_simultaneous_calls
    assert peak == 2
    reports = await by_id(client, ids)
    assert all(
        r.job_status in {"longCallWithResult", "longCallWithNoResult"} for r in reports.values()
    )
    attempts = await client.call_attempt_report(ids=ids)
    # At any instant at most two attempts overlap.
    for a in attempts:
        overlapping = [b for b in attempts if b.started_at <= a.started_at < b.finished_at]
        assert len(overlapping) <= 2


async def test_calls_wait_for_the_window_in_the_subscriber_zone(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    # A US number without gmtZone: New York time, 05:00 at the start; window 09:00-21:00.
    behave("16505550101", "answers")
    # An explicit zone and window: 18:00-19:00 at +03:00 is 15:00 UTC.
    behave("79110000101", "answers")
    # Saturdays only (local): 2026-01-03 09:00 Moscow = 06:00 UTC.
    behave("79110000102", "answers")
    ids = await client.add_phones(
        [
            {"phone": "16505550101"},
            {
                "phone": "79110000101",
                "gmtZone": "+03:00",
                "allowedTime": {"default": [{"localTimeFrom": "18:00", "localTimeTo": "19:00"}]},
            },
            {"phone": "79110000102", "gmtZone": "Europe/Moscow", "allowedDays": ["sat"]},
        ]
    )
    app.advance(3 * HOUR)
    reports = await by_id(client, ids)
    assert all(r.attempts_count == 0 and r.job_status == "planned" for r in reports.values())
    app.advance(2 * 24 * HOUR)
    attempts = {a.call_job_id: a for a in await client.call_attempt_report(ids=ids)}
    assert attempts[ids[0]].started_at == datetime(2026, 1, 1, 14, 0, tzinfo=UTC)
    assert attempts[ids[1]].started_at == datetime(2026, 1, 1, 15, 0, tzinfo=UTC)
    assert attempts[ids[2]].started_at == datetime(2026, 1, 3, 6, 0, tzinfo=UTC)


async def test_start_and_finish_date_times(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    behave("79110000201", "answers")
    behave("79110000202", "answers")
    ids = await client.add_phones(
        [
            {"phone": "79110000201", "startDateTime": "2026-01-01T12:30:00Z"},
            # The window closes before the campaign's 09:00 Moscow opens on a day it may call.
            {
                "phone": "79110000202",
                "allowedDays": ["fri"],
                "finishDateTime": "2026-01-02T05:00:00Z",
            },
        ]
    )
    app.advance(HOUR)
    reports = await by_id(client, ids)
    assert reports[ids[1]].job_status == "notDone" and reports[ids[1]].attempts_count == 0
    assert reports[ids[1]].finished_at == START
    app.advance(2 * HOUR)
    [attempt] = await client.call_attempt_report(ids=[ids[0]])
    assert attempt.started_at == datetime(2026, 1, 1, 12, 30, tzinfo=UTC)


async def test_retries_follow_the_interval_until_max_attempts(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    behave("79110000301", "no_answer")
    behave("79110000302", "busy")
    ids = await client.add_phones(
        [
            {"phone": "79110000301", "maxAttempts": 3, "retryIntervalInMinutes": 10},
            {"phone": "79110000302", "maxAttempts": 2, "retryIntervalInMinutes": 1},
        ]
    )
    app.advance(60)
    assert (await by_id(client, ids))[ids[0]].job_status == "onRetry"
    app.advance(HOUR)
    reports = await by_id(client, ids)
    assert [reports[i].job_status for i in ids] == ["noAnswer", "noAnswer"]
    assert [reports[i].attempts_count for i in ids] == [3, 2]
    attempts = [a for a in await client.call_attempt_report(ids=[ids[0]])]
    assert [a.attempt_number for a in attempts] == [1, 2, 3]
    for previous, following in itertools.pairwise(attempts):
        assert following.started_at - previous.finished_at == timedelta(minutes=10)
    assert all(a.call_result is None for a in attempts)


async def test_answered_and_nonexistent_numbers(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    behave("79110000401", "answers", ring=7, talk=90)
    ids = await client.add_phones(
        [{"phone": "79110000401", "payload": {"name": "Alex"}}, {"phone": "79110000000"}]
    )
    app.advance(10 * 60)
    reports = await by_id(client, ids)
    answered, missing = reports[ids[0]], reports[ids[1]]
    assert answered.job_status in {"longCallWithResult", "longCallWithNoResult"}
    assert answered.report_data and answered.report_data["name"] == "Alex"
    assert answered.tag_name
    assert 72 <= answered.call_duration <= 108
    [attempt] = await client.call_attempt_report(ids=[ids[0]])
    assert (attempt.call_result is not None) == (answered.job_status == "longCallWithResult")
    # Numbers ending in 000000 do not exist (the shared subscriber rule).
    assert (missing.job_status, missing.attempts_count) == ("nonexistentNumber", 1)


async def test_pause_resume_and_stop(
    app: SandboxApp, client: JaicpClient, twin: JaicpSandbox, behave: Callable[..., None]
) -> None:
    phones = [f"7911000050{n}" for n in range(1, 6)]
    for phone in phones[:4]:
        behave(phone, "answers", ring=5, talk=120)
    behave(phones[4], "no_answer")
    ids = await client.add_phones([{"phone": p, "maxAttempts": 5} for p in phones])
    app.advance(10)  # two calls in progress
    await client.pause()
    assert await client.status() == "paused"
    app.advance(2 * HOUR)
    reports = await by_id(client, ids)
    # The calls in progress finished; nothing new started.
    assert sum(r.attempts_count for r in reports.values()) == 2
    assert sum(r.is_final for r in reports.values()) == 2
    await client.resume()
    app.advance(60)  # two more calls on the two lines, the last job still queued
    reports = await by_id(client, ids)
    assert sum(r.attempts_count for r in reports.values()) >= 3
    await client.stop()
    app.advance(HOUR)
    reports = await by_id(client, ids)
    assert all(r.is_final for r in reports.values())
    never_called = [r for r in reports.values() if r.attempts_count == 0]
    assert never_called and all(r.job_status == "notDone" for r in never_called)
    info = await client.campaign_info()
    assert info.status == "finished" and info.end_time is not None
    assert twin.state()["campaigns"][0]["status"] == "finished"


async def test_a_new_campaign_dials_only_after_start(
    app: SandboxApp, make_client: Callable[..., JaicpClient], behave: Callable[..., None]
) -> None:
    behave("79110000601", "answers")
    client = make_client(NEW)
    ids = await client.add_phones([{"phone": "79110000601"}])
    app.advance(HOUR)
    assert (await by_id(client, ids))[ids[0]].attempts_count == 0
    await client.start()
    assert await client.status() == "inProgress"
    app.advance(600)
    assert (await by_id(client, ids))[ids[0]].attempts_count == 1


async def test_higher_priority_and_custom_policy_first(
    app: SandboxApp, make_client: Callable[..., JaicpClient], behave: Callable[..., None]
) -> None:
    client = make_client(PAUSED)  # three lines
    phones = ["79110000701", "79110000702", "79110000703", "79110000704"]
    for phone in phones:
        behave(phone, "answers", talk=300)
    ids = await client.add_phones(
        [
            {"phone": phones[0]},  # campaign policy, priority 3
            {"phone": phones[1], "dialerPriority": 5},
            {"phone": phones[2], "dialerPriority": 1},
            {"phone": phones[3], "maxAttempts": 2},  # custom policy, priority 3
        ]
    )
    await client.resume()
    app.advance(1)
    reports = await by_id(client, ids)
    assert [reports[i].job_status for i in ids] == [
        "inProcess",
        "planned",
        "inProcess",
        "inProcess",
    ]


async def test_cancel_queued_and_in_progress_jobs(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    behave("79110000801", "no_answer")
    behave("79110000802", "answers")
    behave("79110000803", "answers")
    ids = await client.add_phones(
        [
            {"phone": "79110000801", "maxAttempts": 5},
            {"phone": "79110000802"},
            {"phone": "79110000803"},
        ]
    )
    app.advance(10)  # 801 and 802 ringing/talking, 803 queued (two lines)
    cancelled = await client.cancel(phones=["79110000801"], ids=[ids[2]])
    assert cancelled == [ids[2], ids[0]]
    reports = await by_id(client, ids)
    assert reports[ids[2]].job_status == "cancelledByUser" and reports[ids[2]].attempts_count == 0
    assert reports[ids[0]].job_status == "inProcess"  # the ongoing call finishes
    app.advance(4 * HOUR)
    reports = await by_id(client, ids)
    assert (reports[ids[0]].job_status, reports[ids[0]].attempts_count) == ("cancelledByUser", 1)
    assert reports[ids[1]].job_status.startswith("longCall")


async def test_campaign_short_report(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    behave("79110000901", "answers", talk=60)
    behave("79110000902", "no_answer")
    await client.add_phones([{"phone": "79110000901"}, {"phone": "79110000902", "maxAttempts": 2}])
    app.advance(10)
    assert (await client.campaign_info()).short_report.in_process_calls == 2
    app.advance(3 * HOUR)
    short = (await client.campaign_info()).short_report
    # Two jobs from the seeded list, two from the API.
    assert (short.total_numbers, short.processed_numbers, short.in_process_calls) == (4, 4, 0)
    assert short.retry_calls == 1
    assert short.used_talking_time >= 2 * 54 + 48


# --- paginated reports -----------------------------------------------------------------


async def test_report_by_date_pages_and_iterator(
    app: SandboxApp, make_client: Callable[..., JaicpClient]
) -> None:
    client = make_client(NEW)  # not started: the jobs stay unfinished
    ids: list[str] = []
    for n in range(45):
        ids += await client.add_phones([{"phone": f"7912{n:07d}"}])
        app.advance(60)
    pages = [await client.call_job_report_by_date(page=p, page_size=20) for p in range(3)]
    assert [len(p.items) for p in pages] == [20, 20, 5]
    assert [p.is_last for p in pages] == [False, False, True]
    assert [r.call_job_id for p in pages for r in p.items] == ids
    assert [r.call_job_id async for r in client.iter_call_job_report_by_date(page_size=7)] == ids
    # createdAt filter: from inclusive, to exclusive.
    window = await client.call_job_report_by_date(
        created_at_from=START + timedelta(minutes=10),
        created_at_to=START + timedelta(minutes=15),
        page_size=200,
    )
    assert [r.call_job_id for r in window.items] == ids[10:15]
    # Nothing finished yet.
    finished = await client.call_job_report_by_date(finished_at_from=START)
    assert finished.items == []
    assert [r.call_job_id async for r in client.iter_call_job_unfinished(page_size=20)] == ids
    beyond = await client.call_job_report_by_date(page=199, page_size=200)
    assert beyond.items == [] and beyond.is_last


async def test_attempt_report_by_date_and_unfinished_after_dialing(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    phones = [f"7913000{n:04d}" for n in range(1, 9)]
    for phone in phones:
        behave(phone, "no_answer")
    ids = await client.add_phones(
        [{"phone": p, "maxAttempts": 2, "retryIntervalInMinutes": 5} for p in phones]
    )
    app.advance(3 * 60)
    unfinished = [r.call_job_id async for r in client.iter_call_job_unfinished(page_size=3)]
    assert unfinished and set(unfinished) <= set(ids)
    app.advance(2 * HOUR)
    assert [r async for r in client.iter_call_job_unfinished()] == []
    attempts = [
        a async for a in client.iter_call_attempt_report_by_date(page_size=5, started_at_from=START)
    ]
    assert len(attempts) == 16  # 8 jobs x 2 attempts; the seeded list's attempts are older
    assert [a.started_at for a in attempts] == sorted(a.started_at for a in attempts)
    first_hour = await client.call_attempt_report_by_date(
        started_at_from=START, started_at_to=START + timedelta(seconds=30), page_size=200
    )
    assert {a.call_job_id for a in first_hour.items} == set(ids[:2])  # two lines
    done = await client.call_job_report_by_date(finished_at_from=START, page_size=200)
    assert {r.call_job_id for r in done.items} == set(ids)


# --- calling windows, unit level -------------------------------------------------------


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_window_follows_daylight_saving_in_zone_ids() -> None:
    policy = resolve_policy({"gmtZone": "America/New_York"}, DEFAULT_POLICY, "16505550101")
    # Friday before the March 2026 switch: 09:00 EST = 14:00 UTC; Monday after: 13:00 UTC.
    assert next_window_open(policy, ts(2026, 3, 6, 3)) == ts(2026, 3, 6, 14)
    assert next_window_open(policy, ts(2026, 3, 9, 3)) == ts(2026, 3, 9, 13)
    # Inside the window: now.
    assert next_window_open(policy, ts(2026, 3, 9, 15)) == ts(2026, 3, 9, 15)
    # After 21:00 local: the next morning.
    assert next_window_open(policy, ts(2026, 3, 10, 1, 30)) == ts(2026, 3, 10, 13)


def test_window_with_day_overrides_and_deprecated_pair() -> None:
    policy = resolve_policy(
        {
            "gmtZone": "+02:00",
            "allowedTime": {
                "fri": [
                    {"localTimeFrom": "08:00", "localTimeTo": "10:00"},
                    {"localTimeFrom": "14:00", "localTimeTo": "16:00"},
                ]
            },
        },
        DEFAULT_POLICY,
        "79110000001",
    )
    # Friday 2026-01-02 10:30 local (08:30 UTC): the afternoon span, 12:00 UTC.
    assert next_window_open(policy, ts(2026, 1, 2, 8, 30)) == ts(2026, 1, 2, 12)
    # Other days keep the campaign's 09:00-21:00.
    assert next_window_open(policy, ts(2026, 1, 3, 5)) == ts(2026, 1, 3, 7)
    old = resolve_policy(
        {"gmtZone": "Z", "localTimeFrom": "10:00", "localTimeTo": "12:00"}, DEFAULT_POLICY, "7911"
    )
    assert next_window_open(old, ts(2026, 1, 1, 12)) == ts(2026, 1, 2, 10)


def test_window_never_opens_past_finish() -> None:
    policy = resolve_policy(
        {
            "gmtZone": "UTC",
            "startDateTime": "2026-01-05T22:00:00Z",
            "finishDateTime": "2026-01-06T08:00:00Z",
        },
        DEFAULT_POLICY,
        "7911",
    )
    assert next_window_open(policy, ts(2026, 1, 1)) is None


async def test_failing_external_check_is_a_technical_error(
    app: SandboxApp, client: JaicpClient, behave: Callable[..., None]
) -> None:
    behave("79110001001", "answers")
    behave("79110001002", "answers")
    ids = await client.add_phones(
        [
            {
                "phone": "79110001001",
                "externalCheck": {"externalCheckUrl": "https://checks.example/fail"},
            },
            {
                "phone": "79110001002",
                "externalCheck": {
                    "externalCheckUrl": "https://checks.example/ok",
                    "externalCheckMaxRetries": 2,
                },
            },
        ]
    )
    app.advance(600)
    reports = await by_id(client, ids)
    assert (reports[ids[0]].job_status, reports[ids[0]].attempts_count) == ("technicalError", 0)
    assert reports[ids[1]].job_status.startswith("longCall")
