"""The fan-out load generator: browsers' WebSockets and the provider's webhooks.

Started by bench/fanout.py (never on its own in practice), one or more processes. Each
reads a JSON config, opens its share of sockets on the wall page's own URL
(``/ws/live/?calls=1``, templates/livecalls/wall.html) with the users' session cookies,
prints ``ready``, waits for ``go`` on stdin, then (process 0 only) posts CallGear
notifications on a schedule (:func:`schedule`), every process records what each socket
receives until ``deadline`` seconds after the last post, and writes one JSON result.

Lean on purpose (the machine is shared with the servers): asyncio, the ``websockets``
client (offering permessage-deflate as a browser does, unless told not to) and a
hand-written keep-alive HTTP/1.1 client. No Django.
Times are ``time.monotonic()``, one clock for every process on the machine.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dashboard.providers.callgear.notifications import TEMPLATES

# The "realistic" workload: a call's life as CallGear tells it, about a second between
# events. incoming_call's template has no employee (the sandbox sends it so too): every
# call starts unowned, and its agent sees it from the first event that names them.
LIFECYCLE = ("incoming_call", "waiting_for_answer", "talk_started", "call_held", "call_unheld", "call_ended")
# The "round-robin" workload (the figures before 2026-12-08): every event names the agent
# and the events of all agents' calls follow each other with no gap in time.
ROUND_ROBIN_STEPS = ("waiting_for_answer", "talk_started", "call_held", "call_unheld", "recording_changed",
                     "call_ended")

# One scheduled notification: (due, seconds from the start; call ref; seq; kind; the call's
# employee; whether this event names them; whether it is the call's last).
Event = tuple[float, int, int, str, int, bool, bool]


def schedule(cfg: dict[str, Any]) -> list[Event]:
    """Every notification of the run, in the order they are due."""
    rng = random.Random(cfg.get("seed", 1))
    agents = list(cfg["employee_ids"])
    rng.shuffle(agents)
    seconds = cfg["warmup"] + cfg["duration"]
    events: list[Event] = []
    if cfg["workload"] == "round-robin":
        state = {e: [0, 0] for e in agents}  # employee -> [call number, step]
        for i in range(int(cfg["rate"] * seconds)):
            employee = agents[i % len(agents)]
            call, step = state[employee]
            ref = cfg["ref_base"] + employee * 1000 + call
            last = step + 1 == len(ROUND_ROBIN_STEPS)
            events.append((i / cfg["rate"], ref, step + 1, ROUND_ROBIN_STEPS[step], employee, True, last))
            state[employee] = [call + 1, 0] if last else [call, step + 1]
        return events
    # Calls start evenly, rate/6 a second, so that their events add up to ``rate``; each is
    # on one agent (round robin); ``unnamed`` of them ring a leg that names nobody (a queue),
    # so their employee first appears with talk_started.
    starts = cfg["rate"] / len(LIFECYCLE)
    gap, jitter = cfg.get("gap", 1.0), cfg.get("jitter", 0.25)
    for i in range(int(starts * seconds)):
        ref, employee = cfg["ref_base"] + i, agents[i % len(agents)]
        unnamed_ring = rng.random() < cfg.get("unnamed", 0.2)
        due = i / starts
        for step, kind in enumerate(LIFECYCLE):
            if step:
                due += gap + rng.uniform(-jitter, jitter)
            named = step >= 2 or (step == 1 and not unnamed_ring)
            events.append((due, ref, step + 1, kind, employee, named, step + 1 == len(LIFECYCLE)))
    events.sort()
    return events


def event_body(kind: str, ref: int, seq: int, employee_id: int | None) -> bytes:
    contact_leg, employee_leg = ref * 10 + 1, ref * 10 + 2
    legs = {"waiting_for_answer": [employee_leg], "talk_started": [contact_leg, employee_leg],
            "call_held": [contact_leg], "call_unheld": [contact_leg]}.get(kind, [contact_leg])
    values = {
        "notification_mnemonic": kind,
        "notification_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "call_session_id": ref,
        "session_event_seq": seq,
        "leg_id": legs[0],
        "leg_ids": legs,
        "virtual_phone_number": "15550000000",
        "contact_phone_number": f"1444{ref % 10_000_000:07d}",
        "called_phone_number": f"1555{employee_id or 999_999:07d}",  # a queue when nobody
        "scenario_name": "Bench line",
        "employee_id": employee_id,
        "employee_full_name": f"Bench Agent {employee_id}" if employee_id else None,
        "direction": "in",
        "recording_state": "on",
        "talk_time_duration": 30,
        "total_time_duration": 40,
        "wait_time_duration": 5,
        "finish_reason": "subscriber_hangup",
    }
    return TEMPLATES[kind].render(values).encode()


class Http:
    """A keep-alive HTTP/1.1 connection that posts and reads one response at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
        """Returns (status, send time)."""
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        sent = time.monotonic()
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            self.writer = None
            return 0, sent
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return int(status_line.split()[1]), sent


def parse_cards(message: str) -> list[tuple[int, int, str]]:
    """(session pk, event seq, state) of each call card in a frame (a frame may hold several):
    ``<article id="session-<pk>" ... data-state="..." data-seq="..."``."""
    cards = []
    i = message.find('id="session-')
    while i >= 0:
        try:
            i += 12
            pk = int(message[i:message.index('"', i)])
            j = message.index('data-state="', i) + 12
            state = message[j:message.index('"', j)]
            k = message.index('data-seq="', j) + 10
            seq = int(message[k:message.index('"', k)])
        except ValueError:
            break
        cards.append((pk, seq, state))
        i = message.find('id="session-', k)
    return cards


async def socket_run(spec: dict[str, Any], url: str, origin: str, got: list[Any], stop_at: list[float],
                     opened: asyncio.Event, errors: list[str], deflate: bool, negotiated: dict[str, str]) -> None:
    """One browser's socket. ``deflate``: offer permessage-deflate as browsers do
    (``permessage-deflate; client_max_window_bits``, the websockets client's default offer),
    so the server compresses every frame for every socket, as it does for the wall page."""
    headers = {"Cookie": f"{spec['cookie_name']}={spec['cookie']}", "Origin": origin}
    try:
        async with websockets.connect(url, additional_headers=headers, compression="deflate" if deflate else None,
                                      max_size=None, ping_interval=None, open_timeout=60, max_queue=None) as ws:
            negotiated.setdefault("extensions", ws.response.headers.get("Sec-WebSocket-Extensions", ""))
            first = await asyncio.wait_for(ws.recv(), 30)
            if 'data-state="connected"' not in first:
                errors.append(f"user {spec['user_id']}: unexpected first frame")
            opened.set()
            while True:
                remaining = stop_at[0] - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    message = await asyncio.wait_for(ws.recv(), min(remaining, 1.0))
                except TimeoutError:
                    continue
                now = time.monotonic()
                if isinstance(message, str):
                    got.extend((pk, seq, state, now) for pk, seq, state in parse_cards(message))
    except Exception as exc:  # a socket that fails is reported, not fatal to the run
        errors.append(f"user {spec['user_id']}: {type(exc).__name__}: {exc}")
        opened.set()


async def post_events(cfg: dict[str, Any], began: float, posted: list[Any]) -> None:
    """The schedule, each notification at its time, spread over the servers (a provider
    behind a load balancer), each on one of ``http_connections`` keep-alive connections
    per server (a POST waits for a free one: ``due`` vs ``sent`` shows that wait)."""
    pools: list[asyncio.Queue[Http]] = []
    for host, port in cfg["servers"]:
        pool: asyncio.Queue[Http] = asyncio.Queue()
        for _ in range(cfg.get("http_connections", 64)):
            pool.put_nowait(Http(host, port))
        pools.append(pool)
    headers = {"X-Callboard-Secret": cfg["secret"]}
    path = f"/hooks/{cfg['account_id']}/"
    tasks: set[asyncio.Task[None]] = set()

    async def one(pool: asyncio.Queue[Http], event: Event, due: float) -> None:
        _, ref, seq, kind, employee, named, final = event
        body = event_body(kind, ref, seq, employee if named else None)
        conn = await pool.get()
        try:
            status, sent = await conn.post(path, body, headers)
        except Exception:
            conn.writer = None
            status, sent = -1, time.monotonic()
        finally:
            pool.put_nowait(conn)
        posted.append((ref, seq, kind, employee, named, sent, status, time.monotonic(), due, final))

    for i, event in enumerate(schedule(cfg)):
        due = began + event[0]
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(pools[i % len(pools)], event, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=cfg["deadline"])
    for task in list(tasks):  # posts still waiting for a connection: not sent, not counted
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    errors: list[str] = []
    negotiated: dict[str, str] = {}
    stop_at = [time.monotonic() + 3600]
    results: list[dict[str, Any]] = []
    tasks = []
    sem = asyncio.Semaphore(16)

    async def open_one(spec: dict[str, Any], url: str, origin: str, got: list[Any]) -> None:
        opened = asyncio.Event()
        async with sem:
            tasks.append(asyncio.create_task(socket_run(spec, url, origin, got, stop_at, opened, errors,
                                                        cfg.get("deflate", True), negotiated)))
            await opened.wait()

    opening = []
    for n, spec in enumerate(cfg["sockets"]):
        host, port = cfg["servers"][n % len(cfg["servers"])] if spec.get("server") is None else cfg["servers"][spec["server"]]
        url = f"ws://{host}:{port}{cfg['socket_path']}"
        got: list[Any] = []
        results.append({"user_id": spec["user_id"], "role": spec["role"], "got": got})
        opening.append(open_one(spec, url, f"http://{host}:{port}", got))
    await asyncio.gather(*opening)
    print(f"ready {len(cfg['sockets'])} sockets, {len(errors)} errors", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "go":
        stop_at[0] = 0
    began = time.monotonic()
    posted: list[Any] = []
    if not cfg.get("post"):  # the poster's last POST may be late; give it the deadline twice
        stop_at[0] = began + schedule(cfg)[-1][0] + 2 * cfg["deadline"] + 2
    else:
        await post_events(cfg, began, posted)
        # A card may follow its POST's answer: listen ``deadline`` more after the last one.
        stop_at[0] = time.monotonic() + cfg["deadline"]
    await asyncio.gather(*tasks)
    return {"began": began, "posted": posted, "sockets": results, "errors": errors,
            "extensions": negotiated.get("extensions", "")}


if __name__ == "__main__":
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    result = asyncio.run(main(json.loads(Path(sys.argv[1]).read_text())), loop_factory=loop_factory)
    Path(sys.argv[2]).write_text(json.dumps(result))
