"""The call-control panel: which buttons each state enables, what each role sees, the CCAI
customer flags, and that only successful actions change and push anything."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from dashboard.broadcast import perms_context
from dashboard.models import AuditEntry as Audit
from livecalls.models import CallSession, Leg
from livecalls.services import actions
from livecalls.services.actions import allowed_actions
from livecalls.services.live import AGENT_PERMS, SUPERVISOR_PERMS
from tests.livecalls import test_actions as base
from tests.livecalls.test_actions import post, snapshot, toast

# The CallGear call fixtures of test_actions, shared here.
agent_profile = base.agent_profile
call = base.call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.livecalls.test_actions")]


def make_session(account, state: str = CallSession.State.TALKING, **extra) -> tuple[CallSession, list[Leg]]:
    extra.setdefault("provider_session_id", "900001")
    session = CallSession.objects.create(account=account, state=state, contact_number="79110000001", **extra)
    leg_state = {"talking": "talking", "on_hold": "on_hold", "consulting": "on_hold", "ended": "ended"}.get(state,
                                                                                                        "ringing")
    legs = [
        Leg.objects.create(session=session, provider_leg_id="5001", calling_number="79110000001", state=leg_state),
        Leg.objects.create(session=session, provider_leg_id="5002", called_number="79260000001", is_operator=True,
                           employee_name="Anna Petrova", state="talking" if state != "ended" else "ended"),
    ]
    return CallSession.objects.select_related("account").get(pk=session.pk), legs


def panel(session: CallSession, legs: list[Leg], *codenames: str) -> str:
    return render_to_string("livecalls/_actions.html", {"session": session, "legs": legs, **perms_context(*codenames)})


# --- allowed_actions: the docs' state rules ---------------------------------------------------------


@pytest.mark.parametrize(("state", "enabled", "disabled"), [
    ("talking", {"hold", "talk_option", "tag", "record_on", "dtmf", "disconnect", "release", "block", "coach"},
     {"unhold", "consult", "transfer", "restore"}),
    ("on_hold", {"unhold", "consult", "tag", "record_on"}, {"hold", "transfer", "restore", "talk_option"}),
    ("consulting", {"transfer", "restore", "tag"}, {"hold", "unhold", "consult", "talk_option"}),
    ("ringing", {"release", "disconnect"}, {"hold", "unhold", "consult", "transfer", "restore", "talk_option"}),
])
def test_allowed_actions_follow_the_call_status_diagram(sandbox_accounts, state, enabled, disabled):
    session, legs = make_session(sandbox_accounts["callgear"], state)
    acts = allowed_actions(session, legs)
    assert enabled <= acts, enabled - acts
    assert not (disabled & acts), disabled & acts


def test_nothing_is_allowed_on_an_ended_call(sandbox_accounts):
    from django.utils import timezone

    session, legs = make_session(sandbox_accounts["callgear"], "ended", ended_at=timezone.now())
    assert allowed_actions(session, legs) == set()
    session, legs = make_session(sandbox_accounts["ccai"], "ended", ended_at=timezone.now())
    assert allowed_actions(session, legs) == set()


def test_every_leg_ended_means_nothing_even_before_the_end_event(sandbox_accounts):
    session, _ = make_session(sandbox_accounts["callgear"], "talking")
    Leg.objects.filter(session=session).update(state="ended")
    assert allowed_actions(session, list(session.legs.all())) == set()


def test_recording_offers_stop_only_while_recording(sandbox_accounts):
    session, legs = make_session(sandbox_accounts["callgear"], "talking", recording=True)
    acts = allowed_actions(session, legs)
    assert "record_off" in acts and "record_on" not in acts


def test_ccai_calls_only_have_flags(sandbox_accounts):
    session, legs = make_session(sandbox_accounts["ccai"], "talking")
    assert allowed_actions(session, legs) == {"flags"}


# --- the panel template ----------------------------------------------------------------------------


def test_panel_in_talk_offers_hold_and_disables_consult(sandbox_accounts):
    session, legs = make_session(sandbox_accounts["callgear"], "talking")
    html = panel(session, legs, *AGENT_PERMS)
    assert f'hx-post="/calls/{session.pk}/hold/"' in html and f'action="/calls/{session.pk}/hold/"' in html
    assert f'hx-target="#session-{session.pk}"' in html and 'hx-swap="outerHTML"' in html
    assert 'disabled title="Put the caller on hold first">Consult</button>' in html
    assert "hold_music.mp3" in html and "Hot lead" in html  # pickers from reference_data
    assert 'name="leg_id" value="5001"' in html and 'name="digits" value="#"' in html
    assert "Add coach" not in html  # agents have no coach_calls
    assert 'method="post"' in html and "Transfer" not in html


def test_panel_on_a_page_carries_the_csrf_token_and_the_way_back(rf, sandbox_accounts, agent):
    session, legs = make_session(sandbox_accounts["callgear"], "talking")
    request = rf.get("/calls/?tag=Hot+lead")
    request.user = agent
    html = render_to_string("livecalls/_actions.html", {"session": session, "legs": legs}, request=request)
    assert 'name="csrfmiddlewaretoken"' in html and 'name="next" value="/calls/?tag=Hot+lead"' in html
    assert "Put on hold" in html  # perms from the request: the agent controls own calls
    # A push has no request: no token input (htmx sends the page's token) and no way back.
    pushed = panel(session, legs, *AGENT_PERMS)
    assert "csrfmiddlewaretoken" not in pushed and 'name="next"' not in pushed


def test_panel_on_hold_offers_resume_and_consult(sandbox_accounts):
    session, legs = make_session(sandbox_accounts["callgear"], "on_hold")
    html = panel(session, legs, *SUPERVISOR_PERMS)
    assert "Resume" in html and "Put on hold" not in html
    assert f'hx-post="/calls/{session.pk}/consult/"' in html and "Clara Smirnova" in html
    assert 'disabled>Add coach' in html  # supervisors see it, greyed out outside talk


def test_panel_while_consulting_offers_transfer_and_restore(sandbox_accounts):
    session, legs = make_session(sandbox_accounts["callgear"], "consulting")
    html = panel(session, legs, *SUPERVISOR_PERMS)
    assert 'class="btn btn-sm btn-primary">Transfer</button>' in html
    assert 'class="btn btn-sm">Back to caller</button>' in html


def test_panel_marks_used_tags_and_the_recording_state(sandbox_accounts):
    session, legs = make_session(sandbox_accounts["callgear"], "talking", tags=["Hot lead"], recording=True)
    html = panel(session, legs, *AGENT_PERMS)
    assert 'value="36" class="btn btn-sm" disabled>Hot lead' in html
    assert 'name="action" value="off"' in html and "Stop rec" in html


def test_no_panel_without_control_permissions_or_on_an_ended_call(sandbox_accounts):
    from django.utils import timezone

    session, legs = make_session(sandbox_accounts["callgear"], "talking")
    assert "call-actions" not in panel(session, legs, "view_all_calls")
    session, legs = make_session(sandbox_accounts["ccai"], "ended", ended_at=timezone.now())
    assert "<form" not in panel(session, legs, *SUPERVISOR_PERMS)


def test_ccai_panel_is_the_flags_form(sandbox_accounts):
    session, legs = make_session(sandbox_accounts["ccai"], "talking", customer_flags={"bad_actor": True})
    html = panel(session, legs, *AGENT_PERMS)
    assert f'action="/calls/{session.pk}/flags/"' in html
    assert 'name="bad_actor" value="1" checked' in html and 'name="verified_customer" value="1">' in html
    assert "hold" not in html.lower().replace("placeholder", "")


def test_the_wall_card_includes_the_panel(sandbox_accounts):
    from livecalls.services.live import session_card_html

    session, _ = make_session(sandbox_accounts["callgear"], "talking")
    html = session_card_html(session, *SUPERVISOR_PERMS)
    assert f'id="session-{session.pk}"' in html and 'class="call-actions"' in html and "Add coach" in html


# --- the supervisors' wall: a Controls button per card, the panel on demand ----------------------


def test_supervisors_wall_cards_carry_a_controls_button_and_agents_the_panel(sandbox, call, agent_client,
                                                                          supervisor_client):
    wall = supervisor_client.get("/calls/").content.decode()
    assert f'id="controls-{call.pk}"' in wall and f'data-src="/calls/{call.pk}/controls/"' in wall
    assert f'id="actions-{call.pk}"' not in wall and "Put on hold" not in wall
    mine = agent_client.get("/calls/").content.decode()
    assert f'id="actions-{call.pk}"' in mine and "Put on hold" in mine and f'id="controls-{call.pk}"' not in mine


def test_the_controls_panel_loads_with_its_forms_for_whoever_may_see_the_call(sandbox, call, supervisor_client,
                                                                             agent_client, other_agent):
    from tests.conftest import client_for

    response = supervisor_client.get(f"/calls/{call.pk}/controls/")
    html = response.content.decode()
    assert response.status_code == 200 and f'id="actions-{call.pk}"' in html
    assert f'hx-post="/calls/{call.pk}/hold/"' in html and "Add coach" in html
    assert 'name="csrfmiddlewaretoken"' in html and 'name="next" value="/calls/"' in html
    assert "Add coach" not in agent_client.get(f"/calls/{call.pk}/controls/").content.decode()
    assert client_for(other_agent).get(f"/calls/{call.pk}/controls/").status_code == 403
    assert supervisor_client.post(f"/calls/{call.pk}/controls/").status_code == 405


def test_an_action_sent_from_the_controls_panel_answers_with_the_panel_open(sandbox, call, supervisor_client):
    response = post(supervisor_client, call, "hold", {"media_file_id": "2034", "panel": "open"})
    assert toast(response)["level"] == "success"
    html = response.content.decode()
    assert f'id="controls-{call.pk}"' in html and "open>" in html.split(f'id="controls-{call.pk}"')[1][:80]
    assert f'id="actions-{call.pk}"' in html and "ca-controls-body" not in html
    # Sent from the agent's own panel (no panel=open): the full card, no Controls button.
    plain = post(supervisor_client, call, "record", {"action": "on"}).content.decode()
    assert f'id="controls-{call.pk}"' not in plain and f'id="actions-{call.pk}"' in plain


def test_pushed_cards_are_compact_for_supervisors_and_full_for_the_agent(sandbox_accounts, agent, monkeypatch):
    from livecalls.services import live

    sent: dict[str, str] = {}
    monkeypatch.setattr(live, "send_parts", lambda group, parts: sent.__setitem__(group, "\n".join(h for _, h in parts)))
    session, _ = make_session(sandbox_accounts["callgear"], "talking", agent=agent)
    live.session_broadcast(session=session)
    supervisors = next(html for group, html in sent.items() if "agent" not in group)
    mine = next(html for group, html in sent.items() if "agent" in group)
    assert f'id="controls-{session.pk}"' in supervisors and 'class="call-actions"' not in supervisors
    assert 'class="call-actions"' in mine and "ca-controls" not in mine


# --- only success changes and pushes ------------------------------------------------------------


def test_success_pushes_the_card_and_an_error_pushes_nothing(sandbox, call, agent, monkeypatch):
    pushed: list[int] = []
    monkeypatch.setattr(actions, "session_broadcast", lambda *, session: pushed.append(session.pk))
    assert actions.call_tag(session=call, user=agent, tag_id=456).ok
    assert pushed == [call.pk]
    result = actions.call_tag(session=call, user=agent, tag_id=999)
    assert not result.ok and result.error.mnemonic == "tag_not_found"
    assert result.summary == result.error.describe()
    assert pushed == [call.pk]


def test_callgear_actions_on_a_ccai_call_are_refused_without_a_request(sandbox_accounts, agent):
    session, _ = make_session(sandbox_accounts["ccai"], "talking")
    result = actions.call_hold(session=session, user=agent)
    assert (result.ok, result.summary) == (False, "This action is only for CallGear calls.")
    assert Audit.objects.get(action="call.hold").result == "error"


def test_hold_without_a_choice_plays_the_accounts_first_media_file(sandbox, call, agent):
    assert actions.call_hold(session=call, user=agent).ok
    assert Audit.objects.get(action="call.hold").parameters == {"contact_message": {"type": "media", "value": "237"}}


# --- CCAI customer flags -------------------------------------------------------------------------


@pytest.fixture
def ccai_call(sandbox, sandbox_transport, sandbox_accounts, agent) -> CallSession:
    payload = sandbox.twin("ccai").simulate_incoming_call("+1 650-555-0100")
    return CallSession.objects.select_related("account").get(pk=CallSession.objects.create(
        account=sandbox_accounts["ccai"], provider_session_id=str(payload["id"]), state="queued",
        contact_number="+16505550100", agent=agent).pk)


def test_flags_are_read_from_ccai(sandbox, ccai_call, agent_client):
    response = post(agent_client, ccai_call, "flags/refresh")
    assert toast(response) == {"level": "success", "text": "Customer flags refreshed."}
    assert CallSession.objects.get(pk=ccai_call.pk).customer_flags == {
        "verified_customer": False, "bad_actor": False, "repeat_customer": False}


def test_flags_are_updated_at_ccai_and_kept_on_the_session(sandbox, ccai_call, agent_client):
    response = post(agent_client, ccai_call, "flags", {"verified_customer": "1", "bad_actor": "1"})
    assert toast(response) == {"level": "success", "text": "Customer flags saved."}
    expected = {"verified_customer": True, "bad_actor": True, "repeat_customer": False}
    assert CallSession.objects.get(pk=ccai_call.pk).customer_flags == expected
    call_id = int(ccai_call.provider_session_id)
    assert sandbox.twin("ccai").world.calls[call_id].flags == expected
    html = response.content.decode()
    assert "Verified" in html and 'name="bad_actor" value="1" checked' in html
    entry = Audit.objects.get(action="call.flags_update")
    assert entry.result == "ok" and entry.parameters == expected
    # Unticking sends false.
    post(agent_client, ccai_call, "flags", {"verified_customer": "1"})
    assert CallSession.objects.get(pk=ccai_call.pk).customer_flags["bad_actor"] is False


def test_flags_of_a_call_ccai_does_not_know_are_its_error(sandbox, sandbox_transport, sandbox_accounts, agent,
                                                          agent_client):
    session = CallSession.objects.create(account=sandbox_accounts["ccai"], provider_session_id="424242",
                                         state="talking", agent=agent, customer_flags={"bad_actor": False})
    before = snapshot(session)
    response = post(agent_client, session, "flags", {"bad_actor": "1"})
    assert toast(response)["level"] == "error"
    entry = Audit.objects.get(action="call.flags_update")
    assert entry.result == "error" and entry.provider_mnemonic == "not_found"
    assert snapshot(session) == before


def test_another_agent_may_not_touch_the_flags(sandbox, ccai_call, other_agent):
    from tests.conftest import client_for

    client = client_for(other_agent)
    assert post(client, ccai_call, "flags", {"bad_actor": "1"}).status_code == 403
    assert post(client, ccai_call, "flags/refresh").status_code == 403
