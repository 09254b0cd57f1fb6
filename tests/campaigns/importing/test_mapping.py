from __future__ import annotations

import pytest

from campaigns.importing.mapping import ColumnMapping, MappingError, guess_mapping


def test_guess_from_english_headers():
    mapping = guess_mapping(["Name", "Phone Number", "City", "Time zone", "Max attempts", "amount"])
    assert mapping.phone == "Phone Number"
    assert mapping.time_zone == "Time zone"
    assert mapping.policy == {"maxAttempts": "Max attempts"}
    assert mapping.payload == ("Name", "City", "amount")


def test_guess_from_russian_and_jaicp_headers():
    mapping = guess_mapping(["Телефон", "ФИО", "gmtZone", "dialerPriority", "allowedDays"])
    assert mapping.phone == "Телефон"
    assert mapping.time_zone == "gmtZone"
    assert mapping.policy == {"dialerPriority": "dialerPriority", "allowedDays": "allowedDays"}
    assert mapping.payload == ("ФИО",)


def test_guess_without_header_looks_at_the_data():
    mapping = guess_mapping(["column 1", "column 2"], [["Ivan", "+79110000000"], ["Anna", "8 911"]])
    assert mapping.phone == "column 2"
    assert mapping.payload == ("column 1",)


def test_validation_lists_every_problem():
    mapping = ColumnMapping(
        phone="tel",
        time_zone="zone",
        payload=("a", "a"),
        policy={"maxAttempts": "phone", "colour": "a"},
    )
    with pytest.raises(MappingError) as raised:
        mapping.validate(["phone", "a"])
    problems = raised.value.problems
    assert any("phone column 'tel'" in p for p in problems)
    assert any("time zone column" in p for p in problems)
    assert any("chosen twice" in p for p in problems)
    assert any("'colour'" in p for p in problems)


def test_one_column_for_two_roles_is_refused():
    with pytest.raises(MappingError, match="two roles"):
        ColumnMapping(phone="a", time_zone="a").validate(["a"])


def test_resolve_gives_positions():
    resolved = ColumnMapping(
        phone="p", time_zone="z", payload=("n",), policy={"maxAttempts": "m"}
    ).resolve(["n", "p", "z", "m"])
    assert (resolved.phone, resolved.time_zone) == (1, 2)
    assert resolved.payload == (("n", 0),)
    assert resolved.policy == (("maxAttempts", 3),)
