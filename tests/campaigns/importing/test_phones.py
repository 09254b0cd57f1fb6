"""The fast path must give exactly phonenumbers' verdicts: same parse failures, same E.164,
same validity, same region, same implied time zones."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import timezone as pntz

from campaigns.importing.phones import (
    _SIMPLE,
    check_phone,
    check_phone_slow,
    check_phones,
    implied_time_zones,
)

REGIONS = [
    "US",
    "RU",
    "GB",
    "DE",
    "IT",
    "KZ",
    "FR",
    "BR",
    "IN",
    "CN",
    "AU",
    "CA",
    "AR",
    "MX",
    "JP",
    "UA",
    "BY",
    "NL",
    "ES",
    "PL",
    "TR",
]
TYPES = list(range(11))


def random_value(rnd: random.Random, ccs: list[int]) -> str:
    digits = "0123456789"
    kind = rnd.random()
    if kind < 0.25:  # +cc and random digits: mostly invalid numbers, some valid
        return "+" + str(rnd.choice(ccs)) + "".join(rnd.choices(digits, k=rnd.randint(4, 13)))
    if kind < 0.45:  # bare digits: national formats, IDD prefixes, country codes without +
        return "".join(rnd.choices(digits, k=rnd.randint(3, 17)))
    if kind < 0.65:  # prefixes that exercise IDD / national prefix / Italian zero rules
        prefix = rnd.choice(
            [
                "8",
                "7",
                "+7",
                "1",
                "+1",
                "0",
                "00",
                "810",
                "011",
                "+44 0",
                "0039",
                "+39 0",
                "+",
                "8 10",
                "001",
                "+0",
                "+80",
                "(",
                " ",
            ]
        )
        return prefix + " " + "".join(rnd.choices(digits + " -().", k=rnd.randint(5, 14)))
    # Real example numbers in the library's own formats, some with a digit changed.
    region = rnd.choice(REGIONS)
    example = phonenumbers.example_number_for_type(region, rnd.choice(TYPES))
    if example is None:
        return "123"
    text = phonenumbers.format_number(example, rnd.choice([0, 1, 2, 3]))
    if rnd.random() < 0.5:
        at = rnd.randrange(len(text))
        if text[at].isdigit():
            text = text[:at] + rnd.choice(digits) + text[at + 1 :]
    if rnd.random() < 0.1:
        text += rnd.choice([" ext. 12", "x5", "#", " доб. 3", "a"])
    return text


def test_fast_path_agrees_with_phonenumbers_on_a_large_random_sample():
    rnd = random.Random(20261125)
    ccs = list(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    seen_status = {"valid": 0, "invalid": 0, "unparseable": 0}
    fast_path = 0
    for _ in range(100_000):
        value = random_value(rnd, ccs)
        fast_path += _SIMPLE.fullmatch(value) is not None
        region = rnd.choice(REGIONS)
        fast, slow = check_phone(value, region), check_phone_slow(value, region)
        assert fast == slow, (value, region)
        seen_status[slow.status] += 1
        if slow.status == "valid":
            reference = pntz.time_zones_for_number(phonenumbers.parse(value, region))
            expected = () if tuple(reference) == ("Etc/Unknown",) else tuple(reference)
            assert implied_time_zones(fast) == expected, value
    # The sample really covers all three outcomes in bulk.
    assert min(seen_status.values()) > 2_000, seen_status
    assert fast_path > 80_000  # and most of it went through the fast path, not the library


@pytest.mark.parametrize(
    ("value", "region", "e164", "valid"),
    [
        ("+1 (650) 253-0000", "RU", "+16502530000", True),
        ("8 911 000-00-00", "RU", "+79110000000", True),
        ("79110000000", "RU", "+79110000000", True),
        ("8 (10) 1 650 253 0000", "RU", "+16502530000", True),  # Russian IDD 8~10
        ("011 7 911 000 0000", "US", "+79110000000", True),
        ("+39 06 6982 0000", "US", "+390669820000", True),  # Italian leading zero kept
        ("+7 000 000-00-00", "RU", "+70000000000", False),
    ],
)
def test_known_numbers(value, region, e164, valid):
    verdict = check_phone(value, region)
    assert verdict.e164 == e164
    assert (verdict.status == "valid") is valid
    assert verdict == check_phone_slow(value, region)


def test_jaicp_form_is_digits_without_plus():
    assert check_phone("8 911 000-00-00", "RU").jaicp == "79110000000"


def test_unparseable_values():
    assert check_phone("12", "RU").status == "invalid"  # the library reads it as +7 12
    for value in ("not a number", "+", "+0 123 456"):
        assert check_phone(value, "RU").status == "unparseable"


def test_implied_zone_for_a_us_number_is_its_area():
    assert implied_time_zones(check_phone("+1 650 253 0000", "US")) == ("America/Los_Angeles",)
    assert len(implied_time_zones(check_phone("+7 911 000 0000", "RU"))) > 1  # all of Russia


def test_batch_form_gives_plain_tuples():
    assert check_phones(["", "+79110000000"], "RU") == [
        None,
        tuple(check_phone("+79110000000", "RU")),
    ]
