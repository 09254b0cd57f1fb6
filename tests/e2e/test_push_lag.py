"""The page says when pushes reach it late, and stops saying it when they catch up."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from dashboard.roles import SUPERVISOR
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e


def test_the_top_bar_says_behind_by_n_seconds_and_clears(server, page):
    from dashboard import broadcast, groups

    sam = make_user("sam", SUPERVISOR, first_name="Sam")
    login(page, server, "sam", PASSWORD)
    page.goto(f"{server.url}/calls/")
    label = page.locator("#ws-status .ws-label")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "connected", timeout=10_000)
    expect(label).to_have_text("Live")

    # A frame whose fragment waited 6 s on the server (a socket behind a busy floor).
    broadcast.group_send(groups.user_group(sam.pk), {"type": "html.push", "parts": [[None, ""]], "at": time.time() - 6})
    expect(label).to_have_text("Behind by 6 s")
    expect(page.locator("#ws-status")).to_have_class("ws-status ws-connected ws-behind")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("header").screenshot(path=str(ARTIFACTS / "behind-1280.png"))

    broadcast.group_send(groups.user_group(sam.pk), {"type": "html.push", "parts": [[None, ""]], "at": time.time()})
    expect(label).to_have_text("Live")
    expect(page.locator("#ws-status")).not_to_have_class(re.compile(r"\bws-behind\b"))
