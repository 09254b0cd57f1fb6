from __future__ import annotations

from django.conf import settings
from django.db import models

from dashboard.models import ProviderAccount


class CallSession(models.Model):
    """One call at a provider: a CallGear call session or a CCAI call.

    ``state`` is the session as the wall shows it, derived from its legs (ringing,
    talking, on_hold, consulting, ended). ``last_event_seq`` and ``last_event_at`` are of
    the newest event applied, so an older one arriving late never moves it backwards.
    """

    class Direction(models.TextChoices):
        IN = "in", "Incoming"
        OUT = "out", "Outgoing"

    class State(models.TextChoices):
        RINGING = "ringing", "Ringing"
        TALKING = "talking", "Talking"
        ON_HOLD = "on_hold", "On hold"
        CONSULTING = "consulting", "Consulting"
        QUEUED = "queued", "Queued"
        SCHEDULED = "scheduled", "Scheduled"
        ENDED = "ended", "Ended"

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="call_sessions")
    provider_session_id = models.CharField(max_length=64)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.IN)
    virtual_number = models.CharField(max_length=32, blank=True)
    contact_number = models.CharField(max_length=32, blank=True)
    external_id = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RINGING)
    provider_status = models.CharField(max_length=40, blank=True)  # the provider's own word (CCAI status...)
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    finish_reason = models.CharField(max_length=80, blank=True)
    tags = models.JSONField(default=list, blank=True)  # tag names
    recording = models.BooleanField(default=False)
    recording_link = models.URLField(max_length=500, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="call_sessions")
    customer_flags = models.JSONField(default=dict, blank=True)  # CCAI: verified_customer, bad_actor, repeat_customer
    details = models.JSONField(default=dict, blank=True)  # provider extras (scenario, call type, menu...)
    last_event_seq = models.PositiveIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["account", "provider_session_id"], name="call_session_once")]
        indexes = [
            models.Index(fields=["ended_at", "account"]),  # the wall: ended_at IS NULL
            models.Index(fields=["agent", "ended_at"]),
            models.Index(fields=["contact_number"]),
        ]

    def __str__(self) -> str:
        return f"{self.account.kind} session {self.provider_session_id}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class Leg(models.Model):
    """One participant's connection in a call session (CCAI participants are legs too)."""

    class State(models.TextChoices):
        RINGING = "ringing", "Ringing"
        TALKING = "talking", "Talking"
        ON_HOLD = "on_hold", "On hold"
        ENDED = "ended", "Ended"

    session = models.ForeignKey(CallSession, on_delete=models.CASCADE, related_name="legs")
    provider_leg_id = models.CharField(max_length=64)
    calling_number = models.CharField(max_length=32, blank=True)
    called_number = models.CharField(max_length=32, blank=True)
    is_operator = models.BooleanField(default=False)  # an employee/agent leg, not the contact
    employee_id = models.CharField(max_length=64, blank=True)  # CallGear employee id, CCAI agent e-mail
    employee_name = models.CharField(max_length=200, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="call_legs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RINGING)
    provider_state = models.CharField(max_length=40, blank=True)  # e.g. "Conversation", "На удержании"
    recording = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_event_seq = models.PositiveIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["session", "provider_leg_id"], name="leg_once")]

    def __str__(self) -> str:
        return f"leg {self.provider_leg_id} ({self.state})"


class AccountSync(models.Model):
    """How fresh each account's view of live calls is (the wall's freshness indicator)."""

    account = models.OneToOneField(ProviderAccount, on_delete=models.CASCADE, related_name="live_sync")
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_reconcile_at = models.DateTimeField(null=True, blank=True)
    last_reconcile_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"sync of {self.account_id}"


class WebhookEvent(models.Model):
    """One notification a provider sent us, stored once.

    The unique ``dedupe_key`` (event type, session, leg, event time, sequence) makes a
    repeated delivery a no-op at insert time; ``applied_at`` marks events already applied
    to call state. One that failed to apply is applied again by background work
    (services/ingest_retry.py): ``apply_attempts`` counts the failed tries, ``apply_error``
    says why the last one failed, and ``given_up_at`` is set when no more are made.
    """

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="webhook_events")
    event_type = models.CharField(max_length=60)
    session_ref = models.CharField(max_length=64, blank=True, db_index=True)
    leg_ref = models.CharField(max_length=200, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    dedupe_key = models.CharField(max_length=300)
    payload = models.JSONField()
    applied_at = models.DateTimeField(null=True, blank=True)
    apply_attempts = models.PositiveIntegerField(default=0)  # failed ones
    apply_error = models.CharField(max_length=300, blank=True)  # "KeyError: 'leg_id'"
    given_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["account", "dedupe_key"], name="webhook_event_once")]
        # Both partial, so they stay as small as the trouble: the events still to apply
        # again (the retry tick, every few seconds), and the ones given up (the health tiles).
        indexes = [
            models.Index(fields=["account", "received_at"], name="webhook_event_to_retry",
                         condition=models.Q(applied_at__isnull=True, given_up_at__isnull=True)),
            models.Index(fields=["account", "given_up_at"], name="webhook_event_given_up",
                         condition=models.Q(given_up_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.session_ref} #{self.sequence}"
