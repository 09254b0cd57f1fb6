"""Pushing stored call jobs to JAICP with addPhones, crash-safe.

A batch is formed in one transaction: its jobs are chosen, its addPhones body is frozen
and its idempotence key is stored, all before any request. Sending and recording are
separate steps, so whatever stops us between them (a crash, a lost answer, a redeploy),
the next run finds the batch still pending and sends the same body with the same key;
JAICP answers with the job ids it created the first time and creates nothing new. Keys
live one day at JAICP: a batch left pending longer is first reconciled by phone
(callJob/getReport) instead of being resent.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import CallJob, Campaign, DoNotCallEntry, PushBatch
from campaigns.selectors import phones_among
from campaigns.services.counts import status_counts_apply
from dashboard import sql
from dashboard.providers import accounts
from dashboard.providers.base import ProviderError

logger = logging.getLogger(__name__)

KEY_LIFETIME = timedelta(hours=23)  # JAICP keeps a key one day; leave a margin
DO_NOT_CALL = "On the do-not-call list since its import: not pushed."


@dataclass
class PushOutcome:
    batches_sent: int = 0
    jobs_pushed: int = 0
    batches_failed: int = 0
    jobs_rejected: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str = ""  # why we stopped before the end, if we did


def call_job_item(*, phone: str, gmt_zone: str, payload: Any, policy: dict[str, Any] | None,
                  defaults: dict[str, Any]) -> dict[str, Any]:
    """One addPhones item: the campaign defaults, then the number's own policy."""
    item: dict[str, Any] = dict(defaults)
    if policy:
        item.update({k: v for k, v in policy.items() if v not in (None, "")})
    item["phone"] = phone
    if gmt_zone:
        item["gmtZone"] = gmt_zone
    if payload:
        item["payload"] = payload
    return item


def _json(text: str | None) -> Any:
    return {} if text in (None, "", "{}") else json.loads(text)


def push_batch_form(*, campaign: Campaign, size: int) -> PushBatch | None:
    """Choose up to ``size`` unbatched pending jobs and freeze them into a batch. Numbers
    put on the do-not-call list since their import are taken out and marked so."""
    defaults = {k: v for k, v in (campaign.default_policy or {}).items() if v not in (None, "", [], {})}
    table = CallJob._meta.db_table
    with transaction.atomic():
        connection = transaction.get_connection()
        lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
        while True:
            # Plain rows and plain json.loads: CallJob instances were ~70% of this step, and
            # then JSONField's converters on two columns of every row were half of the rest.
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id, phone, phone_e164, gmt_zone, payload, policy FROM {table}"
                               f" WHERE campaign_id = %s AND push_batch_id IS NULL AND job_status = 'pending'"
                               f" ORDER BY id LIMIT %s{lock}", [campaign.pk, size])
                rows = cursor.fetchall()
            if not rows:
                return None
            blocked = phones_among([row[2] for row in rows], model=DoNotCallEntry)
            if blocked:
                _mark_do_not_call(campaign.pk, [row[0] for row in rows if row[2] in blocked])
            chosen = [(pk, phone, zone, _json(payload), _json(policy))
                      for pk, phone, e164, zone, payload, policy in rows if e164 not in blocked]
            if chosen:
                break
        batch = PushBatch.objects.create(
            campaign=campaign,
            idempotence_key=uuid.uuid4().hex,
            size=len(chosen),
            request_body=[call_job_item(phone=phone, gmt_zone=zone, payload=payload, policy=policy, defaults=defaults)
                          for _, phone, zone, payload, policy in chosen],
        )
        # Only jobs still unbatched join; a concurrent pusher may have taken some.
        ids, listed = sql.among("id", [row[0] for row in chosen])
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET push_batch_id = %s WHERE {ids} AND push_batch_id IS NULL",
                           [batch.pk, listed])
            taken = cursor.rowcount
        if taken != len(chosen):
            raise RuntimeError("call jobs were batched concurrently; retry")  # rolls back the batch
    return batch


def _mark_do_not_call(campaign_id: int, job_ids: list[int]) -> None:
    """Inside the caller's transaction: these pending jobs are never to be pushed."""
    moved = CallJob.objects.filter(pk__in=job_ids, job_status="pending").update(
        job_status="doNotCall", push_batch=None, push_error=DO_NOT_CALL)
    status_counts_apply(campaign_id=campaign_id, delta=Counter({"pending": -moved, "doNotCall": moved}))


def push_batch_recheck(*, batch: PushBatch) -> PushBatch | None:
    """Take out of a pending batch the numbers put on the do-not-call list since it was
    formed. A batch never sent is formed again without them under a new key (nothing
    exists under the old one) and returned, or None when nothing is left. A batch that
    may have gone out already (its answer lost) must go again as it is, same key and same
    body, so that nothing new is created: ``push_batch_send`` then cancels its blocked jobs."""
    jobs = list(CallJob.objects.filter(push_batch=batch).values_list("pk", "phone", "phone_e164"))
    blocked = phones_among([e164 for _, _, e164 in jobs], model=DoNotCallEntry)
    if not blocked:
        return batch
    with transaction.atomic():
        locked = PushBatch.objects.select_for_update().filter(pk=batch.pk).first()
        # attempts is counted before every request, under this lock's row, so 0 means never sent.
        if locked is None or locked.state != PushBatch.State.PENDING or locked.attempts:
            return locked
        _mark_do_not_call(batch.campaign_id, [pk for pk, _, e164 in jobs if e164 in blocked])
        rest = [(pk, phone) for pk, phone, e164 in jobs if e164 not in blocked]
        body = {item["phone"]: item for item in locked.request_body}
        locked.delete()  # never sent: no trace of it at JAICP
        if not rest:
            return None
        new = PushBatch.objects.create(campaign_id=batch.campaign_id, idempotence_key=uuid.uuid4().hex,
                                       size=len(rest), request_body=[body[phone] for _, phone in rest])
        CallJob.objects.filter(pk__in=[pk for pk, _ in rest]).update(push_batch=new)
    return new


def _record_sent(batch: PushBatch, job_ids: list[str]) -> int:
    """Store the provider's job ids in input order, once, with the status counts."""
    with transaction.atomic():
        batch = PushBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.state == PushBatch.State.SENT:
            return 0  # another pusher recorded the same answer
        phones = [item["phone"] for item in batch.request_body]
        if len(job_ids) != len(phones):
            raise ProviderError(f"addPhones answered {len(job_ids)} ids for {len(phones)} phones",
                                provider="jaicp", code="bad.answer", permanent=True)
        by_phone = dict(zip(phones, job_ids, strict=True))
        jobs = list(CallJob.objects.filter(push_batch=batch).values_list("pk", "phone", "job_status"))
        moved: Counter[str] = Counter()
        rows = []
        for pk, phone, status in jobs:
            if status == "pending":
                moved["pending"] -= 1
                moved["planned"] += 1
                status = "planned"
            rows.append((by_phone.get(phone, ""), status, pk))
        # One prepared UPDATE run per row: bulk_update's CASE expression over a thousand
        # rows cost ~300 ms a batch (bench/push.py), this ~4 ms.
        table = CallJob._meta.db_table
        with transaction.get_connection().cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET provider_job_id = %s, job_status = %s WHERE id = %s", rows)
        batch.state = PushBatch.State.SENT
        batch.sent_at = timezone.now()
        batch.error = batch.error_code = ""
        batch.save(update_fields=["state", "sent_at", "error", "error_code"])
        status_counts_apply(campaign_id=batch.campaign_id, delta=moved)
    return len(jobs)


def _offending_phone(error: ProviderError) -> str | None:
    """The phone a JAICP 400 names (phone.bad.format, phone.gmtZone.bad.format...)."""
    if error.status not in (400, None) or not error.permanent:
        return None
    phone = error.details.get("phone")
    return str(phone) if phone else None


def push_batch_without(*, batch: PushBatch, phone: str, error: ProviderError) -> PushBatch | None:
    """Refuse the one job JAICP objected to and re-form the batch without it.

    The 400 created nothing, so the rest can go under a new key (same key with other
    content would be a conflict). Returns the new batch, or None if nothing is left.
    """
    with transaction.atomic():
        batch = PushBatch.objects.select_for_update().get(pk=batch.pk)
        jobs = list(CallJob.objects.filter(push_batch=batch).order_by("pk"))
        bad = [j for j in jobs if j.phone == phone]
        if not bad or batch.state != PushBatch.State.PENDING:
            return None
        for job in bad:
            job.job_status, job.push_batch, job.push_error = "rejected", None, error.describe()[:300]
        CallJob.objects.bulk_update(bad, ["job_status", "push_batch", "push_error"])
        status_counts_apply(campaign_id=batch.campaign_id, delta=Counter({"pending": -len(bad), "rejected": len(bad)}))
        batch.state = PushBatch.State.FAILED
        batch.error, batch.error_code = error.describe(), str(error.mnemonic or error.code or "")[:80]
        batch.save(update_fields=["state", "error", "error_code"])
        rest = [j for j in jobs if j.phone != phone]
        if not rest:
            return None
        campaign = batch.campaign
        body = {item["phone"]: item for item in batch.request_body}
        new = PushBatch.objects.create(
            campaign=campaign, idempotence_key=uuid.uuid4().hex, size=len(rest),
            request_body=[body[j.phone] for j in rest],
        )
        CallJob.objects.filter(pk__in=[j.pk for j in rest]).update(push_batch=new)
    return new


def _record_failure(batch: PushBatch, error: ProviderError) -> None:
    """A transient error leaves the batch pending for the next run; a permanent one fails
    it, and its jobs show as "push failed" with the reason until someone retries them."""
    fields = {"error": error.describe(), "error_code": str(error.mnemonic or error.code or "")[:80]}
    if not error.permanent:
        PushBatch.objects.filter(pk=batch.pk).update(**fields)
        return
    with transaction.atomic():
        if not PushBatch.objects.filter(pk=batch.pk, state=PushBatch.State.PENDING).update(
                state=PushBatch.State.FAILED, **fields):
            return  # another pusher recorded it first
        moved = CallJob.objects.filter(push_batch=batch, job_status="pending").update(
            job_status="pushFailed", push_error=error.describe()[:300])
        status_counts_apply(campaign_id=batch.campaign_id, delta=Counter({"pending": -moved, "pushFailed": moved}))


def campaign_push_retry_failed(*, campaign: Campaign) -> int:
    """Put the campaign's "push failed" jobs back in line, to go out in new batches.
    A refused batch created nothing at JAICP, so new keys create each job once; a batch
    whose answer could not be read (``bad.answer``) may have, so its jobs stay failed and
    the report sync finds them."""
    with transaction.atomic():
        moved = CallJob.objects.filter(campaign=campaign, job_status="pushFailed").exclude(
            push_batch__error_code="bad.answer").update(job_status="pending", push_batch=None, push_error="")
        status_counts_apply(campaign_id=campaign.pk, delta=Counter({"pushFailed": -moved, "pending": moved}))
    return moved


async def _send(campaign: Campaign, batch: PushBatch) -> list[str]:
    async with accounts.open_jaicp(campaign.account, campaign.token) as client:
        if batch.sent_at is None and timezone.now() - batch.created_at > KEY_LIFETIME:
            reports = await client.call_job_report(phones=[i["phone"] for i in batch.request_body])
            found = {r.phone: r.call_job_id for r in reports}
            if len(found) == batch.size:
                return [found[i["phone"]] for i in batch.request_body]
        return await client.add_phones(batch.request_body, idempotence_key=batch.idempotence_key)


def push_batch_send(*, campaign: Campaign, batch: PushBatch) -> int:
    """Send one batch (again, if it was sent before and its answer was lost)."""
    # Counted only while still pending: a batch formed again without a do-not-call number
    # (push_batch_recheck) is gone, and must not go out under its old key.
    if not PushBatch.objects.filter(pk=batch.pk, state=PushBatch.State.PENDING).update(attempts=F("attempts") + 1):
        return 0
    job_ids = accounts.run(lambda: _send(campaign, batch))
    recorded = _record_sent(batch, job_ids)
    _cancel_do_not_call(campaign, batch)
    return recorded


def _cancel_do_not_call(campaign: Campaign, batch: PushBatch) -> None:
    """Jobs of a batch resent as it was although a number in it went on the do-not-call
    list meanwhile: cancel them at JAICP, so they are never dialled."""
    jobs = list(CallJob.objects.filter(push_batch=batch).exclude(provider_job_id="").values_list(
        "phone_e164", "provider_job_id"))
    blocked = phones_among([e164 for e164, _ in jobs], model=DoNotCallEntry)
    ids = [job_id for e164, job_id in jobs if e164 in blocked]
    if not ids:
        return

    async def cancel() -> list[str]:
        async with accounts.open_jaicp(campaign.account, campaign.token) as client:
            return await client.cancel(ids=ids, idempotence_key=f"dnc-{batch.idempotence_key}"[:64])

    try:
        accounts.run(cancel)
    except ProviderError as exc:
        logger.warning("batch %s: do-not-call jobs %s not cancelled: %s", batch.pk, ids, exc.describe())
        return
    CallJob.objects.filter(push_batch=batch, provider_job_id__in=ids).update(
        push_error="On the do-not-call list: cancelled at JAICP right after its push.")


def campaign_push(*, campaign: Campaign, batch_size: int | None = None, max_batches: int | None = None) -> PushOutcome:
    """Push every pending job: first batches left pending by an earlier run, then new ones.

    A provider error naming one phone refuses that job and the batch goes again without
    it; another permanent error fails the batch (recorded and shown) and the push goes on
    with the next; a transient one stops the run, leaving the batch pending for a retry.
    """
    size = batch_size or campaign.push_batch_size
    outcome = PushOutcome()
    started = timezone.now()
    while max_batches is None or outcome.batches_sent + outcome.batches_failed < max_batches:
        batch = PushBatch.objects.filter(campaign=campaign, state=PushBatch.State.PENDING).order_by("pk").first()
        if batch is not None:
            batch = push_batch_recheck(batch=batch)
            if batch is None or batch.state != PushBatch.State.PENDING:
                continue
        else:
            batch = push_batch_form(campaign=campaign, size=size)
        if batch is None:
            break
        try:
            outcome.jobs_pushed += push_batch_send(campaign=campaign, batch=batch)
            outcome.batches_sent += 1
        except ProviderError as exc:
            phone = _offending_phone(exc)
            if phone is not None:
                outcome.errors.append(f"{phone}: {exc.describe()}")
                outcome.jobs_rejected += 1
                push_batch_without(batch=batch, phone=phone, error=exc)
                continue
            _record_failure(batch, exc)
            outcome.errors.append(f"batch {batch.pk}: {exc.describe()}")
            if not exc.permanent:
                outcome.stopped = exc.describe()
                break
            outcome.batches_failed += 1
    if not outcome.stopped and max_batches is None:
        campaign_push_finished(campaign=campaign, started=started)
    return outcome


def campaign_push_request(*, campaign: Campaign) -> None:
    """An operator asks for the campaign's numbers to be pushed: recorded first, so the
    push resumes by itself (campaigns.tasks.push_resume_tick) whatever stops it."""
    from campaigns.tasks import campaign_push_task

    Campaign.objects.filter(pk=campaign.pk).update(push_requested_at=timezone.now())
    campaign_push_task.enqueue(campaign.pk)


def campaign_push_finished(*, campaign: Campaign, started: Any) -> None:
    """Nothing left to push: the request is done, unless a newer one came meanwhile."""
    left = CallJob.objects.filter(campaign=campaign, job_status="pending", push_batch__isnull=True).exists() or \
        PushBatch.objects.filter(campaign=campaign, state=PushBatch.State.PENDING).exists()
    if not left:
        Campaign.objects.filter(pk=campaign.pk, push_requested_at__lte=started).update(push_requested_at=None)


def campaigns_to_resume() -> list[int]:
    """Campaigns whose push must go on: a batch formed and not sent (its key is stored,
    whatever happened to the run that formed it), or a requested push with numbers left
    (read from the status counts: no scan of a big job table every tick)."""
    from campaigns.models import CampaignStatusCount

    with_batches = PushBatch.objects.filter(state=PushBatch.State.PENDING).values_list("campaign_id", flat=True)
    requested = CampaignStatusCount.objects.filter(
        status="pending", count__gt=0, campaign__push_requested_at__isnull=False,
    ).exclude(campaign__provider_status__in=["finished", "deleted"]).values_list("campaign_id", flat=True)
    return sorted(set(with_batches) | set(requested))
