"""Readings of the create rules that the seed's examples do not show directly."""

from __future__ import annotations

import httpx

from dashboard.providers.ccai.sandbox import CcaiSandbox


async def test_a_body_that_is_not_json_is_an_invalid_call_type(raw: httpx.AsyncClient):
    response = await raw.post("/apps/api/v1/calls", content=b"call_type=OutboundCall")
    assert (response.status_code, response.json()) == (400, {"message": "Invalid call type"})
    response = await raw.post("/apps/api/v1/calls", json=["Voice Outbound (API)"])
    assert response.status_code == 400


async def test_ticket_id_wins_over_a_malformed_number(raw: httpx.AsyncClient):
    response = await raw.post(
        "/apps/api/v1/calls",
        json={
            "call_type": "OutboundCall",
            "agent_email": "admin@somedomain.com",
            "ticket_id": 71450,
            "end_user_number": "123123",
        },
    )
    assert response.status_code == 201
    assert response.json()["out_ticket_id"] == "71450"
    assert response.json()["end_user"]["id"] == 67


async def test_an_unmanaged_outbound_number_falls_back_to_the_default(raw: httpx.AsyncClient):
    response = await raw.post(
        "/apps/api/v1/calls",
        json={
            "call_type": "Voice Outbound (API)",
            "agent_email": "nora@somedomain.com",
            "end_user_number": "+1 650-555-0100",
            "outbound_number": "+1 415-555-0000",
        },
    )
    assert response.status_code == 201
    assert response.json()["outbound_number"] == "+1 339-219-5276"
    managed = await raw.post(
        "/apps/api/v1/calls",
        json={
            "call_type": "Voice Outbound (API)",
            "agent_email": "widget@somedomain.com",
            "end_user_number": "+1 650-555-0102",
            "outbound_number": "+1 760-410-8538",
        },
    )
    # A managed number given: no choice left to the agent, the call is placed (201).
    assert managed.status_code == 201 and managed.json()["outbound_number"] == "+1 760-410-8538"


async def test_unknown_ticket_on_an_incoming_call_is_contact_not_found(raw: httpx.AsyncClient):
    response = await raw.post(
        "/apps/api/v1/calls",
        json={
            "call_type": "IncomingCall",
            "menu_id": "9",
            "ticket_id": "555",
            "end_user_number": "+1 650-555-0100",
        },
    )
    assert (response.status_code, response.json()) == (400, {"message": "Contact not found"})


async def test_menu_state_can_change(raw: httpx.AsyncClient, twin: CcaiSandbox):
    twin.set_menu_state(9, "after_hours")
    body = {"call_type": "IncomingCall", "menu_id": 9, "end_user_number": "+1 650-555-0100"}
    response = await raw.post("/apps/api/v1/calls", json=body)
    assert response.json() == {
        "message": "Menu is in 'after hours' state, can't accept incoming calls"
    }
    twin.set_menu_state(9, "open")
    assert (await raw.post("/apps/api/v1/calls", json=body)).status_code == 201


async def test_a_web_menu_is_refused_for_incoming_and_an_ivr_menu_for_scheduled(
    raw: httpx.AsyncClient,
):
    incoming = await raw.post(
        "/apps/api/v1/calls",
        json={"call_type": "IncomingCall", "menu_id": 11, "end_user_number": "+1 650-555-0100"},
    )
    assert incoming.json() == {"message": "Only IVR and mobile menu IDs are permitted"}
    scheduled = await raw.post(
        "/apps/api/v1/calls",
        json={
            "call_type": "ScheduledCall",
            "menu_id": 9,
            "end_user_number": "+1 650-555-0100",
            "scheduled_at": "2026-01-02T00:00:00Z",
        },
    )
    assert scheduled.json() == {"message": "Only mobile and web menu IDs are permitted"}


async def test_method_not_allowed_and_unknown_call_ids(raw: httpx.AsyncClient):
    assert (await raw.delete("/apps/api/v1/calls")).status_code == 405
    response = await raw.get("/manager/api/v1/calls/abc")
    assert (response.status_code, response.json()) == (404, {"message": "Resource not found"})
