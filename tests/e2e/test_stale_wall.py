"""A supervisor's wall when an account's call list has not confirmed its calls lately:
its cards are dimmed with stopped timers and the top bar names the account, also when no
reconcile runs at all (the page's own clock decides), until a successful one says otherwise."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.roles import SUPERVISOR
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

STALE = re.compile(r"\bis-stale\b")


def talking_call(account, *, talked: int):
    """A call in talk for ``talked`` seconds, as the wall last heard of it."""
    from django.utils import timezone

    from livecalls.models import CallSession, Leg

    answered = timezone.now().replace(microsecond=0) - timedelta(seconds=talked)
    session = CallSession.objects.create(account=account, provider_session_id="5001", state="talking",
                                         contact_number="79160001122", started_at=answered, answered_at=answered)
    Leg.objects.create(session=session, provider_leg_id="1", calling_number="79160001122", state="talking",
                       started_at=answered, answered_at=answered)
    return session


def demo_account(server, *, confirmed_ago: int):
    """A CallGear account whose reconcile fails (wrong password): nothing confirms it after
    ``confirmed_ago`` seconds ago."""
    from django.utils import timezone

    from dashboard.models import ProviderAccount
    from livecalls.models import AccountSync

    account = ProviderAccount.objects.create(
        kind="callgear", name="CallGear demo", base_url=f"{server.url}/sandbox/callgear", is_sandbox=True,
        callgear_auth="login", login="nobody", password="wrong")
    confirmed = timezone.now().replace(microsecond=0) - timedelta(seconds=confirmed_ago)
    AccountSync.objects.create(account=account, last_reconcile_at=confirmed)
    return account


def open_wall(page, server):
    make_user("sam", SUPERVISOR, first_name="Sam")
    login(page, server, "sam", PASSWORD)
    page.goto(f"{server.url}/calls/")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "connected", timeout=10_000)


def test_a_stale_accounts_card_is_dimmed_with_its_timer_stopped_and_the_top_bar_names_it(server, page):
    account = demo_account(server, confirmed_ago=40)  # its reconciles keep failing while the test runs
    session = talking_call(account, talked=120)
    open_wall(page, server)

    card = page.locator(f"#session-{session.pk}")
    expect(card).to_have_class(STALE)
    expect(card.locator(".call-unconfirmed")).to_be_visible()
    expect(card.locator(".call-unconfirmed")).to_have_text(re.compile(r"Not confirmed · last confirmed 4\d s ago"))
    # Stopped where the list last saw it: 2:00 of talk, confirmed 40 s ago.
    expect(card.locator(".call-state .tick")).to_have_text("1:20")
    expect(card.locator(".leg .tick")).to_have_text("1:20")
    bar = page.locator("#live-freshness")
    expect(bar).to_have_text(re.compile(r"CallGear demo: stale 4\d s"))
    expect(page.locator("#ws-status .ws-label")).to_be_hidden()  # not "Live"
    expect(page.locator("#freshness .fresh.is-stale .stale-flag")).to_be_visible()


def test_with_no_reconcile_at_all_the_page_marks_it_stale_and_a_reconcile_push_clears_it(server, page):
    from django.utils import timezone

    from livecalls.models import AccountSync
    from livecalls.services.live import account_freshness_broadcast

    server.scheduler.stop()  # the worker is dead: no reconcile, no push
    account = demo_account(server, confirmed_ago=3)
    session = talking_call(account, talked=60)
    open_wall(page, server)

    card = page.locator(f"#session-{session.pk}")
    expect(card).to_be_visible()
    expect(card).not_to_have_class(STALE)
    expect(page.locator("#ws-status .ws-label")).to_have_text("Live")
    # Nothing arrives to say so: the page's own clock turns it stale after 10 s.
    expect(card).to_have_class(STALE, timeout=15_000)
    expect(page.locator("#live-freshness")).to_have_text(re.compile(r"CallGear demo: stale 1\d s"))
    expect(card.locator(".call-unconfirmed")).to_be_visible()

    # A successful reconcile moves the account's confirmation and pushes it.
    AccountSync.objects.filter(account=account).update(last_reconcile_at=timezone.now())
    account_freshness_broadcast(account_id=account.pk)
    expect(card).not_to_have_class(STALE, timeout=10_000)
    expect(card.locator(".call-unconfirmed")).to_be_hidden()
    expect(page.locator("#live-freshness")).to_be_hidden()
    expect(page.locator("#ws-status .ws-label")).to_have_text("Live")
    expect(page.locator("#ws-status .ws-label")).to_be_visible()
