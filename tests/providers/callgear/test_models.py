"""Parsing details the docs leave loose: leg states in two languages, times without zone."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.providers.callgear.errors import CATALOGUE, CallGearError, error_text
from dashboard.providers.callgear.models import Limits, leg_state, parse_start_time, parse_success


@pytest.mark.parametrize(
    "raw,code",
    [
        ("Redial", "ringing"),
        ("Дозвон", "ringing"),
        ("Conversation", "talk"),
        ("Talk", "talk"),
        ("Разговор", "talk"),
        ("Next in line", "queued"),
        ("В очереди", "queued"),
        ("Disconnect", "disconnected"),
        ("Разъединение", "disconnected"),
        ("Operators' conversation", "operators_talk"),
        ("Operators’ conversation", "operators_talk"),
        ("Разговор операторов", "operators_talk"),
        ("On hold", "hold"),
        ("На удержании", "hold"),
        ("Transferring call", "transferring"),
        ("Перевод звонка", "transferring"),
        ("Sending dtmf", "sending_dtmf"),
        ("Receiving fax", "receiving_fax"),
        ("Fax received", "fax_received"),
        ("Sending fax", "sending_fax"),
        ("Fax sent", "fax_sent"),
        ("Something new", "unknown"),
        (None, "unknown"),
    ],
)
def test_leg_states_in_english_and_russian(raw, code):
    assert leg_state(raw) == code


@pytest.mark.parametrize(
    "raw", ["2016-10-19T12:26:48.418", "2016-10-19 12:26:48", "2016-10-19T12:26:48Z"]
)
def test_start_time_with_or_without_zone(raw):
    parsed = parse_start_time(raw)
    assert parsed is not None and parsed.tzinfo is not None
    assert parsed.replace(microsecond=0) == dt.datetime(2016, 10, 19, 12, 26, 48, tzinfo=dt.UTC)


def test_unparseable_start_time_is_none():
    assert parse_start_time("yesterday") is None and parse_start_time(None) is None


@pytest.mark.parametrize(
    "value,expected",
    [(True, True), ("true", True), ("TRUE", True), (False, False), ("false", False), (None, False)],
)
def test_success_string_or_boolean(value, expected):
    assert parse_success(value) is expected


def test_limits_reset_wait_prefers_the_exhausted_limit():
    limits = Limits(day_remaining=0, day_reset=5000, minute_remaining=10, minute_reset=20)
    assert limits.reset_wait() == 5000
    assert limits.reset_wait("minute") == 20
    assert (
        Limits(day_remaining=5, day_reset=5000, minute_remaining=0, minute_reset=20).reset_wait()
        == 20
    )


def test_catalogue_texts_and_describe():
    assert error_text("limit_exceeded", {"limit_type": "minute", "limit_max_value": 150}) == (
        "Limit per minute has been exceeded. Value of current limit per minute is 150"
    )
    assert CATALOGUE["batch_opreations_not_supported"][0] == -32099
    err = CallGearError.documented("invalid_state")
    assert err.describe() == "This method can not be called in this state [callgear: invalid_state]"
    assert err.permanent is True
    assert (
        CallGearError.documented("limit_exceeded", params={"limit_type": "day"}).permanent is False
    )
