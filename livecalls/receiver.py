"""Where provider webhooks wait to be applied: one thread per process, in batches.

A webhook request hands its body to this process's receiver and waits for the answer.
The receiver's thread takes whatever has arrived (up to ``MAX_BATCH``), checks, stores
and applies it as one batch (services/ingest_batch.py), and answers each request after
the batch commits: a provider hears "accepted" only for what is stored. A quiet floor
gets batches of one, as fast as before; a busy one gets larger batches, so the cost per
event falls as the rate rises instead of queueing (bench/RESULTS.md, fan-out).

One thread also means one warm database connection and no two batches of this process
racing for SQLite's write lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import re
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db import close_old_connections

from dashboard.broadcast import sends_on
from dashboard.models import ProviderAccount
from livecalls.services.ingest_batch import webhook_events_ingest
from livecalls.webhooks import SECRET_HEADER, BadNotification, parse_event, secret_matches

logger = logging.getLogger(__name__)

MAX_BATCH = 200
Answer = tuple[int, dict[str, str]]
NOT_STORED: Answer = (503, {"error": "not stored, please send it again"})


def webhooks_receive(deliveries: Sequence[tuple[int, str | None, bytes]]) -> list[Answer]:
    """Check, store and apply deliveries of (account id, secret given, body); one answer each."""
    ids = {account_id for account_id, _, _ in deliveries}
    accounts = {a.pk: a for a in ProviderAccount.objects.filter(pk__in=ids, enabled=True)}
    answers: list[Answer | None] = []
    items = []
    for account_id, secret, body in deliveries:
        account = accounts.get(account_id)
        if account is None:
            answers.append((404, {"error": "unknown account"}))
        elif not secret_matches(account, secret):
            answers.append((403, {"error": "wrong or missing secret"}))
        else:
            try:
                items.append((account, parse_event(account, body)))
                answers.append(None)
            except BadNotification as exc:
                answers.append((400, {"error": str(exc)}))
            except Exception as exc:  # a body no parser foresaw: refused, not the batch's failure
                logger.warning("%s: unreadable notification (%s)", account, type(exc).__name__)
                answers.append((400, {"error": f"not a notification this account sends ({type(exc).__name__})"}))
    results = iter(_ingest(items))
    return [answer or next(results) for answer in answers]


def _ingest(items: list[Any]) -> list[Answer]:
    """The batch at once; if it fails (not a lost race: that is retried inside), each
    event on its own, so that one event the database refuses fails alone."""
    if not items:
        return []
    try:
        results = webhook_events_ingest(items)
    except Exception:
        if len(items) == 1:
            logger.exception("%s event %s not stored", items[0][0], items[0][1].dedupe_key)
            return [NOT_STORED]
        logger.warning("a batch of %d webhooks failed; storing them one by one", len(items), exc_info=True)
        return [answer for item in items for answer in _ingest([item])]
    return [(200, {"status": "duplicate" if result.duplicate else "accepted"}) for result in results]


class WebhookReceiver:
    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[int, str | None, bytes, asyncio.AbstractEventLoop, Any]] = (
            queue.SimpleQueue())
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def receive(self, account_id: int, secret: str | None, body: bytes) -> Answer:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Answer] = loop.create_future()
        self._start()
        self._queue.put((account_id, secret, body, loop, answer))
        return await answer

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-receiver", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                close_old_connections()  # honours CONN_MAX_AGE and health checks on the warm connection
                with sends_on(batch[0][3]):
                    answers = webhooks_receive([(account_id, secret, body) for account_id, secret, body, _, _ in batch])
            except Exception:
                logger.exception("a batch of %d webhooks failed; nothing of it is stored", len(batch))
                answers = [NOT_STORED] * len(batch)
            for (_, _, _, loop, future), answer in zip(batch, answers, strict=True):
                try:
                    loop.call_soon_threadsafe(_answer, future, answer)
                except RuntimeError:  # that request's loop is gone (it was cancelled): nobody waits
                    pass


def _answer(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():  # the request may have gone (client disconnected)
        future.set_result(answer)


RECEIVER = WebhookReceiver()

WEBHOOK_PATH = re.compile(r"^/hooks/(\d{1,18})/$")


async def asgi_webhook(scope: dict[str, Any], receive: Any, send: Any, account_id: int) -> None:
    """``POST /hooks/<account>/`` as the ASGI server hands it over, before Django's handler.

    Django's HTTP path costs a thread start and join per request (its per-request
    ThreadSensitiveContext) and runs the whole middleware chain, ~1/3 of the server's time
    per event at a floor's rate (bench/RESULTS.md, fan-out), while a provider's POST needs
    none of it: no session, user, CSRF or template; it is authenticated by the account's
    secret. The Django view (views.webhook) answers the same way for a WSGI server.
    """
    if scope["method"] != "POST":
        await _respond(send, 405, {"error": "POST only"}, [(b"allow", b"POST")])
        return
    body = bytearray()
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if limit is not None and len(body) > limit:
            await _respond(send, 413, {"error": "body too large"})
            return
        if not message.get("more_body"):
            break
    secret = None
    for name, value in scope.get("headers", []):
        if name == SECRET_HEADER_BYTES:
            secret = value.decode("latin-1")
            break
    if not secret:
        secret = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("secret", [None])[0]
    status, payload = await RECEIVER.receive(account_id, secret, bytes(body))
    await _respond(send, status, payload)


SECRET_HEADER_BYTES = SECRET_HEADER.lower().encode()


async def _respond(send: Any, status: int, payload: dict[str, str], headers: list[tuple[bytes, bytes]] = ()) -> None:
    content = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()),
                            (b"x-content-type-options", b"nosniff"), *headers]})
    await send({"type": "http.response.body", "body": content})
