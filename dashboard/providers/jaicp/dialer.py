"""The sandbox's JAICP world: campaigns that dial their call jobs over simulated time.

A running campaign (``inProgress``) dials queued jobs, highest priority first, never more
at once than ``maxSimultaneousCalls``, and only inside each job's calling window in the
subscriber's own time zone (allowedDays, allowedTime, startDateTime..finishDateTime).
Attempts ring, are answered or not per ``ProviderTwin.subscriber(phone)``, talk and end
through scheduled events; unanswered attempts are retried after retryIntervalInMinutes
until maxAttempts. Paused and stopped campaigns start no new attempts; calls in progress
finish either way (as the spec says for cancel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .gmtzone import parse_gmt_zone
from .models import DAYS, FINAL_JOB_STATUSES, parse_datetime, phone_digits

if TYPE_CHECKING:
    from dashboard.sandbox.sim import Simulation, SubscriberProfile

__all__ = ["Attempt", "CallJob", "Campaign", "Dialer", "Policy", "next_window_open"]

RING_TIMEOUT = 40.0  # seconds an unanswered call rings before the dialer gives up
BUSY_SECONDS = 3.0
NONEXISTENT_SECONDS = 2.0
DEFAULT_PRIORITY = 3  # middle of 1 (highest) .. 5 (lowest) for jobs that set none

# When a job has no gmtZone, the spec says JAICP calls "at time of the phone number
# timezone": the sandbox guesses it from the country code (longest prefix wins).
_COUNTRY_ZONES = {
    "1": "America/New_York",
    "7": "Europe/Moscow",
    "33": "Europe/Paris",
    "44": "Europe/London",
    "49": "Europe/Berlin",
    "86": "Asia/Shanghai",
    "91": "Asia/Kolkata",
    "375": "Europe/Minsk",
    "380": "Europe/Kyiv",
}


def zone_for_phone(phone: str, fallback: tzinfo) -> tzinfo:
    digits = phone_digits(phone)
    for length in (3, 2, 1):
        zone = _COUNTRY_ZONES.get(digits[:length])
        if zone:
            return ZoneInfo(zone)
    return fallback


def _minutes(text: str) -> int:
    if text == "24:00":
        return 24 * 60
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Policy:
    """A resolved call policy: the job's CallJobParameters over the campaign's defaults."""

    days: frozenset[str]
    allowed_time: Mapping[str, tuple[tuple[int, int], ...]]  # day or "default" -> minute spans
    tz: tzinfo
    retry_minutes: int
    max_attempts: int
    priority: int
    start_at: float | None = None
    finish_at: float | None = None

    def spans(self, day: str) -> tuple[tuple[int, int], ...]:
        return self.allowed_time.get(day) or self.allowed_time.get("default") or ((0, 24 * 60),)


def resolve_policy(params: Mapping[str, Any], defaults: Mapping[str, Any], phone: str) -> Policy:
    def spans(value: Mapping[str, Any]) -> dict[str, tuple[tuple[int, int], ...]]:
        return {
            day: tuple(
                sorted(
                    (_minutes(i["localTimeFrom"]), _minutes(i["localTimeTo"])) for i in intervals
                )
            )
            for day, intervals in value.items()
        }

    allowed_time = spans(defaults["allowedTime"])
    if params.get("allowedTime"):
        # Our reading: a job's "default" replaces the campaign's whole table; without
        # one, the days the job names override those days only.
        own = spans(params["allowedTime"])
        allowed_time = own if "default" in own else {**allowed_time, **own}
    elif params.get("localTimeFrom") or params.get("localTimeTo"):
        # Deprecated top-level pair: one interval for every day.
        base = allowed_time.get("default", ((9 * 60, 21 * 60),))[0]
        start = _minutes(params["localTimeFrom"]) if params.get("localTimeFrom") else base[0]
        end = _minutes(params["localTimeTo"]) if params.get("localTimeTo") else base[1]
        allowed_time = {"default": ((start, end),)}
    fallback = (
        parse_gmt_zone(defaults["gmtZone"]) if defaults.get("gmtZone") else parse_gmt_zone("UTC")
    )
    tz = (
        parse_gmt_zone(params["gmtZone"])
        if params.get("gmtZone")
        else zone_for_phone(phone, fallback)
    )
    start = params.get("startDateTime")
    finish = params.get("finishDateTime")
    return Policy(
        days=frozenset(params.get("allowedDays") or defaults["allowedDays"]),
        allowed_time=allowed_time,
        tz=tz,
        retry_minutes=int(
            params.get("retryIntervalInMinutes") or defaults["retryIntervalInMinutes"]
        ),
        max_attempts=int(params.get("maxAttempts") or defaults["maxAttempts"]),
        priority=int(
            params.get("dialerPriority") or defaults.get("dialerPriority") or DEFAULT_PRIORITY
        ),
        start_at=parse_datetime(start).timestamp() if start else None,
        finish_at=parse_datetime(finish).timestamp() if finish else None,
    )


def next_window_open(policy: Policy, t: float) -> float | None:
    """The first instant at or after ``t`` when the policy allows a call, or None if it
    never will (past finishDateTime, or no allowed day within a week)."""
    t0 = max(t, policy.start_at) if policy.start_at is not None else t
    if policy.finish_at is not None and t0 >= policy.finish_at:
        return None
    local_day = datetime.fromtimestamp(t0, policy.tz).date()
    for offset in range(9):
        day = local_day + timedelta(days=offset)
        name = DAYS[day.weekday()]
        if name not in policy.days:
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=policy.tz)
        for start, end in policy.spans(name):
            # Wall-clock arithmetic on an aware datetime, so DST days keep their local hours.
            opens = (midnight + timedelta(minutes=start)).timestamp()
            closes = (midnight + timedelta(minutes=end)).timestamp()
            if closes <= t0:
                continue
            candidate = max(opens, t0)
            if policy.finish_at is not None and candidate >= policy.finish_at:
                return None
            return candidate
    return None


@dataclass
class Attempt:
    number: int
    dialed_at: float
    finished_at: float | None = None
    answered_at: float | None = None
    outcome: str | None = None  # answered | no_answer | busy | nonexistent
    call_result: str | None = None
    talk_seconds: int = 0


@dataclass
class CallJob:
    id: int
    campaign_token: str
    phone: str
    payload: dict[str, Any] | None
    params: dict[str, Any]
    policy: Policy
    custom_policy: bool
    source: str  # api | crm | test | list (numbers added in the UI cannot be cancelled via API)
    created_at: float
    idempotence_key: str | None = None
    redial_number: int | None = None
    status: str = "planned"
    finished_at: float | None = None
    ready_at: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    active: Attempt | None = None
    cancel_requested: bool = False
    tag_name: str | None = None
    tag_payload: dict[str, Any] | None = None
    report_data: dict[str, Any] | None = None
    call_duration: int = 0

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_JOB_STATUSES

    @property
    def via_api(self) -> bool:
        return self.source != "list"


@dataclass
class Campaign:
    id: int
    token: str
    name: str
    project_name: str
    bot_id: str
    creation_date: float
    status: str
    max_simultaneous_calls: int
    defaults: dict[str, Any]
    start_time: float | None = None
    end_time: float | None = None
    jobs: dict[int, CallJob] = field(default_factory=dict)
    queue: set[int] = field(default_factory=set)  # jobs waiting for their next attempt
    active: set[int] = field(default_factory=set)  # jobs with a call in progress
    wake: Any = None  # the scheduled pump event
    wake_at: float | None = None


_RESULTS = ("AGREED", "CALLBACK_REQUEST", "DECLINED")


class Dialer:
    """Runs the campaigns' dialing on the simulation's clock."""

    def __init__(self, sim: Simulation, subscriber: Callable[[str], SubscriberProfile]) -> None:
        self.sim = sim
        self.subscriber = subscriber

    # --- scheduling --------------------------------------------------------------

    def wake(self, campaign: Campaign, at: float | None = None) -> None:
        at = self.sim.now if at is None else at
        if (
            campaign.wake is not None
            and not campaign.wake.cancelled
            and campaign.wake_at is not None
        ):
            if campaign.wake_at <= at:
                return
            self.sim.cancel(campaign.wake)
        campaign.wake_at = at
        campaign.wake = self.sim.at(at, self.pump, campaign)

    def pump(self, campaign: Campaign) -> None:
        """Start what may start now, and plan the next wake-up."""
        campaign.wake = None
        campaign.wake_at = None
        if campaign.status != "inProgress":
            return
        now = self.sim.now
        ready: list[CallJob] = []
        next_at: float | None = None
        for job_id in list(campaign.queue):
            job = campaign.jobs[job_id]
            at = next_window_open(job.policy, max(now, job.ready_at))
            if at is None:
                # The window closed for good (finishDateTime passed).
                self.finish(campaign, job, "notDone" if not job.attempts else "noAnswer")
            elif at <= now:
                ready.append(job)
            else:
                next_at = at if next_at is None else min(next_at, at)
        # Custom-policy numbers go before others of the same priority (seed 000).
        ready.sort(key=lambda j: (j.policy.priority, not j.custom_policy, j.ready_at, j.id))
        free = campaign.max_simultaneous_calls - len(campaign.active)
        for job in ready[: max(free, 0)]:
            self.dial(campaign, job)
        # Jobs left waiting for a line are picked up when a call ends (end_attempt wakes).
        if next_at is not None:
            self.wake(campaign, next_at)

    # --- one attempt -----------------------------------------------------------------

    def dial(self, campaign: Campaign, job: CallJob) -> None:
        now = self.sim.now
        check = job.params.get("externalCheck") or {}
        if "fail" in str(check.get("externalCheckUrl", "")):
            # Sandbox convention: the sandbox makes no outbound check requests; a check URL
            # containing "fail" stands for an external service that keeps failing, which
            # JAICP reports as technicalError without calling.
            self.finish(campaign, job, "technicalError")
            return
        attempt = Attempt(number=len(job.attempts) + 1, dialed_at=now)
        job.attempts.append(attempt)
        job.active = attempt
        job.status = "inProcess"
        campaign.queue.discard(job.id)
        campaign.active.add(job.id)
        profile = self.subscriber(job.phone)
        rng = self.sim.rng_for(f"jaicp:attempt:{job.id}:{attempt.number}")
        if profile.kind == "nonexistent":
            self.sim.after(NONEXISTENT_SECONDS, self.end_attempt, campaign, job, "nonexistent", rng)
        elif profile.kind == "busy":
            self.sim.after(BUSY_SECONDS, self.end_attempt, campaign, job, "busy", rng)
        elif profile.kind == "answers" and rng.random() < profile.answer_probability:
            self.sim.after(profile.ring_seconds, self.answer, campaign, job, rng)
        else:
            self.sim.after(RING_TIMEOUT, self.end_attempt, campaign, job, "no_answer", rng)

    def answer(self, campaign: Campaign, job: CallJob, rng: Any) -> None:
        attempt = job.active
        if attempt is None:
            return
        attempt.answered_at = self.sim.now
        profile = self.subscriber(job.phone)
        talk = max(5.0, profile.talk_seconds * rng.uniform(0.8, 1.2))
        attempt.talk_seconds = round(talk)
        self.sim.after(talk, self.end_attempt, campaign, job, "answered", rng)

    def end_attempt(self, campaign: Campaign, job: CallJob, outcome: str, rng: Any) -> None:
        attempt = job.active
        if attempt is None:
            return
        now = self.sim.now
        attempt.finished_at = now
        attempt.outcome = outcome
        job.active = None
        campaign.active.discard(job.id)
        if outcome == "answered":
            job.call_duration += attempt.talk_seconds
            if rng.random() < 0.8:
                attempt.call_result = rng.choice(_RESULTS)
                job.tag_name = "result"
                job.tag_payload = {"result": attempt.call_result}
                job.report_data = {"result": attempt.call_result, **self._echo(job)}
                self.finish(campaign, job, "longCallWithResult")
            else:
                job.tag_name = "hello_step"
                job.report_data = self._echo(job) or None
                self.finish(campaign, job, "longCallWithNoResult")
        elif outcome == "nonexistent":
            self.finish(campaign, job, "nonexistentNumber")
        elif job.cancel_requested:
            self.finish(campaign, job, "cancelledByUser")
        elif campaign.status == "finished" or len(job.attempts) >= job.policy.max_attempts:
            self.finish(campaign, job, "noAnswer")
        else:
            job.status = "onRetry"
            job.ready_at = now + self.sim.duration(job.policy.retry_minutes * 60)
            campaign.queue.add(job.id)
        self.wake(campaign)

    @staticmethod
    def _echo(job: CallJob) -> dict[str, Any]:
        # What a script typically writes with $dialer.reportData: the name it greeted.
        name = (job.payload or {}).get("name")
        return {"name": name} if name else {}

    def finish(self, campaign: Campaign, job: CallJob, status: str) -> None:
        job.status = status
        job.finished_at = self.sim.now
        campaign.queue.discard(job.id)

    # --- campaign-level changes --------------------------------------------------------

    def enqueue(self, campaign: Campaign, job: CallJob) -> None:
        job.ready_at = job.created_at
        campaign.jobs[job.id] = job
        campaign.queue.add(job.id)
        if campaign.status == "inProgress":
            self.wake(campaign)

    def cancel(self, campaign: Campaign, job: CallJob) -> bool:
        """Cancel a job: no new attempts; a call in progress ends on its own."""
        if job.is_final or job.cancel_requested:
            return False
        job.cancel_requested = True
        if job.active is None:
            self.finish(campaign, job, "cancelledByUser")
        return True

    def stop(self, campaign: Campaign) -> None:
        campaign.status = "finished"
        campaign.end_time = self.sim.now
        for job_id in list(campaign.queue):
            job = campaign.jobs[job_id]
            # notDone: "the broadcast has been completed but no calls were made".
            self.finish(campaign, job, "notDone" if not job.attempts else "noAnswer")
        self.sim.cancel(campaign.wake)
        campaign.wake = None
        campaign.wake_at = None
