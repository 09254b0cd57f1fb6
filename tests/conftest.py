from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.roles import ADMIN, AGENT, SUPERVISOR, assign_role

PASSWORD = "s3cret-pass-for-tests"


def socket_answer(user: User, path: str) -> tuple[bool, int | None]:
    """Open the live socket as ``user`` and close it: (accepted, close code)."""
    import asyncio

    from channels.testing import WebsocketCommunicator

    from dashboard.consumers import LiveConsumer

    async def run() -> tuple[bool, int | None]:
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), path)
        communicator.scope["user"] = user
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    return asyncio.run(run())


def pytest_collection_modifyitems(config, items):
    # Playwright's sync API keeps an event loop running while a browser is open; browser
    # tests go last so no async test ever starts beside it.
    items.sort(key=lambda item: "/tests/e2e/" in str(item.fspath))


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


# --- The sandbox, in process ------------------------------------------------------


@pytest.fixture
def sandbox():
    """All three provider twins on a manual clock (tests move time with sandbox.settle)."""
    import time

    from dashboard.sandbox.app import SandboxApp
    from dashboard.sandbox.sim import ManualClock

    # Starts at the real time, as a provider's clock would, and moves only when told.
    return SandboxApp(clock=ManualClock(time.time()), seed=1, prefix="/sandbox")


@pytest.fixture
def sandbox_transport(sandbox, monkeypatch):
    """Provider clients built for accounts reach the in-process sandbox, and the sandbox's
    webhooks reach the dashboard's own ASGI app, both without sockets."""
    import httpx

    from dashboard.asgi import application
    from dashboard.providers import accounts

    transport = httpx.ASGITransport(app=sandbox)
    monkeypatch.setattr(accounts, "transport_for", lambda account: transport)
    sandbox.notifier.transport = httpx.ASGITransport(app=application)
    accounts.forget_sessions()
    return transport


@pytest.fixture
def sandbox_accounts(db, sandbox):
    """Provider accounts on the in-process sandbox, with its real credentials."""
    from dashboard.models import ProviderAccount

    callgear = sandbox.twin("callgear").state()
    ccai = sandbox.twin("ccai").state()
    base = "http://testserver/sandbox"
    return {
        "jaicp": ProviderAccount.objects.create(kind="jaicp", name="SB JAICP", base_url=f"{base}/jaicp", is_sandbox=True),
        "callgear": ProviderAccount.objects.create(
            kind="callgear", name="SB CallGear", base_url=f"{base}/callgear", is_sandbox=True,
            callgear_auth="login", login=callgear["login"], password=callgear["password"],
            reference_data={k: callgear.get(k, []) for k in (
                "tags", "media_files", "employees", "coaches", "virtual_numbers", "scenarios")}),
        "ccai": ProviderAccount.objects.create(
            kind="ccai", name="SB CCAI", base_url=f"{base}/ccai", is_sandbox=True,
            company_key=ccai["company_key"], company_secret=ccai["company_secret"],
            reference_data={k: ccai.get(k, []) for k in ("agents", "menus", "outbound_numbers", "languages")}),
    }


@pytest.fixture
def campaign(db, sandbox, sandbox_accounts, admin_user):
    """A campaign on the sandbox's JAICP campaign that has not started yet."""
    from campaigns.models import Campaign

    token = next(c["token"] for c in sandbox.twin("jaicp").state()["campaigns"] if c["status"] == "new")
    return Campaign.objects.create(account=sandbox_accounts["jaicp"], name="Spring renewals", token=token,
                                   owner=admin_user, push_batch_size=3)


def add_jobs(campaign, phones, **extra):
    """Stored call jobs, as an import leaves them (pending, counted)."""
    from collections import Counter

    from campaigns.models import CallJob
    from campaigns.services.counts import status_counts_apply

    jobs = CallJob.objects.bulk_create(
        CallJob(campaign=campaign, phone=p.lstrip("+"), phone_e164=p if p.startswith("+") else "+" + p, **extra)
        for p in phones
    )
    status_counts_apply(campaign_id=campaign.pk, delta=Counter({"pending": len(jobs)}))
    return jobs


@pytest.fixture
def immediate_tasks(settings):
    """Tasks run at enqueue time, in the test's thread."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
                                  "QUEUES": ["default", "live"]}}


def frame_html(frame: str) -> str:
    """A pushed frame without its trailing lag marker (dashboard/consumers.py)."""
    return frame.split('\n<span id="live-lag"', 1)[0]
