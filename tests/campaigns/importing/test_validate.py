from __future__ import annotations

import pytest

from campaigns.importing.mapping import ColumnMapping
from campaigns.importing.reader import MALFORMED_ROW, UNDECODABLE_ROW, SourceRow
from campaigns.importing.validate import REASONS, NumberValidator, parse_policy_value

COLUMNS = ["phone", "tz", "name", "attempts", "days"]
MAPPING = ColumnMapping(
    phone="phone",
    time_zone="tz",
    payload=("name",),
    policy={"maxAttempts": "attempts", "allowedDays": "days"},
)


def validator(**lookups) -> NumberValidator:
    return NumberValidator(mapping=MAPPING.resolve(COLUMNS), default_region="RU", **lookups)


def row(
    number: int, phone: str, tz: str = "", name: str = "n", attempts: str = "", days: str = ""
) -> SourceRow:
    return SourceRow(number, [phone, tz, name, attempts, days])


def reasons(result) -> list[tuple[int, str]]:
    return [(r.row, r.reason) for r in result[1]]


def test_every_reason_code_has_words():
    assert set(REASONS) == {
        "empty_phone",
        "unparseable_phone",
        "invalid_phone",
        "invalid_time_zone",
        "duplicate_in_list",
        "duplicate_in_campaign",
        "duplicate_recent",
        "do_not_call",
        "bad_policy_value",
        "malformed_row",
        "undecodable_row",
    }
    assert all(words.endswith(".") for words in REASONS.values())


def test_phone_problems():
    result = validator().check_rows(
        [
            row(2, "  "),
            row(3, "call me maybe"),
            row(4, "+7 000 000-00-00"),
            row(5, "8 911 000-00-00"),
        ]
    )
    assert reasons(result) == [(2, "empty_phone"), (3, "unparseable_phone"), (4, "invalid_phone")]
    [accepted] = result[0]
    assert (accepted.row, accepted.phone, accepted.e164) == (5, "79110000000", "+79110000000")
    assert accepted.payload == {"name": "n"}


def test_unreadable_rows_keep_their_reason():
    result = validator().check_rows(
        [
            SourceRow(7, None, MALFORMED_ROW, "expected 5 columns, found 2", "a,b"),
            SourceRow(8, None, UNDECODABLE_ROW, "bad bytes", "79\ufffd"),
        ]
    )
    assert reasons(result) == [(7, "malformed_row"), (8, "undecodable_row")]
    assert result[1][0].value == "a,b"


def test_duplicates_in_the_list_keep_the_first_accepted_occurrence():
    v = validator()
    first = v.check_rows([row(2, "+7 911 000 00 00"), row(3, "89110000000")])
    later = v.check_rows([row(4, "79110000000")])  # and across batches
    assert [a.row for a in first[0]] == [2]
    assert reasons(first) == [(3, "duplicate_in_list")]
    assert reasons(later) == [(4, "duplicate_in_list")]


def test_a_rejected_row_does_not_shadow_a_later_good_copy():
    result = validator().check_rows(
        [row(2, "79110000000", tz="Mars/Base"), row(3, "79110000000", tz="Europe/Moscow")]
    )
    assert reasons(result) == [(2, "invalid_time_zone")]
    assert [a.row for a in result[0]] == [3]


def test_campaign_recent_and_dnc_as_sets():
    result = validator(
        existing_phones={"+79110000001"},
        recent_phones={"+79110000002"},
        dnc={"+79110000003", "+79110000001"},
    ).check_rows(
        [row(2, "79110000001"), row(3, "79110000002"), row(4, "79110000003"), row(5, "79110000004")]
    )
    # DNC wins over everything else.
    assert reasons(result) == [(2, "do_not_call"), (3, "duplicate_recent"), (4, "do_not_call")]
    assert [a.row for a in result[0]] == [5]


def test_lookups_as_batch_functions_are_called_once_per_batch():
    calls = []

    def in_campaign(numbers):
        calls.append(list(numbers))
        return [n for n in numbers if n.endswith("1")]

    result = validator(existing_phones=in_campaign).check_rows(
        [row(2, "79110000001"), row(3, "79110000002"), row(4, "junk")]
    )
    assert reasons(result) == [(2, "duplicate_in_campaign"), (4, "unparseable_phone")]
    assert calls == [["+79110000001", "+79110000002"]]


def test_time_zones_from_the_file_and_from_the_number():
    v = NumberValidator(
        mapping=ColumnMapping(phone="phone", time_zone="tz").resolve(COLUMNS),
        default_region="US",
    )
    accepted, rejected = v.check_rows(
        [
            row(2, "+1 650 253 0000"),  # one zone implied
            row(3, "+7 911 000 00 00"),  # all of Russia: left to the campaign
            row(4, "+1 212 555 0100", tz="GMT-05:00"),
            row(5, "+1 212 555 0101", tz="UTC+25"),
            row(6, "+1 212 555 0102", tz=" Europe/Moscow "),  # cell padding is trimmed
        ]
    )
    assert [(a.row, a.gmt_zone, a.zone_source) for a in accepted] == [
        (2, "America/Los_Angeles", "number"),
        (3, None, ""),
        (4, "GMT-05:00", "file"),
        (6, "Europe/Moscow", "file"),
    ]
    assert [(r.row, r.reason) for r in rejected] == [(5, "invalid_time_zone")]
    assert v.zone_ambiguous == 1


def test_policy_values():
    accepted, rejected = validator().check_rows(
        [
            row(2, "79110000001", attempts="3", days="Mon, tue;сб"),
            row(3, "79110000002", attempts="0"),
            row(4, "79110000003", days="mon,someday"),
            row(5, "79110000004", attempts="2.5"),
            row(6, "79110000005"),
        ]
    )
    assert [(a.row, a.policy) for a in accepted] == [
        (2, {"maxAttempts": 3, "allowedDays": ["mon", "tue", "sat"]}),
        (6, {}),
    ]
    assert [(r.row, r.reason) for r in rejected] == [
        (3, "bad_policy_value"),
        (4, "bad_policy_value"),
        (5, "bad_policy_value"),
    ]
    assert "from 1 to 50" in rejected[0].detail
    assert accepted[0].call_job() == {
        "phone": "79110000001",
        "payload": {"name": "n"},
        "maxAttempts": 3,
        "allowedDays": ["mon", "tue", "sat"],
    }


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("dialerPriority", "5", 5),
        ("retryIntervalInMinutes", "2880", 2880),
        ("maxAttempts", "1.0", 1),
        ("allowedDays", "sunday", ["sun"]),
    ],
)
def test_parse_policy_value(name, text, value):
    assert parse_policy_value(name, text) == value


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("dialerPriority", "6"),
        ("retryIntervalInMinutes", "0"),
        ("maxAttempts", "many"),
        ("allowedDays", "mon mon"),
        ("allowedDays", ","),
    ],
)
def test_parse_policy_value_rejects(name, text):
    with pytest.raises(ValueError):
        parse_policy_value(name, text)


def test_an_unknown_default_region_is_refused_up_front():
    with pytest.raises(ValueError, match="region"):
        NumberValidator(mapping=MAPPING.resolve(COLUMNS), default_region="XX")
    assert (
        NumberValidator(mapping=MAPPING.resolve(COLUMNS), default_region="ru").default_region
        == "RU"
    )
