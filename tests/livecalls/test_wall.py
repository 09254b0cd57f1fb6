from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from dashboard.consumers import LiveConsumer
from livecalls.models import CallSession, Leg
from livecalls.services.live import session_broadcast
from tests.conftest import socket_answer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def calls(sandbox_accounts, agent, other_agent):
    account = sandbox_accounts["callgear"]
    now = timezone.now()

    def make(pid, agent_user, state="talking", direction="in", tags=(), ended=False, vnumber="74993720692"):
        s = CallSession.objects.create(
            account=account, provider_session_id=pid, direction=direction, contact_number=f"7916000{pid}",
            virtual_number=vnumber, state="ended" if ended else state, started_at=now, answered_at=now,
            ended_at=now if ended else None, agent=agent_user, tags=list(tags))
        Leg.objects.create(session=s, provider_leg_id=f"{pid}1", calling_number=s.contact_number, state="talking",
                           started_at=now)
        Leg.objects.create(session=s, provider_leg_id=f"{pid}2", is_operator=True, employee_name="Anna",
                           agent=agent_user, state="talking", started_at=now)
        return s

    return {
        "mine": make("101", agent, tags=["Hot lead"]),
        "theirs": make("102", other_agent, state="on_hold", direction="out"),
        "ringing": make("103", None, state="ringing", vnumber="74951045771"),
        "ended": make("104", agent, ended=True),
    }


def test_supervisor_sees_every_active_call_with_counts(supervisor_client, calls):
    page = supervisor_client.get("/calls/").content.decode()
    for key in ("mine", "theirs", "ringing"):
        assert f'id="session-{calls[key].pk}"' in page
    assert f'id="session-{calls["ended"].pk}"' not in page
    assert 'data-count="active">3<' in page and 'data-count="on_hold">1<' in page and 'data-count="ringing">1<' in page


def test_agent_sees_only_their_own_calls(agent_client, calls):
    page = agent_client.get("/calls/").content.decode()
    assert f'id="session-{calls["mine"].pk}"' in page
    assert f'id="session-{calls["theirs"].pk}"' not in page and f'id="session-{calls["ringing"].pk}"' not in page
    assert "My calls" in page
    assert agent_client.get(f"/calls/{calls['theirs'].pk}/").status_code == 403
    assert agent_client.get(f"/calls/{calls['mine'].pk}/").status_code == 200


def test_filters_by_direction_virtual_number_agent_and_tag(supervisor_client, calls, agent):
    def shown(query):
        page = supervisor_client.get(f"/calls/?{query}").content.decode()
        return {k for k, s in calls.items() if f'id="session-{s.pk}"' in page}

    assert shown("direction=out") == {"theirs"}
    assert shown("vnumber=74951045771") == {"ringing"}
    assert shown(f"agent={agent.pk}") == {"mine"}
    assert shown("tag=Hot+lead") == {"mine"}


def test_resync_returns_only_the_cards(supervisor_client, calls):
    html = supervisor_client.get("/calls/", headers={"HX-Request": "true", "HX-Target": "wall-cards"}).content.decode()
    assert html.lstrip().startswith('<section id="wall-cards"') and "<html" not in html


def test_history_finds_ended_calls(supervisor_client, agent_client, calls):
    page = supervisor_client.get("/calls/history/?q=7916000104").content.decode()
    assert "7916000104" in page and "7916000101" not in page
    assert "7916000104" in agent_client.get("/calls/history/").content.decode()


async def _socket(user, path="/ws/live/?calls=1"):
    c = WebsocketCommunicator(LiveConsumer.as_asgi(), path)
    c.scope["user"] = user
    connected, _ = await c.connect()
    assert connected
    await c.receive_from()  # the indicator
    return c


def test_a_call_change_reaches_supervisors_and_its_agent_only(supervisor, agent, other_agent, calls):
    async def run():
        sup, mine, other = await _socket(supervisor), await _socket(agent), await _socket(other_agent)
        await sync_to_async(session_broadcast)(session=calls["mine"])
        got_sup, got_mine = await sup.receive_from(), await mine.receive_from()
        nothing = await other.receive_nothing(timeout=0.3)
        for c in (sup, mine, other):
            await c.disconnect()
        return got_sup, got_mine, nothing

    got_sup, got_mine, nothing = asyncio.run(run())
    pk = calls["mine"].pk
    assert f'id="session-{pk}"' in got_sup and 'hx-swap-oob="true"' in got_sup
    assert f'id="session-{pk}"' in got_mine
    assert nothing


def test_an_agent_cannot_listen_to_someone_elses_campaign_or_calls_without_permission(db):
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nobody", password="x")
    assert socket_answer(nobody, "/ws/live/?calls=1") == (False, 4403)


def test_the_wall_arrives_in_windows_with_counts_over_all_of_it(supervisor_client, agent_client, calls,
                                                                 sandbox_accounts, agent, monkeypatch):
    import re
    from datetime import timedelta

    from livecalls import selectors_wall

    monkeypatch.setattr(selectors_wall, "WALL_FIRST", 2)
    monkeypatch.setattr(selectors_wall, "WALL_CHUNK", 2)
    start = timezone.now() - timedelta(minutes=5)
    for i in range(3):  # older calls come first on the wall
        CallSession.objects.create(account=sandbox_accounts["callgear"], provider_session_id=f"20{i}",
                                   state="talking", started_at=start + timedelta(seconds=i), agent=agent)

    def cards(html):
        return re.findall(r'<article id="session-(\d+)"', html)

    page = supervisor_client.get("/calls/").content.decode()
    assert 'data-count="active">6<' in page  # three fixtures still active + three older calls
    first = cards(page)
    assert len(first) == 2 and 'id="wall-more"' in page
    seen, url = list(first), re.search(r'hx-get="([^"]*after=\d+[^"]*)"', page).group(1).replace("&amp;", "&")
    while url:
        chunk = supervisor_client.get(url, headers={"HX-Request": "true"}).content.decode()
        assert "<html" not in chunk and "wall-empty" not in chunk
        seen += cards(chunk)
        more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', chunk)
        url = more.group(1).replace("&amp;", "&") if more else ""
    active = CallSession.objects.filter(ended_at__isnull=True).order_by("started_at", "pk")
    assert seen == [str(pk) for pk in active.values_list("pk", flat=True)]  # each once, oldest first
    # The windows keep the filters, and an agent's windows hold only their calls.
    page = supervisor_client.get("/calls/?direction=out").content.decode()
    assert cards(page) == [str(calls["theirs"].pk)] and 'id="wall-more"' not in page
    page = agent_client.get("/calls/").content.decode()
    mine = cards(page)
    more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', page)
    while more:
        chunk = agent_client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"}).content.decode()
        mine += cards(chunk)
        more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', chunk)
    assert str(calls["theirs"].pk) not in mine and len(mine) == 4
    # Without JavaScript the link pages through the wall as whole pages.
    plain = supervisor_client.get(f"/calls/?after={first[-1]}").content.decode()
    assert "<html" in plain and cards(plain)[0] not in first


def test_calls_without_a_start_time_are_paged_too(supervisor_client, sandbox_accounts, monkeypatch):
    import re
    from datetime import timedelta

    from livecalls import selectors_wall

    monkeypatch.setattr(selectors_wall, "WALL_FIRST", 2)
    monkeypatch.setattr(selectors_wall, "WALL_CHUNK", 2)
    account = sandbox_accounts["callgear"]
    start = timezone.now() - timedelta(minutes=5)
    made = []
    for i in range(7):  # undated and dated calls interleaved by pk
        made.append(CallSession.objects.create(account=account, provider_session_id=f"30{i}", state="ringing",
                                               started_at=None if i % 2 else start + timedelta(seconds=i)).pk)
    page = supervisor_client.get("/calls/").content.decode()
    seen = re.findall(r'<article id="session-(\d+)"', page)
    more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', page)
    while more:
        chunk = supervisor_client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
        seen += re.findall(r'<article id="session-(\d+)"', chunk.content.decode())
        more = re.search(r'hx-get="([^"]*after=\d+[^"]*)"', chunk.content.decode())
    undated, dated = [pk for i, pk in enumerate(made) if i % 2], [pk for i, pk in enumerate(made) if not i % 2]
    assert seen == [str(pk) for pk in undated + dated]  # every call once: undated first, then oldest first
