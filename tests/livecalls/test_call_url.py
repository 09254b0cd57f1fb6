from __future__ import annotations

from django.urls import get_script_prefix, reverse, set_script_prefix

from livecalls.templatetags.call_actions import call_url


def test_call_url_is_what_url_reverses_under_any_script_prefix():
    before = get_script_prefix()
    try:
        for prefix in ("/", "/callboard/"):
            set_script_prefix(prefix)
            for name in ("call-hold", "call-session", "call-controls", "call-dtmf"):
                assert call_url(name, 42) == reverse(name, args=[42])
                assert call_url(name, "1234567") == reverse(name, args=[1234567])
        assert call_url("call-hold", 7) == "/callboard/calls/7/hold/"
    finally:
        set_script_prefix(before)
