from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.roles import ADMIN, AGENT, SUPERVISOR, assign_role

PASSWORD = "s3cret-pass-for-tests"


def make_user(username: str, role: str | None, **extra: object) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    if role:
        assign_role(user, role)
    return user


@pytest.fixture
def admin_user(db) -> User:
    return make_user("ada", ADMIN, is_staff=True, first_name="Ada")


@pytest.fixture
def supervisor(db) -> User:
    return make_user("sam", SUPERVISOR, first_name="Sam")


@pytest.fixture
def agent(db) -> User:
    return make_user("alex", AGENT, first_name="Alex")


@pytest.fixture
def other_agent(db) -> User:
    return make_user("bea", AGENT, first_name="Bea")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_(admin_user) -> Client:
    return client_for(admin_user)


@pytest.fixture
def supervisor_client(supervisor) -> Client:
    return client_for(supervisor)


@pytest.fixture
def agent_client(agent) -> Client:
    return client_for(agent)
