from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


class Capability(models.Model):
    """Holds the role permissions; no table. See dashboard/roles.py for who has which."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("manage_provider_accounts", "Configure provider accounts"),
            ("view_audit_log", "See the audit log"),
            ("manage_campaigns", "Create campaigns and upload number lists"),
            ("view_campaigns", "See campaigns and their reports"),
            ("control_campaigns", "Start, pause, resume and stop campaigns; cancel call jobs"),
            ("view_all_calls", "Watch every live call"),
            ("control_any_call", "Act on any live call"),
            ("control_own_calls", "Act on one's own live calls"),
            ("coach_calls", "Add a coach to a call"),
            ("start_calls", "Start calls through the providers"),
        ]

    def __str__(self) -> str:
        return "capability"


def _new_webhook_secret() -> str:
    return secrets.token_urlsafe(24)


class ProviderAccount(models.Model):
    """A login at one provider. Secret fields are write-only: forms never render them back,
    ``__str__``/``repr`` never show them, and the admin masks them."""

    class Kind(models.TextChoices):
        JAICP = "jaicp", "JAICP Calls API"
        CALLGEAR = "callgear", "CallGear Call API"
        CCAI = "ccai", "CCAI Platform"

    class CallGearAuth(models.TextChoices):
        LOGIN = "login", "Login and password (1-hour sessions)"
        ACCESS_KEY = "access_key", "Permanent access key"

    SECRET_FIELDS = ("password", "access_key", "company_secret", "webhook_secret")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(
        max_length=300,
        help_text="API root, e.g. https://app.jaicp.com, https://callapi.callgear.com, "
        "https://acme.ccaiplatform.com; the built-in sandbox is /sandbox/<kind>.",
    )
    is_sandbox = models.BooleanField(default=False, help_text="Points at the built-in sandbox.")
    enabled = models.BooleanField(default=True)
    # CallGear
    callgear_auth = models.CharField(max_length=16, choices=CallGearAuth.choices, blank=True)
    login = models.CharField(max_length=150, blank=True)
    password = models.CharField(max_length=300, blank=True)
    access_key = models.CharField(max_length=300, blank=True)
    # CCAI (company key and secret, or subdomain and API token: both HTTP Basic)
    company_key = models.CharField(max_length=300, blank=True)
    company_secret = models.CharField(max_length=300, blank=True)
    # What pickers in the call controls offer: {"tags": [{"id", "name"}], "media_files": [...],
    # "employees": [{"id", "full_name", "phone_numbers"}], "coaches": [...], "virtual_numbers": [...],
    # CCAI "agents", "menus", "outbound_numbers", "languages"}. The Call APIs cannot list these,
    # so an admin keeps them here (sandbox accounts fill them from the sandbox's world).
    reference_data = models.JSONField(default=dict, blank=True)
    # Authenticates the provider's webhooks to us (in the URL the admin pastes).
    webhook_secret = models.CharField(max_length=100, default=_new_webhook_secret)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def __repr__(self) -> str:
        return f"<ProviderAccount {self.pk} {self.kind} {self.name!r}>"

    def has_secret(self, field: str) -> bool:
        return bool(getattr(self, field))


class AgentProfile(models.Model):
    """Links a dashboard user to who they are at the providers."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    callgear_employee_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    callgear_phone_numbers = models.JSONField(
        default=list, blank=True, help_text="The employee's phone numbers, digits only."
    )
    ccai_agent_email = models.EmailField(blank=True)

    def __str__(self) -> str:
        return f"Agent profile of {self.user}"


class AuditEntry(models.Model):
    """Every action a person took through the dashboard, and what the provider said."""

    class Result(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"
        DENIED = "denied", "Denied"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    account = models.ForeignKey(ProviderAccount, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=80)
    target = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices)
    provider_code = models.CharField(max_length=40, blank=True)
    provider_mnemonic = models.CharField(max_length=80, blank=True)
    message = models.TextField(blank=True)
    latency_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["action", "-created_at"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.user} {self.action} {self.result}"


class TaskWorker(models.Model):
    """A task worker (a `db_worker` process or a thread of `serve`) and its heartbeat.

    django-tasks-db leaves a task RUNNING for good when its worker dies mid-task; this row
    is how `dashboard.tasking` tells a dead worker from a slow one: on the same machine by
    its process id and start time, elsewhere by a heartbeat that stopped.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    boot_id = models.CharField(max_length=64, blank=True)
    pid = models.PositiveIntegerField()
    pid_started = models.CharField(max_length=32, blank=True)  # /proc/<pid>/stat start time
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"task worker {self.worker_id} (pid {self.pid} on {self.host})"
