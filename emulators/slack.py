"""A local Slack Web API recorder, plus a signer that plays Slack towards a Bolt app.

`SlackRecorder` is an HTTP server on 127.0.0.1:<free port>. Point slack_sdk's WebClient at
`recorder.api_base` (SLACK_API_BASE) and use `recorder.response_url()` in payloads: every Web API call
(`chat.postMessage`, `views.open`, `files.getUploadURLExternal`, ...) and every `respond()` to a
response_url is recorded and answered with a plausible success body. `fail_next(method, error)` injects
an `{"ok": false}` answer.

`SlackSigner` builds the signed requests Slack sends (slash commands, block actions, view submissions,
events): `x-slack-signature` = v0 HMAC-SHA256 over `v0:{timestamp}:{body}`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    raw: bytes = b""


@dataclass
class SlackRecorder:
    team_id: str = "T0LDP"
    bot_user_id: str = "B0LDPBOT"
    calls: list[ApiCall] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # bodies posted to response_urls
    uploads: dict[str, bytes] = field(default_factory=dict)
    _faults: dict[str, list[str]] = field(default_factory=dict)
    _rate_limits: dict[str, list[int]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    base_url: str = ""

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackRecorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = recorder._dispatch(self.path, self.headers.get("content-type") or "", raw)
                retry_after = body.pop("_retry_after", None) if isinstance(body, dict) else None
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="slack-recorder", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        return f"{self.base_url}/respond/{next(self._ids)}"

    def fail_next(self, method: str, error: str = "internal_error") -> None:
        self._faults.setdefault(method, []).append(error)

    def rate_limit_next(self, method: str, retry_after: int = 1) -> None:
        """The next call of `method` answers like Slack's limiter: HTTP 429, `Retry-After`, error `ratelimited`."""
        self._rate_limits.setdefault(method, []).append(retry_after)

    # --- reading what the app did -------------------------------------------------------------------

    def calls_of(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.01)
        raise TimeoutError("the Slack app did not do the expected thing in time")

    # --- the Web API side ---------------------------------------------------------------------------

    def _parse(self, path: str, content_type: str, raw: bytes) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if "?" in path:
            params.update(dict(parse_qsl(path.split("?", 1)[1])))
        if "json" in content_type and raw:
            params.update(json.loads(raw))
        elif raw and "form" in content_type:
            params.update(dict(parse_qsl(raw.decode())))
        for key in ("blocks", "view", "files", "attachments"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    def _dispatch(self, path: str, content_type: str, raw: bytes) -> tuple[int, Any]:
        route = path.split("?", 1)[0]
        if route.startswith("/respond/"):
            with self._lock:
                self.responses.append(json.loads(raw or b"{}"))
            return 200, b"ok"
        if route.startswith("/upload/"):
            with self._lock:
                self.uploads[route.removeprefix("/upload/")] = raw
            return 200, f"OK - {len(raw)}".encode()
        if not route.startswith("/api/"):
            return 404, {"ok": False, "error": "unknown_path"}
        method = route.removeprefix("/api/")
        params = self._parse(path, content_type, raw)
        with self._lock:
            self.calls.append(ApiCall(method, params, raw))
            faults = self._faults.get(method)
            if faults:
                return 200, {"ok": False, "error": faults.pop(0)}
            limits = self._rate_limits.get(method)
            if limits:
                return 429, {"ok": False, "error": "ratelimited", "_retry_after": limits.pop(0)}
        return 200, self._answer(method, params)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ids)
        ts = f"{int(time.time())}.{n:06d}"
        channel = params.get("channel") or params.get("channel_id") or f"D{n:08d}"
        answers: dict[str, dict[str, Any]] = {
            "auth.test": {"url": "https://ldp.slack.com/", "team": "LDP", "user": "ldp", "team_id": self.team_id,
                          "user_id": "U0LDPBOT", "bot_id": self.bot_user_id},
            "chat.postMessage": {"channel": channel, "ts": ts, "message": {"ts": ts, "text": params.get("text")}},
            "chat.update": {"channel": channel, "ts": params.get("ts") or ts},
            "chat.postEphemeral": {"message_ts": ts},
            "conversations.open": {"channel": {"id": f"D{params.get('users', 'X')}"}},
            "views.open": {"view": {"id": f"V{n:08d}", **(params.get("view") or {})}},
            "views.update": {"view": {"id": params.get("view_id") or f"V{n:08d}", **(params.get("view") or {})}},
            "views.push": {"view": {"id": f"V{n:08d}", **(params.get("view") or {})}},
            "views.publish": {"view": {"id": f"V{n:08d}", **(params.get("view") or {})}},
            "files.getUploadURLExternal": {"upload_url": f"{self.base_url}/upload/F{n:08d}", "file_id": f"F{n:08d}"},
            "files.completeUploadExternal": {"files": [{"id": f["id"], "title": f.get("title", "")}
                                                       for f in (params.get("files") or [])]},
        }
        return {"ok": True, **answers.get(method, {})}


@dataclass
class SlackSigner:
    """Builds what Slack sends to an app: (body, headers), signed with the app's signing secret."""

    signing_secret: str
    team_id: str = "T0LDP"

    def headers(self, body: str, *, timestamp: int | None = None, content_type: str) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(self.signing_secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}", "content-type": content_type}

    def slash_command(self, user_id: str, text: str, *, response_url: str, command: str = "/ldp",
                      channel_id: str = "C0GENERAL", trigger_id: str = "trig.1") -> str:
        return urlencode({
            "token": "x", "team_id": self.team_id, "team_domain": "ldp", "channel_id": channel_id,
            "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(), "command": command,
            "text": text, "response_url": response_url, "trigger_id": trigger_id, "api_app_id": "A0LDP",
        })

    def block_action(self, user_id: str, value: str, *, response_url: str | None, action_id: str = "ldp.0.0",
                     container: dict[str, Any] | None = None, view: dict[str, Any] | None = None,
                     trigger_id: str = "trig.2") -> str:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "ldp"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "A0LDP",
            "token": "x",
            "trigger_id": trigger_id,
            "container": container or {"type": "message", "message_ts": "1.1", "channel_id": "D0001",
                                       "is_ephemeral": True},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b0", "value": value,
                         "action_ts": str(time.time())}],
        }
        if response_url:
            payload["response_url"] = response_url
            payload["channel"] = {"id": "D0001", "name": "directmessage"}
        if view is not None:
            payload["view"] = view
        return urlencode({"payload": json.dumps(payload)})

    def view_submission(self, user_id: str, view: dict[str, Any], values: dict[str, str],
                        view_id: str = "V0FORM") -> str:
        state = {"values": {name: {"value": {"type": "plain_text_input", "value": value}}
                            for name, value in values.items()}}
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "ldp"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "A0LDP",
            "token": "x",
            "trigger_id": "trig.3",
            "view": {**view, "id": view_id, "team_id": self.team_id, "state": state, "hash": "h"},
        }
        return urlencode({"payload": json.dumps(payload)})

    def event(self, event: dict[str, Any]) -> str:
        return json.dumps({
            "token": "x", "team_id": self.team_id, "api_app_id": "A0LDP", "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": event,
        })
