"""The JAICP Calls API twin: same paths, bodies, status codes and error types as the docs.

Paths (below the sandbox base): ``/jaicp/api/calls/campaign/{token}/...`` and
``/jaicp/api/crmCalls/campaign/{token}/...``. The world is a few campaigns (tokens from the
docs' examples) whose call jobs are dialed over simulated time by :mod:`.dialer`.

Readings chosen where the docs are vague (the client agrees with each):

- Idempotence (seed 001): keys are account-wide and expire one day (sandbox time) after
  first use. A key's first *successful* answer is stored with a fingerprint of the
  request (method, operation, campaign token, content); the same key with the same
  fingerprint replays that answer and changes nothing. The same key with a different
  fingerprint (other content, other campaign, other method) answers 400
  ``{"type": "idempotence.key.conflict", ...}``. Error answers are not stored: nothing
  was created, so repeating the request may legitimately succeed later. Keys apply to the
  methods that change the world (adding phones, cancel, control); report POSTs accept
  and ignore them.
- crmCalls addPhone (GET and POST): the same phone with the same payload (or none) added
  through crmCalls within 24 h is refused with ``phone.duplicated`` unless the request
  replays the first one's key (then its id comes back); after 24 h a new job is made. A
  different key does not bypass the check. ``test/addPhone`` skips it. ``GET
  /api/calls/campaign/{token}/addPhone`` (seed 002's spelling) behaves like addPhones with
  one item (no 24 h check, seed 000: re-adding a phone makes a new job).
- A ``+`` sent unencoded in a query string arrives as a space (the docs' own curl example
  ``gmtZone=+03:00``): a leading space in ``gmtZone`` or ``phone`` is read as ``+``.
- Cancel only sees jobs added through the API: ids or phones of jobs added otherwise
  answer ``id.not.found`` / ``phone.not.found`` like unknown ones. Jobs already finished
  are not in the answer (nothing was cancelled).
- Paginated reports: 400 ``invalid.pagination`` (with ``field``, ``value``) outside page
  0..199 / pageSize 1..200; ``invalid.parameter`` for an unparseable filter date. Rows
  are ordered by creation (jobs) or dialing (attempts) time, then id. ``startedAt`` of an
  attempt is when it was dialed (unanswered attempts have no talk start).
- Control: ``start`` (older docs) from new/planned; ``pause`` from inProgress/planned;
  ``resume`` from paused; ``stop`` from anything not finished. Anything else is 400
  ``{"error": "invalid.call.task.state.transition", "message", "args": {action, status}}``;
  an unknown action is 400 ``{"error": "invalid.action", ...}``.
- Rate limit: 429 ``{"type": "too.many.requests", "message": ...}``.
- Job outcomes (see :mod:`.dialer`): answered calls end ``longCallWithResult`` (80 %, with
  a ``callResult``, ``tagName`` and ``reportData``) or ``longCallWithNoResult``; numbers
  that do not exist ``nonexistentNumber`` after one attempt; unanswered or busy attempts
  ``onRetry`` then ``noAnswer``; jobs never called when the window closes or the campaign
  stops ``notDone``; cancelled ``cancelledByUser``; an ``externalCheckUrl`` containing
  "fail" ``technicalError`` (the sandbox makes no outbound checks). ``unknown`` never.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dashboard.sandbox.app import ProviderTwin
from dashboard.sandbox.http import Request, Response, json_response

from .dialer import Attempt, CallJob, Campaign, Dialer, resolve_policy
from .idempotence import IdempotenceStore
from .models import CallJobRejected, parse_datetime, phone_digits, validate_call_jobs
from .world import CAMPAIGNS, DAY, DEFAULT_POLICY, LIST_NUMBERS

if TYPE_CHECKING:
    from dashboard.sandbox.http import Router

__all__ = ["JaicpSandbox"]

FIRST_JOB_ID = 5_665_336_642  # the id in a real answer quoted by the provider notes
CALLS = "/jaicp/api/calls/campaign/{token}"
CRM = "/jaicp/api/crmCalls/campaign/{token}"
_RESERVED = {"phone", "gmtZone", "Idempotence-Key"}
_POLICY_KEYS = {
    "startDateTime",
    "finishDateTime",
    "allowedDays",
    "allowedTime",
    "localTimeFrom",
    "localTimeTo",
    "retryIntervalInMinutes",
    "maxAttempts",
    "gmtZone",
    "dialerPriority",
    "externalCheck",
}

_TRANSITIONS = {
    "start": ({"new", "planned"}, "inProgress"),
    "pause": ({"inProgress", "planned"}, "paused"),
    "resume": ({"paused"}, "inProgress"),
    "stop": ({"new", "planned", "inProgress", "paused"}, "finished"),
}


def _ms(t: float | None) -> int | None:
    return None if t is None else round(t * 1000)


def _error(type_: str, message: str, status: int = 400, **extra: Any) -> Response:
    return json_response({"type": type_, "message": message, **extra}, status=status)


class JaicpSandbox(ProviderTwin):
    name = "jaicp"

    # --- world -------------------------------------------------------------------

    def reset(self) -> None:
        self.dialer = Dialer(self.sim, self.subscriber)
        self.campaigns: dict[str, Campaign] = {}
        self.keys = IdempotenceStore(ttl=DAY)
        # (token, phone digits, payload json) -> (job id, added at) for the crmCalls 24 h rule
        self.crm_recent: dict[tuple[str, str, str], tuple[int, float]] = {}
        self._next_id = FIRST_JOB_ID
        now = self.sim.clock.now()
        for spec in CAMPAIGNS:
            created = now - spec["age_days"] * DAY
            campaign = Campaign(
                id=spec["id"],
                token=spec["token"],
                name=spec["name"],
                project_name=spec["projectName"],
                bot_id=spec["botId"],
                creation_date=created,
                status=spec["status"],
                max_simultaneous_calls=spec["maxSimultaneousCalls"],
                defaults={**DEFAULT_POLICY, **spec.get("policy", {})},
                start_time=None if spec["status"] == "new" else created + 3600,
                end_time=created + 30 * DAY if spec["status"] == "finished" else None,
            )
            self.campaigns[campaign.token] = campaign
        self._seed_history(self.campaigns["8231.7056.1b131df1"], now)

    def _seed_history(self, campaign: Campaign, now: float) -> None:
        """Two numbers called yesterday from an uploaded list, so reports have history."""
        for n, phone in enumerate(LIST_NUMBERS):
            job = self._new_job(
                campaign,
                {"phone": phone, "payload": {"name": ["Anna", "Boris"][n]}},
                "list",
                None,
                now - DAY,
            )
            dialed = now - DAY + 600 + n * 300
            job.attempts.append(
                _attempt(
                    1,
                    dialed,
                    dialed + 62,
                    answered=dialed + 8,
                    result="AGREED" if n == 0 else None,
                    talk=54,
                )
            )
            job.call_duration = 54
            job.status = "longCallWithResult" if n == 0 else "longCallWithNoResult"
            job.tag_name = "result" if n == 0 else "hello_step"
            job.report_data = {"result": "AGREED", "name": "Anna"} if n == 0 else {"name": "Boris"}
            job.finished_at = dialed + 62
            campaign.jobs[job.id] = job

    def _new_job(
        self,
        campaign: Campaign,
        item: dict[str, Any],
        source: str,
        key: str | None,
        at: float | None = None,
    ) -> CallJob:
        job_id = self._next_id
        self._next_id += 1
        phone = item["phone"]
        earlier = sum(
            1 for j in campaign.jobs.values() if phone_digits(j.phone) == phone_digits(phone)
        )
        params = {k: v for k, v in item.items() if k in _POLICY_KEYS and v is not None}
        return CallJob(
            id=job_id,
            campaign_token=campaign.token,
            phone=phone,
            payload=item.get("payload"),
            params=params,
            policy=resolve_policy(params, campaign.defaults, phone),
            custom_policy=bool(params.keys() - {"gmtZone"}),
            source=source,
            created_at=self.sim.now if at is None else at,
            idempotence_key=key,
            # Our reading of redialNumber: null for the phone's first job in the campaign,
            # then 1, 2... for the phone's later jobs.
            redial_number=earlier or None,
        )

    def state(self) -> dict[str, Any]:
        return {
            "campaigns": [
                {
                    "token": c.token,
                    "name": c.name,
                    "status": c.status,
                    "jobs": len(c.jobs),
                    "queued": len(c.queue),
                    "active_calls": len(c.active),
                    "max_simultaneous_calls": c.max_simultaneous_calls,
                    "policy": c.defaults,
                }
                for c in self.campaigns.values()
            ],
            "idempotence_keys": len(self.keys),
        }

    def ledger(self) -> dict[str, Any]:
        return {
            "call_jobs": [
                {
                    "campaign_token": c.token,
                    "job_id": str(job.id),
                    "phone": job.phone,
                    "idempotence_key": job.idempotence_key,
                    "status": job.status,
                    "source": job.source,
                    "attempts": len(job.attempts),
                }
                for c in self.campaigns.values()
                for job in c.jobs.values()
            ]
        }

    def rate_limited(self, request: Request) -> Response:
        return _error("too.many.requests", "Too many requests, retry later", status=429)

    # --- routes ------------------------------------------------------------------------

    def mount(self, router: Router) -> None:
        r = router
        r.add("POST", CALLS + "/addPhones", self.add_phones)
        r.add("GET", CALLS + "/addPhone", self.add_phone_calls)
        r.add("GET", CRM + "/addPhone", self.crm_add_phone)
        r.add("POST", CRM + "/addPhone", self.crm_add_phone)
        r.add("GET", CRM + "/test/addPhone", self.test_add_phone)
        r.add("POST", CALLS + "/callJob/cancel", self.cancel)
        r.add("POST", CALLS + "/callJob/getReport", self.job_report)
        r.add("POST", CALLS + "/getReport", self.job_report)  # older docs (seed 000)
        r.add("POST", CALLS + "/callAttempt/getReport", self.attempt_report)
        r.add("POST", CALLS + "/callJob/getReportByDate", self.job_report_by_date)
        r.add("POST", CALLS + "/callJob/getUnfinished", self.job_unfinished)
        r.add("POST", CALLS + "/callAttempt/getReportByDate", self.attempt_report_by_date)
        r.add("GET", CALLS, self.campaign_info)
        r.add("GET", CALLS + "/status", self.campaign_status)
        r.add("POST", CALLS + "/control/{action}", self.control)

    def _campaign(self, request: Request) -> Campaign | Response:
        campaign = self.campaigns.get(request.path_params.get("token", ""))
        if campaign is None:
            return _error("invalid.token", "Campaign is not found", status=404)
        return campaign

    @staticmethod
    def _json_body(request: Request) -> Any:
        if not request.body.strip():
            return None
        try:
            return request.json()
        except (ValueError, UnicodeDecodeError):
            raise CallJobRejected("invalid.request", "The request body is not valid JSON") from None

    # --- idempotence -------------------------------------------------------------------

    def _idempotent(
        self,
        request: Request,
        campaign: Campaign,
        operation: str,
        content: Any,
        key: str | None,
        produce: Any,
    ) -> Response:
        now = self.sim.now
        fingerprint = json.dumps(
            [request.method, operation, campaign.token, content], sort_keys=True, default=str
        )
        if key:
            stored = self.keys.lookup(key, now)
            if stored is not None and stored.fingerprint != fingerprint:
                return _error(
                    "idempotence.key.conflict",
                    "The idempotence key was already used with a different request",
                    idempotenceKey=key,
                )
            if stored is not None:
                return stored.replay()
        response: Response = produce()
        if key and response.status < 300:
            self.keys.remember(key, fingerprint, now, response)
        return response

    @staticmethod
    def _key(request: Request, *, query_first: bool = False) -> str | None:
        header = request.header("Idempotence-Key")
        query = request.query_dict().get("Idempotence-Key")
        # Seed 001: query parameter for GET addPhone; the spec: a header. Either works.
        return (query or header) if query_first else (header or query)

    # --- adding phones -----------------------------------------------------------------

    def _refuse_if_closed(self, campaign: Campaign) -> Response | None:
        if campaign.status in {"finished", "deleted"}:
            return _error(
                "invalid.call.task.state",
                "Campaign is stopped: phone numbers cannot be added",
                state=campaign.status.upper(),
            )
        return None

    async def add_phones(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        try:
            body = self._json_body(request)
            items = validate_call_jobs(body, strict_phone=True)
        except CallJobRejected as exc:
            return json_response(exc.body(), status=400)
        key = self._key(request)

        def produce() -> Response:
            refused = self._refuse_if_closed(campaign)
            if refused is not None:
                return refused
            ids = [self._add(campaign, item, "api", key).id for item in items]
            response = json_response([str(i) for i in ids])
            response.committed = True
            return response

        return self._idempotent(request, campaign, "addPhones", body, key, produce)

    def _add(
        self, campaign: Campaign, item: dict[str, Any], source: str, key: str | None
    ) -> CallJob:
        job = self._new_job(campaign, item, source, key)
        self.dialer.enqueue(campaign, job)
        return job

    @staticmethod
    def _single(pairs: list[tuple[str, str]]) -> dict[str, Any]:
        """phone, gmtZone and the rest as payload, from query or form parameters."""
        params: dict[str, Any] = {}
        payload: dict[str, str] = {}
        for name, value in pairs:
            if name in _RESERVED:
                params[name] = value
            else:
                payload[name] = value
        for name in ("phone", "gmtZone"):
            value = params.get(name)
            if isinstance(value, str) and value.startswith(" "):
                params[name] = "+" + value[1:]  # an unencoded "+" decoded as a space
        item: dict[str, Any] = {"phone": params.get("phone", "")}
        if params.get("gmtZone"):
            item["gmtZone"] = params["gmtZone"]
        if payload:
            item["payload"] = payload
        return item

    async def _add_single(
        self, request: Request, *, source: str, operation: str, crm_rule: bool
    ) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        pairs = request.form() if request.method == "POST" else request.query
        item = self._single(pairs)
        try:
            validate_call_jobs([item], strict_phone=True)
        except CallJobRejected as exc:
            return json_response(exc.body(), status=400)
        key = self._key(request, query_first=request.method == "GET")
        content = {
            "phone": item["phone"],
            "gmtZone": item.get("gmtZone"),
            "payload": item.get("payload"),
        }

        def produce() -> Response:
            refused = self._refuse_if_closed(campaign)
            if refused is not None:
                return refused
            now = self.sim.now
            dedupe = (
                campaign.token,
                phone_digits(item["phone"]),
                json.dumps(item.get("payload") or {}, sort_keys=True),
            )
            if crm_rule:
                earlier = self.crm_recent.get(dedupe)
                if earlier is not None and now - earlier[1] < DAY:
                    return _error(
                        "phone.duplicated",
                        f"Phone {item['phone']} with the same payload was already added less than 24 hours ago",
                        phone=item["phone"],
                        phonesDuplicates=[item["phone"]],
                    )
            job = self._add(campaign, item, source, key)
            if crm_rule:
                self.crm_recent[dedupe] = (job.id, now)
            # CallJobID: a JSON string (the spec's schema).
            response = json_response(str(job.id))
            response.committed = True
            return response

        return self._idempotent(request, campaign, operation, content, key, produce)

    async def add_phone_calls(self, request: Request) -> Response:
        return await self._add_single(request, source="api", operation="addPhone", crm_rule=False)

    async def crm_add_phone(self, request: Request) -> Response:
        return await self._add_single(request, source="crm", operation="crmAddPhone", crm_rule=True)

    async def test_add_phone(self, request: Request) -> Response:
        return await self._add_single(
            request, source="test", operation="testAddPhone", crm_rule=False
        )

    # --- selection by ids / phones -------------------------------------------------------

    def _select(self, campaign: Campaign, body: Any, *, api_only: bool) -> list[CallJob] | Response:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return _error("invalid.request", 'Expected {"phones": [...], "ids": [...]}')
        visible = [j for j in campaign.jobs.values() if j.via_api or not api_only]
        by_id = {str(j.id): j for j in visible}
        chosen: dict[int, CallJob] = {}
        for raw in body.get("ids") or []:
            job = by_id.get(str(raw))
            if job is None:
                return _error(
                    "id.not.found", f"Call job id {raw} was not found in the campaign", id=str(raw)
                )
            chosen.setdefault(job.id, job)
        for raw in body.get("phones") or []:
            matches = [j for j in visible if phone_digits(j.phone) == phone_digits(raw)]
            if not matches:
                return _error(
                    "phone.not.found", f"Phone {raw} was not found in the campaign", phone=str(raw)
                )
            for job in sorted(matches, key=lambda j: j.id):
                chosen.setdefault(job.id, job)
        return list(chosen.values())

    async def cancel(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        try:
            body = self._json_body(request)
        except CallJobRejected as exc:
            return json_response(exc.body(), status=400)
        key = self._key(request)

        def produce() -> Response:
            jobs = self._select(campaign, body, api_only=True)
            if isinstance(jobs, Response):
                return jobs
            cancelled = [str(j.id) for j in jobs if self.dialer.cancel(campaign, j)]
            response = json_response(cancelled)
            response.committed = bool(cancelled)
            return response

        return self._idempotent(request, campaign, "cancel", body, key, produce)

    # --- reports -----------------------------------------------------------------------

    @staticmethod
    def job_json(job: CallJob) -> dict[str, Any]:
        return {
            "attemptsCount": len(job.attempts),
            "callDuration": job.call_duration,
            "callJobId": str(job.id),
            "createdAt": _ms(job.created_at),
            "finishedAt": _ms(job.finished_at),
            "jobStatus": job.status,
            "phone": job.phone,
            "redialNumber": job.redial_number,
            "reportData": job.report_data,
            "tagName": job.tag_name,
            "tagPayload": job.tag_payload,
        }

    @staticmethod
    def attempt_json(job: CallJob, attempt: Any) -> dict[str, Any]:
        last = job.attempts and job.attempts[-1] is attempt
        return {
            "callJobId": str(job.id),
            "redialNumber": job.redial_number,
            "phone": job.phone,
            "jobStatus": job.status,
            "attemptNumber": attempt.number,
            "callResult": attempt.call_result,
            "callDuration": attempt.talk_seconds,
            "startedAt": _ms(attempt.dialed_at),
            "finishedAt": _ms(attempt.finished_at),
            "tagName": job.tag_name if last and attempt.answered_at else None,
            "tagPayload": job.tag_payload if last and attempt.answered_at else None,
            "reportData": job.report_data if last and attempt.answered_at else None,
        }

    async def _selection_report(self, request: Request, rows: Any) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        try:
            body = self._json_body(request)
        except CallJobRejected as exc:
            return json_response(exc.body(), status=400)
        jobs = self._select(campaign, body, api_only=False)
        if isinstance(jobs, Response):
            return jobs
        return json_response([row for job in jobs for row in rows(job)])

    async def job_report(self, request: Request) -> Response:
        return await self._selection_report(request, lambda job: [self.job_json(job)])

    async def attempt_report(self, request: Request) -> Response:
        return await self._selection_report(
            request, lambda job: [self.attempt_json(job, a) for a in job.attempts]
        )

    @staticmethod
    def _page(body: dict[str, Any]) -> tuple[int, int] | Response:
        raw = body.get("pagination")
        pagination = raw if isinstance(raw, dict) else body  # getUnfinished: bare PaginationRequest
        page = pagination.get("page", 0)
        size = pagination.get("pageSize", 20)
        for name, value, low, high in (("page", page, 0, 199), ("pageSize", size, 1, 200)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                return _error(
                    "invalid.pagination",
                    f"{name} must be between {low} and {high}",
                    field=name,
                    value=value,
                )
        return page, size

    @staticmethod
    def _window(
        filters: dict[str, Any], names: tuple[str, str]
    ) -> tuple[float | None, float | None] | Response:
        bounds: list[float | None] = []
        for name in names:
            value = filters.get(name)
            if value is None:
                bounds.append(None)
                continue
            try:
                bounds.append(parse_datetime(value).timestamp())
            except (ValueError, TypeError):
                return _error(
                    "invalid.parameter", f"{name} must be a date-time", field=name, value=value
                )
        return bounds[0], bounds[1]

    async def _paged(
        self, request: Request, rows: Any, filter_names: tuple[tuple[str, str, str], ...]
    ) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        try:
            body = self._json_body(request) or {}
        except CallJobRejected as exc:
            return json_response(exc.body(), status=400)
        if not isinstance(body, dict):
            return _error("invalid.request", 'Expected {"filter": {...}, "pagination": {...}}')
        paging = self._page(body)
        if isinstance(paging, Response):
            return paging
        filters = body.get("filter") if isinstance(body.get("filter"), dict) else {}
        checks = []
        for attr, low_name, high_name in filter_names:
            window = self._window(filters, (low_name, high_name))
            if isinstance(window, Response):
                return window
            if window != (None, None):
                checks.append((attr, *window))
        selected = []
        for sort_key, item, values in rows(campaign):
            ok = True
            for attr, low, high in checks:
                value = values[attr]
                # From inclusive, to exclusive; a filter on finishedAt leaves out unfinished rows.
                if (
                    value is None
                    or (low is not None and value < low)
                    or (high is not None and value >= high)
                ):
                    ok = False
                    break
            if ok:
                selected.append((sort_key, item))
        selected.sort(key=lambda pair: pair[0])
        page, size = paging
        items = [item for _, item in selected[page * size : (page + 1) * size]]
        return json_response({"items": items, "pagination": {"page": page, "pageSize": size}})

    async def job_report_by_date(self, request: Request) -> Response:
        def rows(campaign: Campaign) -> Any:
            for job in campaign.jobs.values():
                yield (
                    (job.created_at, job.id),
                    self.job_json(job),
                    {"created": job.created_at, "finished": job.finished_at},
                )

        return await self._paged(
            request,
            rows,
            (
                ("created", "createdAtFrom", "createdAtTo"),
                ("finished", "finishedAtFrom", "finishedAtTo"),
            ),
        )

    async def job_unfinished(self, request: Request) -> Response:
        def rows(campaign: Campaign) -> Any:
            for job in campaign.jobs.values():
                if job.finished_at is None:
                    yield (job.created_at, job.id), self.job_json(job), {}

        return await self._paged(request, rows, ())

    async def attempt_report_by_date(self, request: Request) -> Response:
        def rows(campaign: Campaign) -> Any:
            for job in campaign.jobs.values():
                for a in job.attempts:
                    yield (
                        (a.dialed_at, job.id, a.number),
                        self.attempt_json(job, a),
                        {
                            "started": a.dialed_at,
                            "finished": a.finished_at,
                        },
                    )

        return await self._paged(
            request,
            rows,
            (
                ("started", "startedAtFrom", "startedAtTo"),
                ("finished", "finishedAtFrom", "finishedAtTo"),
            ),
        )

    # --- campaign ----------------------------------------------------------------------

    def campaign_json(self, campaign: Campaign) -> dict[str, Any]:
        jobs = list(campaign.jobs.values())
        data: dict[str, Any] = {
            "id": campaign.id,
            "name": campaign.name,
            "projectName": campaign.project_name,
            "creationDate": _ms(campaign.creation_date),
            "botId": campaign.bot_id,
            "status": campaign.status,
            "maxSimultaneousCalls": campaign.max_simultaneous_calls,
            "shortReport": {
                "totalNumbers": len(jobs),
                "processedNumbers": sum(1 for j in jobs if j.is_final),
                "usedTalkingTime": sum(j.call_duration for j in jobs),
                "usedAsrSeconds": sum(j.call_duration for j in jobs),
                "inProcessCalls": len(campaign.active),
                "retryCalls": sum(max(0, len(j.attempts) - 1) for j in jobs),
            },
        }
        if campaign.start_time is not None:
            data["startTime"] = _ms(campaign.start_time)
        if campaign.end_time is not None:
            data["endTime"] = _ms(campaign.end_time)
        return data

    async def campaign_info(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        return json_response(self.campaign_json(campaign))

    async def campaign_status(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        return json_response(campaign.status)  # CallTaskStatusType: a JSON string

    async def control(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        action = request.path_params["action"]
        if action not in _TRANSITIONS:
            return json_response(
                {
                    "error": "invalid.action",
                    "message": f"Unknown campaign control action {action!r}: expected stop, pause or resume",
                    "args": {"action": action},
                },
                status=400,
            )
        key = self._key(request)

        def produce() -> Response:
            sources, target = _TRANSITIONS[action]
            if campaign.status not in sources:
                return json_response(
                    {
                        "error": "invalid.call.task.state.transition",
                        "message": f"Cannot {action} a campaign in status {campaign.status}",
                        "args": {"action": action, "status": campaign.status},
                    },
                    status=400,
                )
            if action == "stop":
                self.dialer.stop(campaign)
            else:
                campaign.status = target
                if action == "start":
                    campaign.start_time = self.sim.now
                if target == "inProgress":
                    self.dialer.wake(campaign)
            # EmptyResponse: 200 with no body.
            response = Response(200, b"", [])
            response.committed = True
            return response

        return self._idempotent(request, campaign, f"control/{action}", None, key, produce)


def _attempt(
    number: int, dialed: float, finished: float, *, answered: float, result: str | None, talk: int
) -> Attempt:
    return Attempt(
        number=number,
        dialed_at=dialed,
        finished_at=finished,
        answered_at=answered,
        outcome="answered",
        call_result=result,
        talk_seconds=talk,
    )
