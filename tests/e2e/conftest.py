"""Browser tests: the real ASGI app under uvicorn in a thread, Debian's Chromium driven by
Playwright. The server shares the test database file and the in-memory channel layer."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def _chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is not installed: run the README's test command (make test), which installs it")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The dashboard as `make run` runs it: uvicorn, the embedded sandbox (on a fast clock),
    in-process task workers and the scheduler."""

    def __init__(self, port: int) -> None:
        import uvicorn

        from dashboard.asgi import application

        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(application, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        from dashboard.scheduler import Scheduler
        from dashboard.workers import WorkerThreads

        self.workers = WorkerThreads.in_process(1, interval=0.2)
        self.scheduler = Scheduler()
        self.workers.start()
        self.scheduler.start()
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.scheduler.stop()
        self.workers.stop()


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch) -> None:
    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls (creating users, checking rows) are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def server(transactional_db, settings, request) -> Iterator[LiveServer]:
    from dashboard import asgi
    from dashboard.sandbox.embedded import get_embedded_sandbox

    port = _free_port()
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{port}"
    settings.SANDBOX_URL = f"http://127.0.0.1:{port}/sandbox"
    marker = request.node.get_closest_marker("sandbox_scale")
    # A one-minute call lasts a second by default; live-call tests slow it down to act on it.
    settings.SANDBOX_TIME_SCALE = marker.args[0] if marker else 0.02
    settings.PERIODIC_JOBS = {**settings.PERIODIC_JOBS, "campaigns.tasks.reports_sync_tick": 1.0}
    get_embedded_sandbox.cache_clear()
    asgi._dispatcher._sandbox = None  # a fresh world for every test
    server = LiveServer(port)
    server.start()
    yield server
    server.stop()
    get_embedded_sandbox.cache_clear()
    asgi._dispatcher._sandbox = None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=_chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def login(page, server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
