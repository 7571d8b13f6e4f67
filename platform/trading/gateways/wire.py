"""Warm raw HTTP/1.1 connections to an exchange, for requests that must leave the process at once.

ccxt builds and signs a request, then hands it to its `fetch` (aiohttp). aiohttp's request path —
building a ClientRequest, taking a pooled connection, writing headers and body — runs *after* the
moment the request may leave, and costs a few hundred microseconds per request even when warm. For a
Ttadak press the two legs are signed ahead, so what is left is: write two prepared byte strings on two
connections that are already open. `WireConnections` keeps such connections for one ccxt client
(same host, TLS when the URL says https), encodes ccxt's signed request into bytes ahead of time,
and reads the answer back into exactly what ccxt's own `fetch` returns (its error handling included),
so the rest of ccxt (`parse_order`, error mapping) runs unchanged.

Scope is deliberately small: HTTP/1.1, one request per connection at a time, identity encoding,
Content-Length or chunked bodies, no proxies (a client with a proxy gets no wire and uses aiohttp).
Connection trouble surfaces as ccxt's `ExchangeNotAvailable` / `RequestTimeout`, as with aiohttp, so
the order layer treats the outcome as unknown and asks the exchange by client order id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async

logger = logging.getLogger(__name__)

MAX_IDLE_SECONDS = 50.0  # older idle connections are replaced: servers drop idle keep-alives (~60 s+)
HEAD_LIMIT = 64 * 1024


class WireError(Exception):
    """The connection failed before a whole answer was read (whether the request arrived is unknown)."""


@dataclass(eq=False)
class WireConnection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    opened_at: float = field(default_factory=time.monotonic)
    used_at: float = field(default_factory=time.monotonic)

    @property
    def usable(self) -> bool:
        return (not self.writer.is_closing() and not self.reader.at_eof()
                and time.monotonic() - self.used_at < MAX_IDLE_SECONDS)

    def write(self, payload: bytes) -> None:
        self.used_at = time.monotonic()
        self.writer.write(payload)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass(frozen=True)
class WireResponse:
    status: int
    reason: str
    headers: dict[str, str]
    text: str
    keep_alive: bool


class WireConnections:
    """Idle keep-alive connections to one exchange host, for one ccxt client."""

    def __init__(self, base_url: str, *, ssl_context: ssl.SSLContext | None = None):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.host_header = parts.netloc
        self.ssl_context = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._idle: list[WireConnection] = []
        self.opened = 0

    # ------------------------------------------------------------------ connections
    def serves(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == self.scheme and parts.hostname == self.host and \
            (parts.port or (443 if parts.scheme == "https" else 80)) == self.port

    @property
    def idle(self) -> int:
        return sum(1 for connection in self._idle if connection.usable)

    def take(self) -> WireConnection | None:
        """An open idle connection, or None (the caller falls back to aiohttp)."""
        while self._idle:
            connection = self._idle.pop()
            if connection.usable:
                return connection
            connection.close()
        return None

    def give_back(self, connection: WireConnection) -> None:
        if connection.usable:
            self._idle.append(connection)
        else:
            connection.close()

    async def open(self, timeout: float = 10.0) -> WireConnection:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                self.host, self.port, ssl=self.ssl_context,
                server_hostname=self.host if self.ssl_context else None), timeout)
        except (OSError, TimeoutError) as error:
            raise WireError(f"cannot connect to {self.host}:{self.port}: {error}") from error
        self.opened += 1
        return WireConnection(reader, writer)

    async def prime(self, count: int, ping_url: str, *, timeout: float = 10.0) -> int:
        """Have `count` idle connections, each proven by a request to `ping_url` (a cheap public GET):
        existing ones are pinged (keeps them alive at the server), missing ones opened. Returns how many."""
        ready: list[WireConnection] = []
        try:
            while len(ready) < count:
                reused = self.take()
                connection = reused or await self.open(timeout)
                try:
                    connection.write(self.encode("GET", ping_url, {"User-Agent": "ldp-wire"}, None))
                    answer = await self.read(connection, timeout)
                except (WireError, TimeoutError) as error:
                    connection.close()
                    if reused is None:
                        raise WireError(f"the ping to {self.host} failed: {error!r}") from error
                    continue  # the server had dropped it: open a fresh one instead
                if answer.status >= 400 or not answer.keep_alive:
                    connection.close()
                    raise WireError(f"the exchange answered the ping with {answer.status}")
                ready.append(connection)
        finally:
            self._idle.extend(ready)
        return len(ready)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    # ------------------------------------------------------------------ HTTP/1.1
    def encode(self, method: str, url: str, headers: dict[str, Any] | None, body: str | bytes | None) -> bytes:
        if not self.serves(url):
            raise ValueError("the URL is not on this connection's host")
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        payload = body.encode() if isinstance(body, str) else (body or b"")
        lines = [f"{method.upper()} {target} HTTP/1.1", f"Host: {self.host_header}"]
        for name, value in (headers or {}).items():
            if name.lower() in ("host", "content-length", "connection", "accept-encoding", "transfer-encoding"):
                continue
            if "\r" in f"{name}{value}" or "\n" in f"{name}{value}":
                raise ValueError("header with a line break")
            lines.append(f"{name}: {value}")
        lines += ["Accept-Encoding: identity", "Connection: keep-alive"]
        if payload or method.upper() in ("POST", "PUT", "DELETE"):
            lines.append(f"Content-Length: {len(payload)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload

    async def read(self, connection: WireConnection, timeout: float) -> WireResponse:
        """Read one answer from `connection` (then idle again unless the server closes it)."""
        try:
            async with asyncio.timeout(timeout):
                return await self._read(connection)
        except TimeoutError:
            connection.close()
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            connection.close()
            raise WireError(f"connection to {self.host} failed: {error!r}") from error

    async def _read(self, connection: WireConnection) -> WireResponse:
        reader = connection.reader
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HEAD_LIMIT:
            raise ValueError("response head too long")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, status, *reason = status_line.split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x answer: {status_line!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        lowered = {name.lower(): value for name, value in headers.items()}
        if lowered.get("content-encoding", "identity").lower() != "identity":
            raise ValueError("the exchange sent an encoded body although identity was asked for")
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader)
        elif "content-length" in lowered:
            body = await reader.readexactly(int(lowered["content-length"]))
        else:
            body = await reader.read()  # delimited by the close
        keep_alive = lowered.get("connection", "").lower() != "close" and version == "HTTP/1.1" and \
            not reader.at_eof() and ("content-length" in lowered or "chunked" in lowered.get("transfer-encoding", ""))
        if not keep_alive:
            connection.close()
        connection.used_at = time.monotonic()
        return WireResponse(int(status), reason[0] if reason else "", headers,
                            body.decode("utf-8", errors="replace"), keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


# ---------------------------------------------------------------------- ccxt glue
def wire_for(client: Any, base_url: str) -> WireConnections | None:
    """The client's wire connections (made on first use), or None when it must keep using aiohttp
    (a proxy is configured, or the URL is not plain http(s))."""
    existing = getattr(client, "_ldp_wire", None)
    if existing is not None:
        return existing
    proxies = ("proxy", "proxyUrl", "proxy_url", "httpProxy", "http_proxy", "httpsProxy", "https_proxy",
               "socksProxy", "socks_proxy", "aiohttp_proxy")
    if any(getattr(client, name, None) for name in proxies):
        return None
    try:
        wire = WireConnections(base_url, ssl_context=getattr(client, "ssl_context", None))
    except ValueError:
        return None
    client._ldp_wire = wire
    closing = client.close

    async def close() -> None:  # closing the client closes its wire connections too
        wire.close()
        await closing()

    client.close = close
    return wire


def ccxt_result(client: Any, answer: WireResponse, *, url: str, method: str, request_headers: dict[str, Any],
                request_body: Any) -> Any:
    """What ccxt's async `fetch` returns for this answer, raising what it raises (same steps)."""
    text = client.on_rest_response(answer.status, answer.reason, url, method, answer.headers, answer.text,
                                   request_headers, request_body)
    json_response = client.parse_json(text)
    if client.enableLastHttpResponse:
        client.last_http_response = text
    if client.enableLastResponseHeaders:
        client.last_response_headers = answer.headers
    if client.enableLastJsonResponse:
        client.last_json_response = json_response
    if json_response and not isinstance(json_response, list) and client.returnResponseHeaders:
        json_response["responseHeaders"] = answer.headers
    client.handle_errors(answer.status, answer.reason, url, method, answer.headers, text, json_response,
                         request_headers, request_body)
    client.handle_http_status_code(answer.status, answer.reason, url, method, text)
    if json_response is not None:
        return json_response
    return text


async def ccxt_complete(client: Any, wire: WireConnections, connection: WireConnection, *, url: str, method: str,
                        request_headers: dict[str, Any], request_body: Any) -> Any:
    """Read the answer to a request already written on `connection` and finish it like ccxt's fetch."""
    details = f"{client.id} {method} {url}"
    try:
        answer = await wire.read(connection, client.timeout / 1000)
    except TimeoutError as error:
        raise ccxt_async.RequestTimeout(details) from error
    except WireError as error:
        raise ccxt_async.ExchangeNotAvailable(details) from error
    if answer.keep_alive:
        wire.give_back(connection)
    return ccxt_result(client, answer, url=url, method=method, request_headers=request_headers,
                       request_body=request_body)
