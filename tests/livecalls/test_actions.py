"""Call-control actions on CallGear calls, through the views, against the sandbox.

Each test starts a real call in the sandbox (a subscriber calls a virtual number, Anna
answers) and creates the CallSession/Leg rows from ``list.calls`` itself, since applying
notifications is another module's job. Every action is tried where the docs allow it and
where they do not: the provider's own error must reach the person and the audit log, and
nothing may change locally.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import include, path

from dashboard.models import AgentProfile
from dashboard.models import AuditEntry as Audit
from dashboard.providers import accounts
from dashboard.urls import urlpatterns as root_urlpatterns
from livecalls.models import CallSession, Leg
from tests.conftest import client_for

# The lead mounts urls_actions under calls/; until then these tests mount it themselves.
urlpatterns = [path("calls/", include("livecalls.urls_actions")), *root_urlpatterns]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

ANNA = 25  # sandbox employee with a phone number and a coach (Clara, 27)
CLARA = 27
HTMX = {"HX-Request": "true"}

# Our session states for the sandbox twin's (seed 003's call status diagram).
TWIN_STATES = {
    "talk": CallSession.State.TALKING,
    "hold": CallSession.State.ON_HOLD,
    "dialing": CallSession.State.CONSULTING,
    "operator_talk": CallSession.State.CONSULTING,
    "transferring": CallSession.State.CONSULTING,
    "connecting": CallSession.State.RINGING,
    "ended": CallSession.State.ENDED,
}
LEG_STATES = {"talk": "talking", "operators_talk": "talking", "hold": "on_hold", "ringing": "ringing",
              "transferring": "on_hold"}


def settle(sandbox: Any, seconds: float = 10) -> None:
    asyncio.run(sandbox.settle(seconds, step=1))


def twin_session(sandbox: Any, session: CallSession) -> Any:
    return sandbox.twin("callgear").sessions[int(session.provider_session_id)]


def start_talking_call(sandbox: Any, account: Any, agent: Any = None) -> CallSession:
    """A real incoming call in talk at the sandbox, and our rows for it from list.calls."""
    twin = sandbox.twin("callgear")
    contact = twin.find_contact(min_talk=900)
    for _ in range(10):
        sid = twin.simulate_incoming_call(contact=contact, employee_id=ANNA)
        settle(sandbox, 10)
        if twin.sessions[sid].state == "talk":
            break
        twin.end_call(sid)  # the PBX's miss rate: try again
    else:  # pragma: no cover - the seeded world answers within a few calls
        raise AssertionError("no call reached talk")

    async def read() -> Any:
        async with accounts.open_callgear(account) as client:
            return await client.list_calls()

    call = next(c for c in accounts.run(read) if c.call_session_id == sid)
    session = CallSession.objects.create(
        account=account, provider_session_id=str(sid), direction=call.direction or "in",
        virtual_number=call.virtual_phone_number or "", contact_number=call.contact_phone_number or "",
        state=CallSession.State.TALKING, started_at=call.start_time, agent=agent,
    )
    for leg in call.legs:
        Leg.objects.create(
            session=session, provider_leg_id=str(leg.leg_id), calling_number=leg.calling_phone_number or "",
            called_number=leg.called_phone_number or "", is_operator=leg.is_operator,
            employee_id=str(leg.employee_id or ""), employee_name=leg.employee_full_name or "",
            state=LEG_STATES.get(leg.state, "talking"), provider_state=leg.state_raw or "",
            agent=agent if leg.is_operator else None,
        )
    return CallSession.objects.select_related("account").get(pk=session.pk)


def follow_twin(sandbox: Any, session: CallSession) -> CallSession:
    """What ingest would do for the session's state (enough for the buttons)."""
    state = TWIN_STATES.get(twin_session(sandbox, session).state, CallSession.State.TALKING)
    CallSession.objects.filter(pk=session.pk).update(state=state)
    return CallSession.objects.select_related("account").get(pk=session.pk)


def toast(response: Any) -> dict[str, str]:
    return json.loads(response["HX-Trigger"])["toast"]


def snapshot(session: CallSession) -> dict[str, Any]:
    row = CallSession.objects.get(pk=session.pk)
    fields = ["state", "tags", "recording", "customer_flags", "ended_at", "agent_id", "details"]
    legs = list(Leg.objects.filter(session=row).order_by("pk").values("provider_leg_id", "state", "ended_at"))
    return {**{f: getattr(row, f) for f in fields}, "legs": legs}


def last_audit(action: str) -> Audit:
    return Audit.objects.filter(action=action).order_by("-pk").first()


@pytest.fixture
def agent_profile(agent):
    return AgentProfile.objects.create(user=agent, callgear_employee_id=ANNA, callgear_phone_numbers=["79260000001"])


@pytest.fixture
def call(sandbox, sandbox_transport, sandbox_accounts, agent, agent_profile) -> CallSession:
    """Anna (the ``agent`` user) talking with a caller."""
    return start_talking_call(sandbox, sandbox_accounts["callgear"], agent)


def post(client: Any, session: CallSession, action: str, data: dict[str, Any] | None = None, htmx: bool = True):
    return client.post(f"/calls/{session.pk}/{action}/", data or {}, headers=HTMX if htmx else {})


def assert_provider_error(response: Any, session: CallSession, before: dict[str, Any], action: str,
                          mnemonic: str, text: str) -> None:
    """The provider's words reach the person, the audit has its mnemonic, nothing moved."""
    assert response.status_code == 200
    message = toast(response)
    assert message["level"] == "error"
    assert text in message["text"] and mnemonic in message["text"]
    entry = last_audit(action)
    assert (entry.result, entry.provider_mnemonic) == ("error", mnemonic)
    assert entry.provider_code and entry.latency_ms is not None
    assert snapshot(session) == before


# --- hold / unhold ---------------------------------------------------------------------------


def test_hold_plays_the_chosen_media_file_and_returns_the_card(sandbox, call, agent_client):
    response = post(agent_client, call, "hold", {"media_file_id": "2034"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="session-{call.pk}"' in html and "hx-swap-oob" not in html
    assert toast(response) == {"level": "success", "text": "Call put on hold."}
    assert twin_session(sandbox, call).state == "hold"
    entry = last_audit("call.hold")
    assert entry.result == "ok" and entry.parameters == {"contact_message": {"type": "media", "value": "2034"}}
    assert entry.target == f"callgear session {call.provider_session_id}" and entry.latency_ms is not None
    # The leg state is the notifications' business: not faked here.
    assert CallSession.objects.get(pk=call.pk).state == CallSession.State.TALKING


def test_hold_with_a_spoken_message(sandbox, call, agent_client):
    response = post(agent_client, call, "hold", {"media_file_id": "", "tts": "One moment please"})
    assert toast(response)["level"] == "success"
    assert last_audit("call.hold").parameters == {"contact_message": {"type": "tts", "value": "One moment please"}}


def test_holding_a_call_not_in_talk_shows_the_providers_invalid_state(sandbox, call, agent_client):
    assert toast(post(agent_client, call, "hold", {"media_file_id": "2034"}))["level"] == "success"
    call = follow_twin(sandbox, call)
    assert call.state == CallSession.State.ON_HOLD
    before = snapshot(call)
    # Our state says on hold, so the card's Hold button is disabled; the view still asks
    # CallGear, and the person reads CallGear's own answer.
    response = post(agent_client, call, "hold", {"media_file_id": "2034"})
    card = response.content.decode()
    assert "Resume" in card and "Put on hold" not in card
    assert_provider_error(response, call, before, "call.hold", "invalid_state",
                          "This method can not be called in this state")


def test_hold_refused_locally_by_the_client_is_audited_too(sandbox, call, agent_client):
    """An unknown media file: the sandbox answers media_file_not_found... or the client's
    own check refuses; either way the words reach the person."""
    before = snapshot(call)
    response = post(agent_client, call, "hold", {"media_file_id": "999999"})
    message = toast(response)
    assert message["level"] == "error" and "media_file_not_found" in message["text"]
    assert snapshot(call) == before


def test_unhold_brings_the_caller_back(sandbox, call, agent_client):
    post(agent_client, call, "hold", {"media_file_id": "2034"})
    call = follow_twin(sandbox, call)
    response = post(agent_client, call, "unhold")
    assert toast(response) == {"level": "success", "text": "Back with the caller."}
    assert twin_session(sandbox, call).state == "talk"
    assert last_audit("call.unhold").result == "ok"


def test_unhold_when_not_on_hold_is_invalid_state(sandbox, call, agent_client):
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "unhold"), call, before, "call.unhold", "invalid_state",
                          "This method can not be called in this state")


# --- consult, transfer, restore ----------------------------------------------------------------


def test_consult_an_employee_from_the_picker_after_hold(sandbox, call, agent_client):
    post(agent_client, call, "hold", {"media_file_id": "2034"})
    response = post(agent_client, call, "consult", {"employee_id": str(CLARA)})
    assert toast(response) == {"level": "success",
                               "text": "Calling Clara Smirnova for a consultation; the caller is on hold."}
    assert twin_session(sandbox, call).state == "dialing"
    assert last_audit("call.consult").parameters == {"to": "79262444491", "employee_id": str(CLARA)}


def test_consult_a_typed_number(sandbox, call, agent_client):
    post(agent_client, call, "hold", {"media_file_id": "2034"})
    response = post(agent_client, call, "consult", {"to": "+7 926 244 4492"})
    assert toast(response)["level"] == "success"
    assert last_audit("call.consult").parameters == {"to": "79262444492"}


def test_consult_without_hold_is_invalid_state(sandbox, call, agent_client):
    before = snapshot(call)
    response = post(agent_client, call, "consult", {"employee_id": str(CLARA)})
    assert_provider_error(response, call, before, "call.consult", "invalid_state",
                          "This method can not be called in this state")


def test_consult_needs_a_number_or_an_employee(sandbox, call, agent_client):
    response = post(agent_client, call, "consult", {})
    assert toast(response) == {"level": "error", "text": "Enter a number or choose an employee to call."}
    assert not Audit.objects.filter(action="call.consult").exists()


def test_transfer_hands_the_caller_to_the_consulted_party(sandbox, call, agent_client):
    post(agent_client, call, "hold", {"media_file_id": "2034"})
    post(agent_client, call, "consult", {"employee_id": str(CLARA)})
    call = follow_twin(sandbox, call)
    assert call.state == CallSession.State.CONSULTING
    response = post(agent_client, call, "transfer")
    assert toast(response) == {"level": "success", "text": "Caller transferred to the consulted party."}
    assert twin_session(sandbox, call).state in ("transferring", "talk")


def test_transfer_before_make_call_is_invalid_state(sandbox, call, agent_client):
    post(agent_client, call, "hold", {"media_file_id": "2034"})
    call = follow_twin(sandbox, call)
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "transfer"), call, before, "call.transfer", "invalid_state",
                          "This method can not be called in this state")


def test_restore_returns_to_the_caller(sandbox, call, agent_client):
    post(agent_client, call, "hold", {"media_file_id": "2034"})
    post(agent_client, call, "consult", {"employee_id": str(CLARA)})
    response = post(agent_client, call, "restore")
    assert toast(response) == {"level": "success", "text": "Consultation ended; back with the caller."}
    assert twin_session(sandbox, call).state == "talk"


def test_restore_before_make_call_is_invalid_state(sandbox, call, agent_client):
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "restore"), call, before, "call.restore", "invalid_state",
                          "This method can not be called in this state")


# --- tags, recording, keypad, talk options --------------------------------------------------------


def test_tag_adds_the_tag_name_at_once(sandbox, call, agent_client):
    response = post(agent_client, call, "tag", {"tag_id": "36"})
    assert toast(response) == {"level": "success", "text": "Tagged “Hot lead”."}
    assert CallSession.objects.get(pk=call.pk).tags == ["Hot lead"]
    assert "Hot lead" in response.content.decode()  # the card shows it
    assert twin_session(sandbox, call).tags == [36]


def test_unknown_tag_is_tag_not_found_and_changes_nothing(sandbox, call, agent_client):
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "tag", {"tag_id": "4242"}), call, before, "call.tag",
                          "tag_not_found", "Tag with 4242 not found")


def test_tagging_twice_is_the_providers_duplicate_tag(sandbox, call, agent_client):
    post(agent_client, call, "tag", {"tag_id": "36"})
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "tag", {"tag_id": "36"}), call, before, "call.tag",
                          "duplicate_tag", "Duplicate tag")


def test_recording_on_then_off(sandbox, call, agent_client):
    response = post(agent_client, call, "record", {"action": "on"})
    assert toast(response) == {"level": "success", "text": "Recording started."}
    assert CallSession.objects.get(pk=call.pk).recording is True
    assert twin_session(sandbox, call).recording is True
    response = post(agent_client, call, "record", {"action": "off"})
    assert toast(response) == {"level": "success", "text": "Recording stopped."}
    assert CallSession.objects.get(pk=call.pk).recording is False


def test_recording_on_twice_is_record_already_started(sandbox, call, agent_client):
    post(agent_client, call, "record", {"action": "on"})
    before = snapshot(call)
    assert before["recording"] is True
    assert_provider_error(post(agent_client, call, "record", {"action": "on"}), call, before, "call.record",
                          "record_already_started", "The call record is already started")


def test_recording_off_when_not_recording_is_record_already_stopped(sandbox, call, agent_client):
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "record", {"action": "off"}), call, before, "call.record",
                          "record_already_stopped", "The call record is not enabled")


def test_keypad_sends_dtmf(sandbox, call, agent_client):
    response = post(agent_client, call, "dtmf", {"digits": "12#"})
    assert toast(response) == {"level": "success", "text": "Sent 12#."}
    assert twin_session(sandbox, call).dtmf == ["12#"]


def test_keypad_refuses_what_is_not_dtmf(sandbox, call, agent_client):
    before = snapshot(call)
    response = post(agent_client, call, "dtmf", {"digits": "12a"})
    message = toast(response)
    assert message["level"] == "error" and "invalid_parameter_value" in message["text"]
    assert last_audit("call.dtmf").provider_mnemonic == "invalid_parameter_value"
    assert twin_session(sandbox, call).dtmf == [] and snapshot(call) == before


def test_talk_options_are_listed_then_called(sandbox, call, agent_client):
    listing = agent_client.get(f"/calls/{call.pk}/talk-options/", headers=HTMX)
    html = listing.content.decode()
    assert listing.status_code == 200 and "Voice recorder" in html and 'name="button" value="2"' in html
    response = post(agent_client, call, "talk-option", {"button": "1"})
    assert toast(response) == {"level": "success", "text": "Talk option 1 called."}
    assert twin_session(sandbox, call).tags == [254]  # option 1 tags "Relevant"


def test_unknown_talk_option_is_talk_option_not_found(sandbox, call, agent_client):
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "talk-option", {"button": "7"}), call, before,
                          "call.talk_option", "talk_option_not_found", "Talk option not found")


def test_talk_option_on_hold_is_invalid_state(sandbox, call, agent_client):
    post(agent_client, call, "hold", {"media_file_id": "2034"})
    call = follow_twin(sandbox, call)
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "talk-option", {"button": "2"}), call, before,
                          "call.talk_option", "invalid_state", "This method can not be called in this state")


# --- legs, release, blacklist, coach -----------------------------------------------------------------


def test_disconnecting_the_contact_ends_the_session_at_the_provider(sandbox, call, agent_client):
    contact_leg = call.legs.get(is_operator=False)
    response = post(agent_client, call, "disconnect", {"leg_id": contact_leg.provider_leg_id})
    assert toast(response) == {"level": "success", "text": "Participant disconnected."}
    assert not twin_session(sandbox, call).active
    # Ended comes from the notifications, not from us.
    assert Leg.objects.get(pk=contact_leg.pk).state == "talking"


def test_unknown_leg_is_leg_not_found(sandbox, call, agent_client):
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "disconnect", {"leg_id": "1"}), call, before,
                          "call.disconnect_leg", "leg_not_found", "The call's leg not found")


def test_release_lets_go_of_the_call(sandbox, call, agent_client):
    response = post(agent_client, call, "release")
    assert toast(response) == {"level": "success", "text": "Call released."}
    assert not twin_session(sandbox, call).active
    assert last_audit("call.release").result == "ok"


def test_release_of_a_call_that_already_ended_is_call_session_not_found(sandbox, call, agent_client):
    sandbox.twin("callgear").end_call(int(call.provider_session_id))
    message = toast(post(agent_client, call, "release"))
    assert message["level"] == "error"
    assert "Call session not found" in message["text"] and "call_session_not_found" in message["text"]
    assert last_audit("call.release").provider_mnemonic == "call_session_not_found"
    # The provider has forgotten the call, so the wall ends it (test_reconcile_gone.py).
    assert CallSession.objects.get(pk=call.pk).state == "ended"


def test_block_puts_the_caller_on_the_blacklist(sandbox, call, agent_client):
    response = post(agent_client, call, "block")
    assert toast(response)["level"] == "success"
    assert call.contact_number in sandbox.twin("callgear").state()["blacklist"]
    assert last_audit("call.block_contact").parameters == {"contact": call.contact_number}


def test_blocking_twice_is_duplicate_contact(sandbox, call, agent_client):
    post(agent_client, call, "block")
    before = snapshot(call)
    assert_provider_error(post(agent_client, call, "block"), call, before, "call.block_contact",
                          "duplicate_contact", f"The contact with phone number {call.contact_number} already exists")


def test_a_supervisor_adds_the_coach_from_the_settings(sandbox, call, supervisor_client):
    response = post(supervisor_client, call, "coach")
    assert toast(response) == {"level": "success", "text": "Coach is being called into the conversation."}
    coach_legs = [leg for leg in twin_session(sandbox, call).legs if leg.role == "coach"]
    assert [leg.called for leg in coach_legs] == ["79262444491"]


def test_coach_at_an_inactive_number_is_no_active_phone_number(sandbox, call, supervisor_client):
    employees = sandbox.twin("callgear").state()["employees"]
    inactive = next(n for e in employees for n in e["inactive_numbers"])
    before = snapshot(call)
    assert_provider_error(post(supervisor_client, call, "coach", {"phone_number": inactive}), call, before,
                          "call.coach", "no_active_phone_number", "The phone number does not exist or inactive")


def test_an_agent_may_not_add_a_coach(sandbox, call, agent_client):
    response = post(agent_client, call, "coach")
    assert response.status_code == 403
    assert not [leg for leg in twin_session(sandbox, call).legs if leg.role == "coach"]


# --- who may act, and how the answer comes back --------------------------------------------------


def test_an_agent_may_not_act_on_another_agents_call(sandbox, call, other_agent):
    client = client_for(other_agent)
    for action in ["hold", "unhold", "tag", "record", "release", "block", "disconnect", "dtmf", "consult",
                   "transfer", "restore", "talk-option", "coach"]:
        assert post(client, call, action, {"tag_id": "36"}).status_code == 403, action
    assert client.get(f"/calls/{call.pk}/talk-options/").status_code == 403
    assert twin_session(sandbox, call).tags == [] and twin_session(sandbox, call).state == "talk"
    assert not Audit.objects.filter(action__startswith="call.").exists()


def test_a_supervisor_acts_on_any_call(sandbox, call, supervisor_client):
    assert toast(post(supervisor_client, call, "tag", {"tag_id": "254"}))["level"] == "success"


def test_actions_are_post_only_and_unknown_calls_404(sandbox, call, agent_client):
    assert agent_client.get(f"/calls/{call.pk}/hold/").status_code == 405
    assert agent_client.post("/calls/999999/hold/").status_code == 404


def test_a_plain_post_redirects_back_with_a_message(sandbox, call, agent_client):
    response = post(agent_client, call, "tag", {"tag_id": "36", "next": "/calls/?tag=x"}, htmx=False)
    assert (response.status_code, response["Location"]) == (302, "/calls/?tag=x")
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Tagged “Hot lead”."]
    response = post(agent_client, call, "tag", {"tag_id": "36", "next": "https://evil.example/"}, htmx=False)
    assert (response.status_code, response["Location"]) == (302, "/calls/")


def test_a_plain_post_error_is_a_message_too(sandbox, call, agent_client):
    response = post(agent_client, call, "unhold", htmx=False)
    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("invalid_state" in t for t in texts)


def test_csrf_is_enforced(sandbox, call, agent):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.post(f"/calls/{call.pk}/tag/", {"tag_id": "36"}, headers=HTMX).status_code == 403
    assert twin_session(sandbox, call).tags == []
    client.get("/calls/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(f"/calls/{call.pk}/tag/", {"tag_id": "36"}, headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 200 and toast(response)["level"] == "success"


def test_the_returned_card_has_the_users_buttons(sandbox, call, agent_client, supervisor_client):
    agent_card = post(agent_client, call, "tag", {"tag_id": "36"}).content.decode()
    assert "Add coach" not in agent_card and "Put on hold" in agent_card
    supervisor_card = post(supervisor_client, call, "tag", {"tag_id": "254"}).content.decode()
    assert "Add coach" in supervisor_card


def test_talk_options_work_without_javascript(sandbox, call, agent_client):
    page = agent_client.get(f"/calls/{call.pk}/talk-options/").content.decode()
    assert f'action="/calls/{call.pk}/talk-option/"' in page and "Finish conversation" in page
    response = post(agent_client, call, "talk-option", {"button": "2"}, htmx=False)
    assert (response.status_code, response["Location"]) == (302, "/calls/")
    assert twin_session(sandbox, call).recording is True  # option 2 is the voice recorder
