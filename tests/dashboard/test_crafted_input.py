"""Crafted parameters give a clean answer, never a 500; a user who lost their role loses
their calls too."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.params import int_param
from tests.conftest import socket_answer

pytestmark = pytest.mark.django_db(transaction=True)


def test_int_param_takes_ascii_digits_only():
    assert int_param("42") == 42 and int_param(" 7 ") == 7
    assert int_param("²") is None and int_param("٣") is None and int_param("abc") is None
    assert int_param("") is None and int_param(None) is None and int_param("-3") is None
    assert int_param("-3", signed=True) == -3
    assert int_param(str(2**63)) is None and int_param(str(2**63 - 1)) == 2**63 - 1


def test_unicode_digits_in_query_strings_do_not_crash_pages(admin_client_, campaign):
    for url in ["/calls/history/?before=²", "/calls/?agent=²", f"/campaigns/{campaign.pk}/?after=²",
                f"/campaigns/{campaign.pk}/?before=²",
                f"/campaigns/{campaign.pk}/?after={10**30}", f"/calls/history/?before={10**30}"]:
        assert admin_client_.get(url).status_code == 200, url
    assert admin_client_.post(f"/campaigns/{campaign.pk}/cancel/", {"job": ["²"]}).status_code == 302
    response = admin_client_.post("/campaigns/do-not-call/", {"remove": "abc"}, follow=True)
    assert response.status_code == 200 and "not on the do-not-call list" in response.content.decode()


def test_a_user_without_a_role_cannot_open_a_call_that_was_theirs(sandbox_accounts, agent, client):
    from livecalls.models import CallSession

    session = CallSession.objects.create(account=sandbox_accounts["ccai"], provider_session_id="9", agent=agent,
                                         started_at=timezone.now())
    client.force_login(agent)
    assert client.get(f"/calls/{session.pk}/").status_code == 200
    agent.groups.clear()  # the role is taken away; the call still names them
    client.force_login(agent)
    assert client.get(f"/calls/{session.pk}/").status_code == 403
    assert client.post(f"/calls/{session.pk}/flags/refresh/").status_code == 403


def test_a_socket_asking_for_a_crafted_campaign_id_is_refused(supervisor):
    assert socket_answer(supervisor, "/ws/live/?campaign=²") == (False, 4403)


def test_ids_too_big_for_the_database_are_not_found(admin_client_, campaign):
    huge = 10**30
    for url in [f"/calls/{huge}/", f"/campaigns/{huge}/", f"/campaigns/{campaign.pk}/lists/{huge}/"]:
        assert admin_client_.get(url).status_code == 404, url
