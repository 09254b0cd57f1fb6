from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from dashboard.models import ProviderAccount

# Job statuses as JAICP reports them (spec enum; the older docs' "canceled" is normalised
# to cancelledByUser by the client). "pending" is ours: stored, not yet pushed.
JOB_STATUSES = [
    ("pending", "Not pushed yet"),
    ("rejected", "Refused by the provider"),
    ("pushFailed", "Push failed"),  # ours: its batch was refused as a whole; retry from the page
    ("doNotCall", "On the do-not-call list"),  # ours: listed after import, never pushed
    ("planned", "Planned"),
    ("inProcess", "In process"),
    ("onRetry", "On retry"),
    ("noAnswer", "No answer"),
    ("longCallWithResult", "Talked, with result"),
    ("longCallWithNoResult", "Talked, no result"),
    ("notDone", "Not done"),
    ("cancelledByUser", "Cancelled"),
    ("technicalError", "Technical error"),
    ("nonexistentNumber", "Nonexistent number"),
    ("unknown", "Unknown"),
]
FINAL_STATUSES = frozenset({
    "noAnswer", "longCallWithResult", "longCallWithNoResult", "notDone", "cancelledByUser",
    "technicalError", "nonexistentNumber",
})


class Campaign(models.Model):
    """An outbound campaign on a JAICP account. The token is the campaign's API secret."""

    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="campaigns",
        limit_choices_to={"kind": ProviderAccount.Kind.JAICP},
    )
    name = models.CharField(max_length=200)
    token = models.CharField(max_length=200, help_text="The campaign's API token (write-only).")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # CallJobParameters defaults for every number pushed (allowedDays, allowedTime,
    # retryIntervalInMinutes, maxAttempts, dialerPriority, startDateTime, finishDateTime).
    default_policy = models.JSONField(default=dict, blank=True)
    push_batch_size = models.PositiveIntegerField(default=500)
    # Set when an operator asks for a push, cleared by the run that leaves nothing to push:
    # while set, the scheduler resumes the push after a crash, a restart or an outage.
    push_requested_at = models.DateTimeField(null=True, blank=True)
    # What the provider last said about the campaign.
    provider_status = models.CharField(max_length=40, blank=True)
    provider_info = models.JSONField(default=dict, blank=True)
    info_synced_at = models.DateTimeField(null=True, blank=True)
    # Report sync watermark: jobs finished before this are known.
    reports_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["account", "token"], name="campaign_token_once")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Campaign {self.pk} {self.name!r}>"


class CampaignStatusCount(models.Model):
    """Job counts per status, moved as reports arrive, so pages never count the job table."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="status_counts")
    status = models.CharField(max_length=30, choices=JOB_STATUSES)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "status"], name="status_count_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.status}={self.count}"


class CampaignSnapshot(models.Model):
    """Status counts at one moment, for the chart over time."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(db_index=True)
    counts = models.JSONField()

    class Meta:
        ordering = ["taken_at"]

    def __str__(self) -> str:
        return f"{self.campaign_id} @ {self.taken_at:%H:%M:%S}"


def _upload_path(instance: NumberList, filename: str) -> str:
    return f"number-lists/{uuid.uuid4().hex}/{filename}"


class NumberList(models.Model):
    """An uploaded file of numbers, its column mapping, and what importing it gave."""

    class State(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded, waiting for column mapping"
        QUEUED = "queued", "Queued"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="number_lists")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    file = models.FileField(upload_to=_upload_path)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    detected = models.JSONField(default=dict, blank=True)  # encoding, delimiter, header, columns
    mapping = models.JSONField(default=dict, blank=True)
    default_region = models.CharField(max_length=2, blank=True)
    recent_days = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.UPLOADED)
    rows_done = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error_report = models.FileField(upload_to=_upload_path, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def percent(self) -> int:
        if self.state == self.State.IMPORTED:
            return 100
        return int(100 * self.bytes_done / self.size) if self.size else 0


class PushBatch(models.Model):
    """One addPhones request. Its idempotence key is stored before the request is sent,
    so a retry after a crash or a lost answer sends the same key and the same content,
    and JAICP answers with the jobs it already created instead of creating new ones."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="push_batches")
    idempotence_key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    size = models.PositiveIntegerField()
    # The exact addPhones body, frozen when the batch is formed: a retry must send the
    # same content with the same key, whatever changed in the campaign meanwhile.
    request_body = models.JSONField(default=list)
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=80, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.size}) {self.state}"


class CallJob(models.Model):
    """One phone pushed (or to be pushed) to a campaign."""

    # Its own index stays: it is what lists a campaign's jobs in id order (the campaign
    # page) without sorting them all, and ids only grow, so imports append to it cheaply.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="call_jobs")
    number_list = models.ForeignKey(NumberList, null=True, blank=True, on_delete=models.SET_NULL, related_name="call_jobs")
    row_number = models.PositiveIntegerField(null=True, blank=True)
    phone = models.CharField(max_length=20, help_text="As JAICP wants it: digits, no +.")
    phone_e164 = models.CharField(max_length=20)
    gmt_zone = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    policy = models.JSONField(default=dict, blank=True)  # per-number CallJobParameters overrides
    push_batch = models.ForeignKey(PushBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="call_jobs")
    provider_job_id = models.CharField(max_length=40, blank=True, db_index=True)
    push_error = models.CharField(max_length=300, blank=True)
    job_status = models.CharField(max_length=30, choices=JOB_STATUSES, default="pending")
    attempts_count = models.PositiveIntegerField(default=0)
    call_duration = models.PositiveIntegerField(null=True, blank=True)
    tag_name = models.CharField(max_length=200, blank=True)
    report_data = models.JSONField(null=True, blank=True)
    last_report_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        # Phone first: the same index answers "is it in this campaign" (the import's
        # duplicates) and "was it called lately anywhere" (the recent-call check), so an
        # import keeps one index with random keys instead of two, the costly kind for a
        # million inserts (bench/storage_floor.py).
        constraints = [models.UniqueConstraint(fields=["phone_e164", "campaign"], name="call_job_phone_once")]
        indexes = [
            models.Index(fields=["campaign", "job_status", "id"]),
            # push_state: "pending and not in a batch yet" without scanning the campaign
            models.Index(fields=["campaign", "job_status", "push_batch"]),
            models.Index(fields=["finished_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.phone_e164} ({self.job_status})"


class CallAttempt(models.Model):
    call_job = models.ForeignKey(CallJob, on_delete=models.CASCADE, related_name="attempts")
    attempt_number = models.PositiveIntegerField()
    call_result = models.CharField(max_length=60, blank=True)
    job_status = models.CharField(max_length=30, blank=True)
    call_duration = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    tag_name = models.CharField(max_length=200, blank=True)
    report_data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["attempt_number"]
        constraints = [models.UniqueConstraint(fields=["call_job", "attempt_number"], name="attempt_once")]

    def __str__(self) -> str:
        return f"attempt {self.attempt_number} of {self.call_job_id}"


class DoNotCallEntry(models.Model):
    """Numbers never to be pushed, admin-managed and importable."""

    phone_e164 = models.CharField(max_length=20, unique=True)
    reason = models.CharField(max_length=200, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "do-not-call number"
        ordering = ["phone_e164"]

    def __str__(self) -> str:
        return self.phone_e164
