"""An agent and a supervisor in two browsers, on the embedded sandbox's live calls."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from dashboard.roles import AGENT, SUPERVISOR
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox_scale(0.25)]


@pytest.fixture
def floor(server):
    """A CallGear sandbox account, an agent who is its first employee, a supervisor, and
    the sandbox's notifications pointed at this server."""
    from dashboard.models import AgentProfile, ProviderAccount
    from dashboard.sandbox.embedded import embedded_webhook_targets, get_embedded_sandbox

    sandbox = get_embedded_sandbox()
    state = sandbox.twin("callgear").state()
    staff = [e for e in state["employees"] if e.get("phone_numbers")]
    account = ProviderAccount.objects.create(
        kind="callgear", name="Sandbox CallGear", base_url=f"{server.url}/sandbox/callgear", is_sandbox=True,
        callgear_auth="login", login=state["login"], password=state["password"],
        reference_data={k: state.get(k, []) for k in ("tags", "media_files", "employees", "coaches", "virtual_numbers")})
    for provider, targets in embedded_webhook_targets().items():
        sandbox.notifier.set_targets(provider, targets)
    agent = make_user("alex", AGENT, first_name="Alex")
    AgentProfile.objects.create(user=agent, callgear_employee_id=staff[0]["id"],
                                callgear_phone_numbers=staff[0]["phone_numbers"])
    make_user("sam", SUPERVISOR, first_name="Sam")
    # A caller who answers quickly and would talk ten minutes (two and a half at this scale).
    contact = sandbox.twin("callgear").find_contact(answers=True, min_talk=600, max_ring=6)
    return {"account": account, "employee": staff[0], "colleague": staff[1], "contact": contact,
            "vnumber": state["virtual_numbers"][0], "access_key": state["access_key"]}


def start_call(server, floor) -> int:
    """The call arrives the way a provider starts one: through the CallGear API."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "start.employee_call", "params": {
        "access_token": floor["access_key"], "first_call": "employee", "virtual_phone_number": floor["vnumber"],
        "contact": floor["contact"], "employee": {"id": floor["employee"]["id"]}}}
    answer = httpx.post(f"{server.url}/sandbox/callgear/v4.0", json=body, timeout=10).json()
    return answer["result"]["data"]["call_session_id"]


def test_agent_holds_consults_transfers_and_the_supervisor_sees_it_live(server, browser, floor):
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    boss_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    agent, boss = agent_ctx.new_page(), boss_ctx.new_page()
    try:
        login(agent, server, "alex", PASSWORD)
        login(boss, server, "sam", PASSWORD)
        for page in (agent, boss):
            page.goto(f"{server.url}/calls/")
            expect(page.locator("#ws-status")).to_have_attribute("data-state", "connected", timeout=10_000)

        start_call(server, floor)
        boss_card = boss.locator(".call-card").first
        agent_card = agent.locator(".call-card").first
        expect(boss_card).to_have_attribute("data-state", "talking", timeout=30_000)
        expect(agent_card).to_have_attribute("data-state", "talking", timeout=10_000)
        expect(boss.locator("#wall-counts [data-count=talking]")).to_have_text("1")

        # The agent holds; the supervisor's wall shows it without a reload.
        agent_card.locator("summary:has-text('Hold')").click()
        agent_card.locator("button:has-text('Put on hold')").click()
        expect(boss_card).to_have_attribute("data-state", "on_hold", timeout=15_000)
        expect(boss_card.locator(".leg.leg-on_hold")).to_have_count(1, timeout=5_000)
        expect(boss.locator("#wall-counts [data-count=on_hold]")).to_have_text("1")

        # The supervisor opens the card's controls: loaded on demand, for the state it is in.
        boss_card.locator("summary:has-text('Controls')").click()
        expect(boss_card.locator("button:has-text('Resume')")).to_be_visible(timeout=10_000)

        # Holding a call that is not in talk: the provider's own invalid_state message.
        pk = agent_card.get_attribute("id").split("-")[1]
        agent.evaluate(f"htmx.ajax('POST', '/calls/{pk}/hold/', {{target: '#session-{pk}', swap: 'outerHTML'}})")
        expect(agent.locator("#toasts")).to_contain_text("invalid_state", timeout=10_000)

        # Consult a colleague, then transfer the caller to them.
        agent_card = agent.locator(f"#session-{pk}")
        expect(agent_card).to_have_attribute("data-state", "on_hold", timeout=10_000)
        agent_card.locator("summary:has-text('Consult')").click()
        agent_card.locator("select[name=employee_id]").select_option(str(floor["colleague"]["id"]))
        agent_card.get_by_role("button", name="Call", exact=True).click()
        expect(boss_card).to_have_attribute("data-state", "consulting", timeout=20_000)
        # The pushed card replaced the supervisor's; the open panel came back with it, updated.
        expect(boss_card.locator("details.ca-controls")).to_have_attribute("open", "")
        expect(boss_card.locator("button:has-text('Back to caller')")).to_be_visible(timeout=10_000)
        agent_card = agent.locator(f"#session-{pk}")
        expect(agent_card.locator("button:has-text('Transfer')")).to_be_enabled(timeout=10_000)
        agent_card.locator("button:has-text('Transfer')").click()
        expect(boss_card).to_have_attribute("data-state", "talking", timeout=20_000)
        expect(boss_card.locator(".leg-role", has_text=floor["colleague"]["full_name"])).to_have_count(1)

        # On the call's own page the supervisor keeps the whole panel, pushes or not.
        boss.goto(f"{server.url}/calls/{pk}/")
        expect(boss.locator("#ws-status")).to_have_attribute("data-state", "connected", timeout=10_000)
        expect(boss.locator(f"#actions-{pk}")).to_be_visible()
        boss.locator(f"#actions-{pk} button:has-text('Record')").click()
        expect(boss.locator(f"#session-{pk} .call-head ~ .call-meta .chip-rec")).to_be_visible(timeout=15_000)
        # The provider's notification brings the supervisors' (compact) card: its panel opens itself.
        expect(boss.locator(f"#controls-{pk}")).to_have_attribute("open", "", timeout=15_000)
        expect(boss.locator(f"#actions-{pk} button:has-text('Stop rec')")).to_be_visible(timeout=10_000)
    finally:
        agent_ctx.close()
        boss_ctx.close()


def test_a_big_wall_fills_in_windows_after_the_first_paint(server, page, monkeypatch):
    """The page brings the first window; the rest arrive one window after another, each
    card once, and the tiles count every call from the start."""
    from django.utils import timezone

    from dashboard.models import ProviderAccount
    from livecalls import selectors_wall
    from livecalls.models import CallSession

    monkeypatch.setattr(selectors_wall, "WALL_FIRST", 3)
    monkeypatch.setattr(selectors_wall, "WALL_CHUNK", 4)
    account = ProviderAccount.objects.create(kind="callgear", name="Floor", base_url=f"{server.url}/sandbox/callgear",
                                             is_sandbox=True)
    now = timezone.now()
    for i in range(12):
        CallSession.objects.create(account=account, provider_session_id=str(7000 + i), state="talking",
                                   contact_number=f"7916555{i:04d}", started_at=now)
    make_user("sam", SUPERVISOR, first_name="Sam")
    login(page, server, "sam", PASSWORD)
    page.goto(f"{server.url}/calls/")
    expect(page.locator("#wall-counts [data-count=active]")).to_have_text("12")
    expect(page.locator("#wall-cards .call-card")).to_have_count(12, timeout=10_000)
    expect(page.locator("#wall-more")).to_have_count(0)
    expect(page.locator("#wall-counts [data-count=talking]")).to_have_text("12")
