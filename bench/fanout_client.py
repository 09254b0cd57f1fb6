"""The fan-out load generator: browsers' WebSockets and the provider's webhooks.

Started by bench/fanout.py (never on its own in practice), one or more processes. Each
reads a JSON config, opens its share of ``/ws/live/?calls=1`` sockets with the users'
session cookies, prints ``ready``, waits for ``go`` on stdin, then (process 0 only) posts
CallGear notifications at a fixed rate for ``duration`` seconds, every process records
what each socket receives until ``duration + deadline``, and writes one JSON result.

Lean on purpose (the machine is shared with the servers): asyncio, the ``websockets``
client without compression, and a hand-written keep-alive HTTP/1.1 client. No Django.
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

# The life of one call, every step naming the agent in charge: the first one (a ringing
# leg) claims the session for the agent, so the agent gets every card of the call.
STEPS = ("waiting_for_answer", "talk_started", "call_held", "call_unheld", "recording_changed", "call_ended")


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


def parse_cards(message: str) -> list[tuple[int, int]]:
    """(session pk, event seq) of each call card in a frame (a frame may hold several)."""
    cards = []
    i = message.find('id="session-')
    while i >= 0:
        i += 12
        j = message.find('data-seq="', i)
        if j < 0:
            break
        j += 10
        cards.append((int(message[i:message.index('"', i)]), int(message[j:message.index('"', j)])))
        i = message.find('id="session-', j)
    return cards


async def socket_run(spec: dict[str, Any], url: str, origin: str, got: list[Any], stop_at: list[float],
                     opened: asyncio.Event, errors: list[str]) -> None:
    headers = {"Cookie": f"{spec['cookie_name']}={spec['cookie']}", "Origin": origin}
    try:
        async with websockets.connect(url, additional_headers=headers, compression=None, max_size=None,
                                      ping_interval=None, open_timeout=60, max_queue=None) as ws:
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
                    got.extend((pk, seq, now) for pk, seq in parse_cards(message))
    except Exception as exc:  # a socket that fails is reported, not fatal to the run
        errors.append(f"user {spec['user_id']}: {type(exc).__name__}: {exc}")
        opened.set()


def event_body(kind: str, ref: int, seq: int, employee_id: int) -> bytes:
    leg = ref * 10 + 1
    values = {
        "notification_mnemonic": kind,
        "notification_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "call_session_id": ref,
        "session_event_seq": seq,
        "leg_id": leg,
        "leg_ids": [leg],
        "virtual_phone_number": "15550000000",
        "contact_phone_number": f"1444{ref % 10_000_000:07d}",
        "called_phone_number": "15550000001",
        "employee_id": employee_id,
        "employee_full_name": f"Bench Agent {employee_id}",
        "direction": "in",
        "recording_state": "on",
        "talk_time_duration": 30,
        "total_time_duration": 40,
        "wait_time_duration": 5,
        "finish_reason": "subscriber_hangup",
    }
    return TEMPLATES[kind].render(values).encode()


async def post_events(cfg: dict[str, Any], posted: list[Any]) -> None:
    """``rate`` events/s for ``duration`` s, round robin over the agents' calls (each agent
    has one call at a time, its events in order), spread over the servers."""
    rate, duration = cfg["rate"], cfg["duration"]
    total = int(rate * duration)
    agents = list(cfg["employee_ids"])
    random.Random(1).shuffle(agents)
    state = {e: [0, 0] for e in agents}  # employee -> [call number, step]
    pools: list[asyncio.Queue[Http]] = []
    for host, port in cfg["servers"]:
        pool: asyncio.Queue[Http] = asyncio.Queue()
        for _ in range(cfg.get("http_connections", 24)):
            pool.put_nowait(Http(host, port))
        pools.append(pool)
    headers = {"X-Callboard-Secret": cfg["secret"]}
    path = f"/hooks/{cfg['account_id']}/"
    tasks: set[asyncio.Task[None]] = set()

    async def one(pool: asyncio.Queue[Http], ref: int, seq: int, employee: int, body: bytes, due: float) -> None:
        conn = await pool.get()
        try:
            status, sent = await conn.post(path, body, headers)
        except Exception:
            conn.writer = None
            status, sent = -1, time.monotonic()
        finally:
            pool.put_nowait(conn)
        posted.append((ref, seq, employee, sent, status, time.monotonic(), due))

    start = time.monotonic()
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        employee = agents[i % len(agents)]
        call, step = state[employee]
        ref = cfg["ref_base"] + employee * 1000 + call
        kind = STEPS[step]
        body = event_body(kind, ref, step + 1, employee)
        state[employee] = [call + 1, 0] if step + 1 == len(STEPS) else [call, step + 1]
        task = asyncio.create_task(one(pools[i % len(pools)], ref, step + 1, employee, body, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=cfg["deadline"])
    for task in list(tasks):  # posts still waiting for a connection: not sent, not counted
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)


async def warm_up(cfg: dict[str, Any], count: int = 30) -> None:
    """A few events before the measurement (first requests load templates and code);
    their calls are not among the measured ones."""
    host, port = cfg["servers"][0]
    for n, (host, port) in enumerate(cfg["servers"]):
        conn = Http(host, port)
        for i in range(count):
            employee = cfg["employee_ids"][i % len(cfg["employee_ids"])]
            ref = cfg["ref_base"] - 1_000_000 + n * 1000 + i
            for step, kind in enumerate(STEPS[:2]):
                await conn.post(f"/hooks/{cfg['account_id']}/", event_body(kind, ref, step + 1, employee),
                                {"X-Callboard-Secret": cfg["secret"]})
    await asyncio.sleep(1)


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    errors: list[str] = []
    stop_at = [time.monotonic() + 3600]
    results: list[dict[str, Any]] = []
    tasks = []
    sem = asyncio.Semaphore(16)

    async def open_one(spec: dict[str, Any], url: str, origin: str, got: list[Any]) -> None:
        opened = asyncio.Event()
        async with sem:
            tasks.append(asyncio.create_task(socket_run(spec, url, origin, got, stop_at, opened, errors)))
            await opened.wait()

    opening = []
    for n, spec in enumerate(cfg["sockets"]):
        host, port = cfg["servers"][n % len(cfg["servers"])] if spec.get("server") is None else cfg["servers"][spec["server"]]
        url = f"ws://{host}:{port}/ws/live/?calls=1"
        got: list[Any] = []
        results.append({"user_id": spec["user_id"], "role": spec["role"], "got": got})
        opening.append(open_one(spec, url, f"http://{host}:{port}", got))
    await asyncio.gather(*opening)
    if cfg.get("post"):
        await warm_up(cfg)
    print(f"ready {len(cfg['sockets'])} sockets, {len(errors)} errors", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "go":
        stop_at[0] = 0
    began = time.monotonic()
    stop_at[0] = began + cfg["duration"] + cfg["deadline"]
    posted: list[Any] = []
    if cfg.get("post"):
        await post_events(cfg, posted)
        # A card may follow its POST's answer: listen ``deadline`` more after the last one.
        stop_at[0] = max(stop_at[0], time.monotonic() + cfg["deadline"])
    await asyncio.gather(*tasks)
    return {"began": began, "posted": posted, "sockets": results, "errors": errors}


if __name__ == "__main__":
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    result = asyncio.run(main(json.loads(Path(sys.argv[1]).read_text())), loop_factory=loop_factory)
    Path(sys.argv[2]).write_text(json.dumps(result))
