"""A very small ASGI request/response layer for the sandbox.

The sandbox answers byte for byte what the provider docs show, so it wants plain
control over status, headers and body and nothing else; it has no business inside
Django's middleware (sessions, CSRF, login) either.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Request", "Response", "Router", "json_response", "read_request", "send_cut_response", "send_response"]


@dataclass
class Request:
    method: str
    path: str  # below the sandbox base, always starting with "/"
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)
    client: tuple[str, int] | None = None

    def query_dict(self) -> dict[str, str]:
        return dict(self.query)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Set by handlers that changed the world, so "commit then drop" only drops those.
    committed: bool = False


def json_response(data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    body = jsonlib.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, [("content-type", "application/json;charset=UTF-8"), *(headers or [])])


def text_response(text: str, status: int = 200, content_type: str = "text/plain;charset=UTF-8") -> Response:
    return Response(status, text.encode(), [("content-type", content_type)])


Handler = Callable[[Request], Awaitable[Response]]


class Router:
    """Routes like ``/jaicp/api/calls/campaign/{token}/addPhones``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self._routes.append((method.upper(), re.compile(regex), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn)
            return fn

        return deco

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """Returns (handler, params, path_exists)."""
        path_exists = False
        for m, regex, handler in self._routes:
            found = regex.match(path)
            if found:
                path_exists = True
                if m == method.upper():
                    return handler, found.groupdict(), True
        return None, {}, path_exists


async def read_request(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], prefix: str) -> Request:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if prefix and path.startswith(prefix):
        path = path[len(prefix):] or "/"
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    query = parse_qsl(scope.get("query_string", b"").decode("utf-8"), keep_blank_values=True)
    return Request(scope["method"], path, query, headers, body, client=scope.get("client"))


Send = Callable[[dict[str, Any]], Awaitable[None]]


def _wire_headers(response: Response, content_length: int) -> list[tuple[bytes, bytes]]:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
               if k.lower() != "content-length"]
    headers.append((b"content-length", str(content_length).encode()))
    return headers


async def send_response(send: Send, response: Response) -> None:
    await send({"type": "http.response.start", "status": response.status,
                "headers": _wire_headers(response, len(response.body))})
    await send({"type": "http.response.body", "body": response.body})


async def send_cut_response(send: Send, response: Response) -> None:
    """Start ``response`` and stop halfway through its body: the headers promise more
    bytes than ever follow, so when the app then raises, the server closes a connection
    whose answer is incomplete, and no client can take it for a whole one. (An empty body
    is promised one byte: at Content-Length 0 the headers alone are a complete answer.)"""
    body = response.body
    await send({"type": "http.response.start", "status": response.status,
                "headers": _wire_headers(response, max(len(body), 1))})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
