from __future__ import annotations

from django.db import models

from dashboard.models import ProviderAccount


class WebhookEvent(models.Model):
    """One notification a provider sent us, stored once.

    The unique ``dedupe_key`` (event type, session, leg, event time, sequence) makes a
    repeated delivery a no-op at insert time; ``applied_at`` marks events already applied
    to call state.
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

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["account", "dedupe_key"], name="webhook_event_once")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.session_ref} #{self.sequence}"
