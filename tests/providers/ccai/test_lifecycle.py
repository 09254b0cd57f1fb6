"""Calls move through their statuses on the sandbox clock, with a webhook per change."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.providers.ccai.client import CcaiClient
from dashboard.providers.ccai.errors import CcaiError
from dashboard.providers.ccai.sandbox import CcaiSandbox, CreateRefused
from dashboard.providers.ccai.webhooks import parse_status_change
from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import subscriber_profile

from .conftest import Hooks


class LuckyDice:
    """Every answer roll succeeds; choices take the first option."""

    def random(self) -> float:
        return 0.0

    def choice(self, options: list[Any]) -> Any:
        return options[0]


def number_of_kind(kind: str, *, start: int = 100) -> str:
    for n in range(start, start + 2000):
        number = f"+1 650-555-{n:04d}"
        if subscriber_profile(number, seed=1).kind == kind:
            return number
    raise AssertionError(kind)


@pytest.fixture(autouse=True)
def lucky(twin: CcaiSandbox) -> None:
    twin.rng = LuckyDice()


async def test_outbound_call_rings_connects_talks_and_finishes(
    ccai: CcaiClient, ccai_app: SandboxApp, hooks: Hooks
):
    number = number_of_kind("answers")
    profile = subscriber_profile(number, seed=1)
    result = await ccai.create_outbound_call(
        agent_email="admin@somedomain.com", end_user_number=number
    )
    call_id = result.call.id
    await ccai_app.settle(0)
    assert hooks.statuses(call_id) == ["assigned"]

    await ccai_app.settle(1)
    call = await ccai.get_call(call_id)
    assert call.status == "connecting"
    assert call.participant("agent").status == "connected"
    assert call.participant("end_user").status == "connecting"

    await ccai_app.settle(profile.ring_seconds + 1)
    call = await ccai.get_call(call_id)
    assert call.status == "connected" and call.connected_at is not None
    assert {p.status for p in call.participants} == {"connected"}

    await ccai_app.settle(profile.talk_seconds + 1)
    call = await ccai.get_call(call_id)
    assert call.status == "finished" and call.is_terminal
    assert call.call_duration == round(profile.talk_seconds)
    assert call.disconnected_by == "disconnected_by_end_user"
    assert all(p.status == "finished" and p.ended_at is not None for p in call.participants)
    assert hooks.statuses(call_id) == ["assigned", "connecting", "connected", "finished"]

    changes = [parse_status_change(b) for b in hooks.for_call(call_id)]
    assert [c.sequence for c in changes] == [1, 2, 3, 4]
    assert [c.previous_status for c in changes] == [None, "assigned", "connecting", "connected"]
    assert all(c.agent_email == "admin@somedomain.com" for c in changes)
    assert changes[-1].participants[0].type == "agent"
    # The agent is free again.
    admin = next(
        a for a in ccai_app.twin("ccai").state()["agents"] if a["email"] == "admin@somedomain.com"
    )
    assert admin["available"] is True


@pytest.mark.parametrize(
    ("kind", "reason", "within"),
    [("busy", "busy", 4), ("no_answer", "no_answer", 32), ("nonexistent", "invalid_number", 4)],
)
async def test_outbound_call_fails_like_the_number_behaves(
    kind: str, reason: str, within: float, ccai: CcaiClient, ccai_app: SandboxApp, hooks: Hooks
):
    number = number_of_kind(kind)
    result = await ccai.create_outbound_call(
        agent_email="admin@somedomain.com", end_user_number=number
    )
    await ccai_app.settle(within + 1)
    call = await ccai.get_call(result.call.id)
    assert call.status == "failed" and call.fail_reason == reason
    assert call.participant("end_user").status == "failed"
    assert call.participant("end_user").fail_reason == reason
    assert hooks.statuses(call.id) == ["assigned", "connecting", "failed"]


async def test_the_agent_is_busy_during_a_call(ccai: CcaiClient, ccai_app: SandboxApp):
    number = number_of_kind("answers")
    await ccai.create_outbound_call(agent_email="admin@somedomain.com", end_user_number=number)
    with pytest.raises(CcaiError) as caught:
        await ccai.create_outbound_call(agent_email="admin@somedomain.com", end_user_number=number)
    assert caught.value.message == "Agent is not available to take this call"
    assert caught.value.permanent is False


async def test_incoming_call_is_queued_assigned_and_answered(
    ccai: CcaiClient, ccai_app: SandboxApp, hooks: Hooks
):
    number = "+82-10-6861-2345"
    result = await ccai.create_incoming_call(menu_id=9, end_user_number=number)
    call_id = result.call.id
    await ccai_app.settle(3)
    call = await ccai.get_call(call_id)
    assert call.status == "assigned"
    assert call.agent_info is not None and call.agent_info.first_name == "Maria"
    assert [p.type for p in call.participants] == ["agent", "end_user"]
    assert call.wait_duration == 3
    await ccai_app.settle(5)
    assert (await ccai.get_call(call_id)).status == "connected"
    await ccai_app.settle(subscriber_profile(number, seed=1).talk_seconds + 1)
    assert (await ccai.get_call(call_id)).status == "finished"
    assert hooks.statuses(call_id) == ["queued", "assigned", "connecting", "connected", "finished"]


async def test_incoming_calls_wait_for_a_free_agent_and_are_abandoned_after_180s(
    ccai: CcaiClient, ccai_app: SandboxApp, twin: CcaiSandbox, hooks: Hooks
):
    for email in ("maria@somedomain.com", "li@somedomain.com", "sam@somedomain.com"):
        twin.set_agent_on_duty(email, False)
    first = (await ccai.create_incoming_call(menu_id=10, end_user_number="+1 650-555-0107")).call
    second = (await ccai.create_incoming_call(menu_id=10, end_user_number="+1 650-555-0102")).call
    await ccai_app.settle(60)
    assert (await ccai.get_call(first.id)).status == "queued"
    twin.set_agent_on_duty("li@somedomain.com", True)
    await ccai_app.settle(0)
    # First come, first served.
    assert (await ccai.get_call(first.id)).status == "assigned"
    assert (await ccai.get_call(second.id)).status == "queued"
    await ccai_app.settle(125)
    second_now = await ccai.get_call(second.id)
    assert second_now.status == "failed" and second_now.fail_reason == "abandoned"
    assert hooks.statuses(second.id) == ["queued", "failed"]


async def test_scheduled_call_becomes_live_at_scheduled_at(
    ccai: CcaiClient, ccai_app: SandboxApp, hooks: Hooks
):
    number = number_of_kind("answers")
    result = await ccai.create_scheduled_call(
        menu_id=10, end_user_number=number, scheduled_at="2026-01-01T11:00:00Z"
    )
    call = result.call
    assert call.status == "scheduled" and call.call_type == "Voice Scheduled (API)"
    await ccai_app.settle(3599)
    assert (await ccai.get_call(call.id)).status == "scheduled"
    await ccai_app.settle(1)
    live = await ccai.get_call(call.id)
    assert live.status == "queued" and live.queued_at == live.scheduled_at
    await ccai_app.settle(3)
    assert (await ccai.get_call(call.id)).status == "assigned"
    # Once assigned, the end user is called back like an outbound call.
    await ccai_app.settle(2)
    assert (await ccai.get_call(call.id)).participant("end_user").status == "connecting"
    await ccai_app.settle(30)
    assert (await ccai.get_call(call.id)).status == "connected"
    assert hooks.statuses(call.id)[:5] == [
        "scheduled",
        "queued",
        "assigned",
        "connecting",
        "connected",
    ]


async def test_scheduled_call_linked_to_a_parent_call(ccai: CcaiClient, ccai_app: SandboxApp):
    parent = (await ccai.create_incoming_call(menu_id=10, end_user_number="+1 650-555-0100")).call
    child = (
        await ccai.create_scheduled_call(
            call_id=parent.id,
            end_user_number="+1 650-555-0100",
            scheduled_at="2026-01-01T12:00:00Z",
        )
    ).call
    assert child.parent_id == parent.id
    assert child.selected_menu is not None and child.selected_menu.id == 10
    with pytest.raises(CcaiError) as caught:
        await ccai.create_scheduled_call(
            call_id=99999, end_user_number="+1 650-555-0100", scheduled_at="2026-01-01T12:00:00Z"
        )
    assert (caught.value.message, caught.value.mnemonic) == (
        "call_id 99999 is not found",
        "parent_call_not_found",
    )


async def test_scheduled_at_must_be_in_the_sandbox_future(ccai: CcaiClient, raw):
    # The client leaves this to the server: its clock is not the platform's.
    with pytest.raises(CcaiError) as caught:
        await ccai.create_scheduled_call(
            menu_id=10, end_user_number="+1 650-555-0100", scheduled_at="2025-12-31T10:00:00Z"
        )
    assert caught.value.status == 400
    assert caught.value.message == "scheduled_at must be a future time"
    response = await raw.post(
        "/apps/api/v1/calls",
        json={
            "call_type": "ScheduledCall",
            "menu_id": 10,
            "end_user_number": "+1 650-555-0100",
            "scheduled_at": "tomorrow",
        },
    )
    assert (response.status_code, response.json()) == (
        400,
        {"message": "scheduled_at is not well formed"},
    )


async def test_202_and_200_calls_are_placed_when_the_agent_acts(
    ccai: CcaiClient, ccai_app: SandboxApp, twin: CcaiSandbox, hooks: Hooks
):
    accepted = await ccai.create_outbound_call(
        agent_email="widget@somedomain.com", end_user_number="+1 650-555-0100"
    )
    prompted = await ccai.create_outbound_call(
        agent_email="adapter@somedomain.com", end_user_number="+1 650-555-0102"
    )
    assert (accepted.status_code, prompted.status_code) == (202, 200)
    assert twin.ledger()["calls"] == []
    await ccai_app.settle(8)
    actions = twin.ledger()["pending_agent_actions"]
    assert [a["outcome"] for a in actions] == ["placed", "placed"]
    rows = twin.ledger()["calls"]
    assert [(r["agent_email"], r["status"]) for r in rows] == [
        ("widget@somedomain.com", "assigned"),
        ("adapter@somedomain.com", "assigned"),
    ]
    assert hooks.received[0]["end_user_number"] == "+1 650-555-0100"


async def test_simulate_incoming_call_for_demo_traffic(
    twin: CcaiSandbox, ccai_app: SandboxApp, hooks: Hooks
):
    call = twin.simulate_incoming_call("+1 650-555-0100", menu_id=9)
    assert call["status"] == "queued" and call["call_type"] == "Voice Inbound (API)"
    await ccai_app.settle(10)
    assert hooks.statuses(call["id"])[:4] == ["queued", "assigned", "connecting", "connected"]
    with pytest.raises(CreateRefused) as caught:
        twin.simulate_incoming_call("+1 650-555-0100", menu_id=13)
    assert caught.value.message == "Menu is in 'after hours' state, can't accept incoming calls"


async def test_same_seed_same_world(ccai_app: SandboxApp, twin: CcaiSandbox):
    first = twin.state()
    twin.simulate_incoming_call("+1 650-555-0100")
    await ccai_app.settle(300)
    ledger_one = twin.ledger()
    ccai_app.reset()
    twin.rng = LuckyDice()
    assert twin.state() == first and twin.ledger()["calls"] == []
    twin.simulate_incoming_call("+1 650-555-0100")
    await ccai_app.settle(300)
    assert [r["history"] for r in twin.ledger()["calls"]] != []
    assert [r["status"] for r in twin.ledger()["calls"]] == [
        r["status"] for r in ledger_one["calls"]
    ]
