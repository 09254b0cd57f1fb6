from __future__ import annotations

import pytest
from django.test import Client

PAGES = ["/", "/campaigns/", "/calls/", "/settings/providers/", "/audit/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_anonymous_requests_redirect_to_login(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
def test_anonymous_htmx_request_is_refused_too():
    response = Client().post("/campaigns/", headers={"HX-Request": "true"})
    assert response.status_code in (302, 405)
    assert response.status_code != 200


@pytest.mark.parametrize("url", ["/settings/providers/", "/audit/", "/campaigns/"])
def test_agent_gets_403_on_admin_and_campaign_pages(agent_client, url):
    response = agent_client.get(url)
    assert response.status_code == 403
    assert b"You don't have access" in response.content


def test_agent_sees_overview_and_live_calls(agent_client):
    assert agent_client.get("/").status_code == 200
    assert agent_client.get("/calls/").status_code == 200


def test_supervisor_sees_campaigns_and_audit_but_not_provider_settings(supervisor_client):
    assert supervisor_client.get("/campaigns/").status_code == 200
    assert supervisor_client.get("/audit/").status_code == 200
    assert supervisor_client.get("/settings/providers/").status_code == 403


def test_admin_sees_every_page(admin_client_):
    for url in PAGES:
        assert admin_client_.get(url).status_code == 200, url


def test_navigation_shows_only_what_the_role_may_open(agent_client, admin_client_):
    agent_page = agent_client.get("/").content.decode()
    assert 'href="/campaigns/"' not in agent_page
    assert 'href="/settings/providers/"' not in agent_page
    admin_page = admin_client_.get("/").content.decode()
    assert 'href="/campaigns/"' in admin_page and 'href="/settings/providers/"' in admin_page
    assert "role-admin" in admin_page


def test_every_page_carries_the_csrf_header_for_htmx(agent_client):
    page = agent_client.get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


def test_login_page_logs_in_and_logout_needs_post(supervisor):
    from tests.conftest import PASSWORD

    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    response = client.post("/login/", {"username": "sam", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_login_without_csrf_token_is_rejected(supervisor):
    from tests.conftest import PASSWORD

    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 403


def test_roles_are_groups_with_the_permissions_of_roles_py(db):
    from django.contrib.auth.models import Group

    from dashboard.roles import ROLE_PERMISSIONS

    for role, codes in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        assert set(group.permissions.values_list("codename", flat=True)) == codes
