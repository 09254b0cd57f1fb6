"""Demo data for the README's run command: users of every role and provider accounts on
the embedded sandbox. Idempotent: running it again changes nothing that is already there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from dashboard.models import AgentProfile, ProviderAccount
from dashboard.roles import ADMIN, AGENT, SUPERVISOR, assign_role


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    first_name: str
    last_name: str


DEMO_USERS = (
    DemoUser("admin", "callboard-admin", ADMIN, "Ada", "Admin"),
    DemoUser("supervisor", "callboard-supervisor", SUPERVISOR, "Sam", "Supervisor"),
    DemoUser("agent1", "callboard-agent1", AGENT, "Alex", "Agent"),
    DemoUser("agent2", "callboard-agent2", AGENT, "Bea", "Agent"),
)


def sandbox_world() -> dict[str, Any]:
    """The embedded sandbox's world, read from a twin built with the same seed (the same
    seed gives the same world, so no request to the running server is needed)."""
    from dashboard.sandbox.app import SandboxApp

    app = SandboxApp(seed=settings.SANDBOX_SEED, ticker=False)
    return {name: twin.state() for name, twin in app.twins.items()}


@transaction.atomic
def demo_create(*, base_url: str | None = None) -> list[DemoUser]:
    base = (base_url or settings.SANDBOX_URL).rstrip("/")
    world = sandbox_world()
    for demo in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=demo.username,
            defaults={"first_name": demo.first_name, "last_name": demo.last_name,
                      "email": f"{demo.username}@callboard.example", "is_staff": demo.role == ADMIN,
                      "is_superuser": demo.role == ADMIN},
        )
        if created:
            user.set_password(demo.password)
            user.save()
        assign_role(user, demo.role)

    callgear = world.get("callgear", {})
    ccai = world.get("ccai", {})
    jaicp_account, _ = ProviderAccount.objects.update_or_create(
        name="Sandbox JAICP",
        defaults={"kind": ProviderAccount.Kind.JAICP, "base_url": f"{base}/jaicp", "is_sandbox": True},
    )
    demo_campaign_create(account=jaicp_account, world=world.get("jaicp", {}))
    ProviderAccount.objects.update_or_create(
        name="Sandbox CallGear",
        defaults={"kind": ProviderAccount.Kind.CALLGEAR, "base_url": f"{base}/callgear", "is_sandbox": True,
                  "callgear_auth": ProviderAccount.CallGearAuth.LOGIN,
                  "login": callgear.get("login", ""), "password": callgear.get("password", ""),
                  "reference_data": {k: callgear.get(k, []) for k in (
                      "tags", "media_files", "employees", "coaches", "virtual_numbers", "scenarios")}},
    )
    ProviderAccount.objects.update_or_create(
        name="Sandbox CCAI",
        defaults={"kind": ProviderAccount.Kind.CCAI, "base_url": f"{base}/ccai", "is_sandbox": True,
                  "company_key": ccai.get("company_key", ""), "company_secret": ccai.get("company_secret", ""),
                  "reference_data": {k: ccai.get(k, []) for k in (
                      "agents", "menus", "outbound_numbers", "languages")}},
    )

    # Each demo agent is a sandbox employee and a sandbox CCAI agent.
    employees = [e for e in callgear.get("employees", []) if e.get("phone_numbers")]
    agents = ccai.get("agents", [])
    for i, demo in enumerate(d for d in DEMO_USERS if d.role == AGENT):
        user = User.objects.get(username=demo.username)
        employee = employees[i] if i < len(employees) else None
        AgentProfile.objects.update_or_create(
            user=user,
            defaults={
                "callgear_employee_id": employee["id"] if employee else None,
                "callgear_phone_numbers": list(employee["phone_numbers"]) if employee else [],
                "ccai_agent_email": agents[i]["email"] if i < len(agents) else "",
            },
        )
    return list(DEMO_USERS)


DEMO_LIST_ROWS = 60


def demo_campaign_create(*, account: ProviderAccount, world: dict[str, Any]) -> None:
    """One campaign ready to run: the sandbox's campaign that has not started, with a
    small number list imported (pending, not pushed: pushing and starting are the demo)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from campaigns.models import Campaign
    from campaigns.services.imports import (
        mapping_from_json,
        number_list_claim_next,
        number_list_create,
        number_list_import_run,
        number_list_queue,
    )

    fresh = next((c for c in world.get("campaigns", []) if c.get("status") == "new"), None)
    if fresh is None or Campaign.objects.filter(account=account, token=fresh["token"]).exists():
        return
    admin = User.objects.get(username="admin")
    campaign = Campaign.objects.create(
        account=account, name=fresh["name"], token=fresh["token"], owner=admin, push_batch_size=20,
        default_policy={"allowedDays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                        "allowedTime": {"default": [{"localTimeFrom": "00:00", "localTimeTo": "23:59"}]},
                        "retryIntervalInMinutes": 5, "maxAttempts": 3},
    )
    lines = ["phone,name,city,amount"]
    lines += [f"+1 (650) 555-{1000 + i * 7:04d},Customer {i + 1},Springfield,{(i * 37) % 500 + 20}"
              for i in range(DEMO_LIST_ROWS)]
    lines += ["not a number,Broken row,Nowhere,0", "+1 (650) 555-1000,Duplicate,Springfield,10"]
    upload = SimpleUploadedFile("demo-numbers.csv", "\n".join(lines).encode(), content_type="text/csv")
    number_list = number_list_create(campaign=campaign, upload=upload, user=admin, default_region="US")
    number_list_queue(number_list=number_list, mapping=mapping_from_json(number_list.mapping))
    claimed = number_list_claim_next(campaign_id=campaign.pk)
    if claimed is not None:
        number_list_import_run(number_list=claimed)
