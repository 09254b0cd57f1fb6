"""Report parsing (real and spec shapes) and the local CallJobParameters checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.providers.jaicp.models import (
    CallAttemptReport,
    CallJobParameters,
    CallJobRejected,
    CallJobReport,
    CampaignInfo,
    normalize_job_status,
    parse_timestamp,
    validate_call_jobs,
)

# A real answer quoted in the provider notes (public client code).
REAL_JOB = {
    "attemptsCount": 0,
    "callDuration": 0,
    "callJobId": "5665336642",
    "createdAt": 1691006924166,
    "finishedAt": None,
    "jobStatus": "planned",
    "phone": "79885851900",
    "redialNumber": None,
    "reportData": None,
    "tagName": None,
    "tagPayload": None,
}


def test_real_call_job_report() -> None:
    report = CallJobReport.from_json(REAL_JOB)
    assert report.call_job_id == "5665336642"
    assert report.created_at == datetime(2023, 8, 2, 20, 8, 44, 166000, tzinfo=UTC)
    assert report.finished_at is None
    assert report.job_status == "planned"
    assert not report.is_final
    assert report.raw == REAL_JOB


def test_spec_example_call_job_report_with_string_timestamps() -> None:
    # The spec types timestamps as strings; its examples are millisecond numbers.
    report = CallJobReport.from_json(
        {
            "callJobId": 1234,
            "redialNumber": 1,
            "phone": "9991234567890",
            "attemptsCount": 63,
            "jobStatus": "longCallWithResult",
            "createdAt": "1566570001055",
            "finishedAt": "2019-08-23T14:20:01.055Z",
            "tagName": "hello_step",
            "tagPayload": {"surname": "Bond"},
            "callDuration": 63,
            "reportData": {"name": "Alex", "age": 34},
        }
    )
    assert report.call_job_id == "1234"
    assert (
        report.created_at
        == report.finished_at
        == datetime(2019, 8, 23, 14, 20, 1, 55000, tzinfo=UTC)
    )
    assert report.is_final
    assert report.redial_number == 1
    assert report.report_data == {"name": "Alex", "age": 34}


def test_spec_example_call_attempt_report() -> None:
    report = CallAttemptReport.from_json(
        {
            "callJobId": "1234",
            "phone": "9991234567890",
            "jobStatus": "noAnswer",
            "callResult": "CALLBACK_REQUEST",
            "callDuration": 63,
            "startedAt": 1566569985830,
            "finishedAt": 1566570001055,
            "attemptNumber": 2,
        }
    )
    assert report.attempt_number == 2
    assert report.call_result == "CALLBACK_REQUEST"
    assert report.started_at is not None and report.finished_at is not None
    assert (report.finished_at - report.started_at).total_seconds() == pytest.approx(15.225)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("canceled", "cancelledByUser"),  # seed 000
        ("cancelledByUser", "cancelledByUser"),  # spec
        ("longСallWithResult", "longCallWithResult"),  # seed 000 has a Cyrillic "С"
        ("technicalError", "technicalError"),
        ("somethingNew", "somethingNew"),
        (None, None),
    ],
)
def test_job_status_spellings(raw: str | None, status: str | None) -> None:
    assert normalize_job_status(raw) == status


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1691006924166, datetime(2023, 8, 2, 20, 8, 44, 166000, tzinfo=UTC)),
        ("1691006924166", datetime(2023, 8, 2, 20, 8, 44, 166000, tzinfo=UTC)),
        ("2023-08-02T20:08:44.166Z", datetime(2023, 8, 2, 20, 8, 44, 166000, tzinfo=UTC)),
        ("2023-08-02T23:08:44.166+03:00", datetime(2023, 8, 2, 20, 8, 44, 166000, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("not a date", None),
    ],
)
def test_timestamps(value: object, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


def test_campaign_info_tolerates_older_status_spelling() -> None:
    info = CampaignInfo.from_json(
        {
            "id": 7056,
            "name": "Delivery",
            "projectName": "p",
            "creationDate": 1691006924166,
            "botId": "b",
            "status": "inProcess",
            "shortReport": {"totalNumbers": 3, "processedNumbers": 1},
        }
    )
    assert info.status == "inProgress"
    assert info.short_report.total_numbers == 3
    assert info.short_report.retry_calls == 0


# --- local validation ------------------------------------------------------------------


def rejected(items: object, **kwargs: bool) -> CallJobRejected:
    with pytest.raises(CallJobRejected) as info:
        validate_call_jobs(items, **kwargs)
    return info.value


def test_dataclass_items_become_spec_json() -> None:
    item = CallJobParameters(
        phone="79110000000",
        gmt_zone="+03:00",
        payload={"name": "Alex"},
        start_date_time=datetime(2020, 3, 23, tzinfo=UTC),
        finish_date_time="2020-03-24T12:00:00Z",
        allowed_days=["sat", "sun"],
        allowed_time={"default": [{"localTimeFrom": "10:00", "localTimeTo": "19:30"}]},
        retry_interval_in_minutes=120,
        max_attempts=5,
        dialer_priority=1,
        external_check={"externalCheckUrl": "https://somewhere.com/checkMyNumber"},
    )
    assert validate_call_jobs([item]) == [
        {
            "phone": "79110000000",
            "payload": {"name": "Alex"},
            "gmtZone": "+03:00",
            "startDateTime": "2020-03-23T00:00:00Z",
            "finishDateTime": "2020-03-24T12:00:00Z",
            "allowedDays": ["sat", "sun"],
            "allowedTime": {"default": [{"localTimeFrom": "10:00", "localTimeTo": "19:30"}]},
            "retryIntervalInMinutes": 120,
            "maxAttempts": 5,
            "dialerPriority": 1,
            "externalCheck": {"externalCheckUrl": "https://somewhere.com/checkMyNumber"},
        }
    ]


def test_numeric_phone_as_in_the_seed_example() -> None:
    assert validate_call_jobs([{"phone": 79110000000}]) == [{"phone": "79110000000"}]


def test_duplicates_listed() -> None:
    error = rejected([{"phone": "1"}, {"phone": "2"}, {"phone": "+1"}, {"phone": "2"}])
    assert error.type == "phone.duplicated"
    assert error.extra == {"phone": "+1", "phonesDuplicates": ["+1", "2"]}


@pytest.mark.parametrize(
    ("item", "type_", "field"),
    [
        ({"phone": ""}, "phone.bad.format", "phone"),
        ({"phone": "7911", "gmtZone": "+19:00"}, "phone.gmtZone.bad.format", "gmtZone"),
        ({"phone": "7911", "dialerPriority": 0}, "invalid.dialer_priority", "dialerPriority"),
        ({"phone": "7911", "dialerPriority": 6}, "invalid.dialer_priority", "dialerPriority"),
        ({"phone": "7911", "dialerPriority": True}, "invalid.dialer_priority", "dialerPriority"),
        (
            {
                "phone": "7911",
                "allowedTime": {
                    "mon": [
                        {"localTimeFrom": "09:00", "localTimeTo": "12:00"},
                        {"localTimeFrom": "11:00", "localTimeTo": "13:00"},
                    ]
                },
            },
            "invalid.call.allowed.time",
            "allowedTime",
        ),
        (
            {
                "phone": "7911",
                "allowedTime": {"default": [{"localTimeFrom": "9", "localTimeTo": "12:00"}]},
            },
            "invalid.call.allowed.time",
            "allowedTime",
        ),
        (
            {"phone": "7911", "allowedTime": {"someday": []}},
            "invalid.call.allowed.time",
            "allowedTime",
        ),
        (
            {"phone": "7911", "retryIntervalInMinutes": 0},
            "invalid.parameter",
            "retryIntervalInMinutes",
        ),
        (
            {"phone": "7911", "retryIntervalInMinutes": 2881},
            "invalid.parameter",
            "retryIntervalInMinutes",
        ),
        ({"phone": "7911", "maxAttempts": 51}, "invalid.parameter", "maxAttempts"),
        ({"phone": "7911", "allowedDays": []}, "invalid.parameter", "allowedDays"),
        ({"phone": "7911", "allowedDays": ["mon", "funday"]}, "invalid.parameter", "allowedDays"),
        ({"phone": "7911", "localTimeFrom": "25:00"}, "invalid.parameter", "localTimeFrom"),
        (
            {
                "phone": "7911",
                "startDateTime": "2020-03-24T12:00:00Z",
                "finishDateTime": "2020-03-23T00:00:00Z",
            },
            "invalid.parameter",
            "startDateTime",
        ),
        ({"phone": "7911", "finishDateTime": "tomorrow"}, "invalid.parameter", "finishDateTime"),
        ({"phone": "7911", "payload": "name=Alex"}, "invalid.parameter", "payload"),
        (
            {"phone": "7911", "externalCheck": {"externalCheckMaxRetries": 2}},
            "invalid.parameter",
            "externalCheck",
        ),
    ],
)
def test_spec_rules(item: dict, type_: str, field: str) -> None:
    error = rejected([item])
    assert error.type == type_
    assert field in error.extra or error.extra.get("field") == field


def test_touching_intervals_do_not_overlap() -> None:
    validate_call_jobs(
        [
            {
                "phone": "7911",
                "allowedTime": {
                    "default": [
                        {"localTimeFrom": "13:00", "localTimeTo": "18:00"},
                        {"localTimeFrom": "09:00", "localTimeTo": "13:00"},
                    ]
                },
            }
        ]
    )


def test_strict_phone_rule_is_the_sandbox_s() -> None:
    assert validate_call_jobs([{"phone": "abc"}]) == [{"phone": "abc"}]
    assert rejected([{"phone": "abc"}], strict_phone=True).type == "phone.bad.format"
    assert rejected([{"phone": "12345"}], strict_phone=True).type == "phone.bad.format"
    validate_call_jobs([{"phone": "+9991234567890"}], strict_phone=True)


def test_body_must_be_a_list() -> None:
    assert rejected({"phone": "7911"}).type == "invalid.parameter"
