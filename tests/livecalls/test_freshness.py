"""Stale accounts: an account whose call list has not confirmed its calls for a few
reconcile periods is named in the top bar and its cards are marked not confirmed, until
a successful reconcile's push says otherwise."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from dashboard.consumers import LiveConsumer
from dashboard.models import ProviderAccount
from livecalls import selectors_wall
from livecalls.models import AccountSync, CallSession, Leg
from tests.conftest import frame_html, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def confirmed(account, seconds_ago):
    at = None if seconds_ago is None else timezone.now() - timedelta(seconds=seconds_ago)
    AccountSync.objects.update_or_create(account=account, defaults={"last_reconcile_at": at})


def live_call(account, pid, agent=None, **extra):
    now = timezone.now()
    session = CallSession.objects.create(account=account, provider_session_id=pid, state="talking", agent=agent,
                                         contact_number=f"7916000{pid}", started_at=now, answered_at=now, **extra)
    Leg.objects.create(session=session, provider_leg_id=f"{pid}1", state="talking", agent=agent, started_at=now)
    return session


@pytest.fixture
def floor(sandbox_accounts, agent):
    """The sandbox's CallGear account last confirmed 40 s ago, its CCAI account 2 s ago."""
    stale, fresh = sandbox_accounts["callgear"], sandbox_accounts["ccai"]
    confirmed(stale, 40)
    confirmed(fresh, 2)
    return {"stale": stale, "fresh": fresh,
            "stale_call": live_call(stale, "201", agent), "fresh_call": live_call(fresh, "202", agent)}


def card(page, session):
    """The opening tag of a session's card and its not-confirmed note."""
    tag = re.search(rf'<article id="session-{session.pk}"[^>]*>', page, re.S).group(0)
    note = re.search(rf'id="session-{session.pk}".*?(<p class="call-unconfirmed[^>]*>.*?</p>)', page, re.S).group(1)
    return tag, note


def top_bar(page):
    """The top bar's #live-freshness element, whole (its spans counted)."""
    start = page.index('<span id="live-freshness"')
    depth = 0
    for tag in re.finditer(r"<span\b|</span>", page[start:]):
        depth += 1 if tag.group(0) == "<span" else -1
        if depth == 0:
            return page[start:start + tag.end()]
    raise AssertionError("unclosed #live-freshness")


def entry(bar, account):
    return re.search(rf'<span class="lf[^"]*" data-account="{account.pk}"[^>]*>.*?</span></span>', bar, re.S).group(0)


# --- the selector ------------------------------------------------------------------------------


def test_stale_after_is_a_few_reconcile_periods_and_never_under_ten_seconds(settings):
    settings.LIVE_RECONCILE_SECONDS = 3
    assert selectors_wall.stale_after_seconds() == 10
    settings.LIVE_RECONCILE_SECONDS = 5
    assert selectors_wall.stale_after_seconds() == 15


def test_an_account_is_stale_when_its_last_successful_reconcile_is_older_than_that(sandbox_accounts, settings):
    settings.LIVE_RECONCILE_SECONDS = 3
    callgear, ccai = sandbox_accounts["callgear"], sandbox_accounts["ccai"]
    other = ProviderAccount.objects.create(kind="callgear", name="Zeta", base_url="https://x.example.com")
    confirmed(callgear, 11)  # just over 3 periods
    confirmed(ccai, 8)
    AccountSync.objects.filter(account=ccai).update(last_reconcile_error="boom")  # failed since: only success counts
    board = selectors_wall.freshness()
    by_name = {f.account.name: f for f in board}
    assert set(by_name) == {"SB CallGear", "SB CCAI", "Zeta"}  # not JAICP: it has no live calls
    assert by_name["SB CallGear"].stale and by_name["SB CallGear"].age_label == "11 s"
    assert not by_name["SB CCAI"].stale
    assert by_name["Zeta"].stale and by_name["Zeta"].last_reconcile_at is None  # never checked
    assert board.stale_ids == {callgear.pk, other.pk}
    assert board.stale_after == 10


# --- the pages ---------------------------------------------------------------------------------


def test_the_wall_marks_a_stale_accounts_cards_and_the_top_bar_names_it(supervisor_client, floor):
    page = supervisor_client.get("/calls/").content.decode()
    tag, note = card(page, floor["stale_call"])
    assert "is-stale" in tag and f'data-account="{floor["stale"].pk}"' in tag
    assert "hidden" not in note.split(">")[0]
    assert re.search(r"Not confirmed</strong> · <span class=\"confirmed-ago\">last confirmed 4\d s ago", note)
    tag, note = card(page, floor["fresh_call"])
    assert "is-stale" not in tag and "hidden" in note.split(">")[0]

    bar = top_bar(page)
    assert "has-stale" in bar and 'data-stale-after="10"' in bar and "data-now=" in bar
    stale = entry(bar, floor["stale"])
    assert "is-stale" in stale and "hidden" not in stale.split(">")[0]
    assert re.search(r"SB CallGear</span>: <span class=\"lf-age\">stale 4\d s", stale)
    assert "hidden" in entry(bar, floor["fresh"]).split(">")[0]
    assert re.search(rf'class="fresh is-stale" data-account="{floor["stale"].pk}"', page)  # the wall's own bar


def test_the_top_bar_says_nothing_when_every_account_is_fresh(supervisor_client, floor):
    confirmed(floor["stale"], 1)
    page = supervisor_client.get("/calls/").content.decode()
    assert "has-stale" not in top_bar(page) and "is-stale" not in page


def test_the_agents_own_calls_and_the_call_page_are_marked_too(agent_client, floor):
    page = agent_client.get("/calls/").content.decode()
    assert "is-stale" in card(page, floor["stale_call"])[0]
    assert "is-stale" not in card(page, floor["fresh_call"])[0]
    assert "has-stale" in top_bar(page) and 'id="freshness"' not in page  # the detailed bar is the supervisors'

    page = agent_client.get(f"/calls/{floor['stale_call'].pk}/").content.decode()
    tag, note = card(page, floor["stale_call"])
    assert "is-stale" in tag and "hidden" not in note.split(">")[0]
    assert "SB CallGear" in entry(top_bar(page), floor["stale"])


def test_an_ended_call_is_not_marked(supervisor_client, floor):
    call = floor["stale_call"]
    CallSession.objects.filter(pk=call.pk).update(state="ended", ended_at=timezone.now())
    page = supervisor_client.get(f"/calls/{call.pk}/").content.decode()
    tag, note = card(page, call)
    assert "is-stale" not in tag and "hidden" in note.split(">")[0]


def test_later_windows_of_the_wall_are_marked(supervisor_client, floor, monkeypatch):
    from livecalls import selectors_wall

    monkeypatch.setattr(selectors_wall, "WALL_FIRST", 1)
    first, second = sorted([floor["stale_call"], floor["fresh_call"]], key=lambda s: (s.started_at, s.pk))
    html = supervisor_client.get(f"/calls/?after={first.pk}", headers={"HX-Request": "true"}).content.decode()
    assert ("is-stale" in card(html, second)[0]) == (second.account_id == floor["stale"].pk)
    resync = supervisor_client.get("/calls/", headers={"HX-Request": "true", "HX-Target": "wall-cards"})
    assert "is-stale" in card(resync.content.decode(), floor["stale_call"])[0]


def test_every_page_has_the_top_bars_place_for_a_push(supervisor_client, floor):
    page = supervisor_client.get("/").content.decode()
    assert re.search(r'<div id="live-socket"[^>]*>.*<span id="live-freshness" class="live-freshness"></span>', page,
                     re.S)


# --- the push ----------------------------------------------------------------------------------


async def _socket(user, path="/ws/live/?calls=1"):
    c = WebsocketCommunicator(LiveConsumer.as_asgi(), path)
    c.scope["user"] = user
    connected, _ = await c.connect()
    assert connected
    await c.receive_from()  # the connection indicator
    return c


async def _frame_with(c, marker):
    for _ in range(10):
        frame = await c.receive_from(timeout=5)
        if marker in frame:
            return frame
    raise AssertionError(f"no frame with {marker}")


def test_a_successful_reconcile_pushes_the_top_bar_that_clears_the_stale_account(
        sandbox_transport, floor, supervisor, agent):
    from livecalls.tasks import reconcile_account_task

    account = floor["stale"]
    bystander = make_user("nobody", None)

    async def run():
        sockets = [await _socket(supervisor), await _socket(agent), await _socket(bystander, "/ws/live/")]
        try:
            await sync_to_async(reconcile_account_task.call)(account.pk)
            # Only the top bar: a supervisor's frame may carry the wall's bar too (one
            # frame holds whatever was pending for that socket).
            frames = [frame_html(await _frame_with(c, 'id="live-freshness"')) for c in sockets]
            return [f[f.index('<span id="live-freshness"'):] for f in frames]
        finally:
            for c in sockets:
                await c.disconnect()

    for_supervisor, for_agent, for_bystander = asyncio.run(run())
    assert for_supervisor == for_agent
    assert 'hx-swap-oob="true"' in for_supervisor
    mine = entry(for_supervisor, account)
    assert "is-stale" not in mine and "hidden" in mine.split(">")[0]
    sync = AccountSync.objects.get(account=account)
    assert f'data-confirmed="{sync.last_reconcile_at.isoformat()}"' in mine
    assert "SB CallGear" not in for_bystander and "data-account" not in for_bystander  # sees no calls


def test_a_failed_reconcile_pushes_it_still_stale(sandbox_transport, floor, supervisor):
    from livecalls.tasks import reconcile_account_task

    account = floor["stale"]
    account.password = "wrong"
    account.save()

    async def run():
        c = await _socket(supervisor)
        try:
            await sync_to_async(reconcile_account_task.call)(account.pk)
            return await _frame_with(c, 'id="live-freshness"')
        finally:
            await c.disconnect()

    frame = asyncio.run(run())
    assert "has-stale" in frame and "is-stale" in entry(frame, account)
