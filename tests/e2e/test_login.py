from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.roles import SUPERVISOR
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_supervisor_logs_in_and_sees_the_overview_with_a_live_connection(server, page):
    make_user("sam", SUPERVISOR, first_name="Sam")
    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/login/?next=/")
    login(page, server, "sam", PASSWORD)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator(".role")).to_have_text("Supervisor")
    status = page.locator("#ws-status")
    expect(status).to_have_attribute("data-state", "connected", timeout=10_000)
    expect(status).to_contain_text("Live")


def test_wrong_password_shows_a_clear_message(server, page):
    make_user("sam", SUPERVISOR)
    page.goto(server.url + "/login/")
    page.fill("input[name=username]", "sam")
    page.fill("input[name=password]", "nope")
    page.click("button[type=submit]")
    expect(page.locator(".alert-error")).to_contain_text("didn't match")


def test_the_indicator_says_reconnecting_when_the_server_goes_away(server, page):
    make_user("sam", SUPERVISOR)
    login(page, server, "sam", PASSWORD)
    status = page.locator("#ws-status")
    expect(status).to_have_attribute("data-state", "connected", timeout=10_000)
    server.stop()
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    expect(status).to_contain_text("Reconnecting")
