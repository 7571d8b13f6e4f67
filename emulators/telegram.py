"""A local Telegram Bot API server (aiohttp) for tests and demos: aiogram's real HTTP session talks to it.

It plays both sides of Telegram: the API the bot calls (`POST /bot<token>/<method>`, form-encoded or
multipart, answers `{"ok": true, "result": ...}`), and the people who write to the bot — `user(...).send()`
and `.press()` queue updates that the bot receives through a long-polling `getUpdates`. Every call is
recorded; sent messages are kept with their edits applied, so a test reads a chat like a person would.

Faithful where it matters to a bot: 64-byte callback data, 4096-character messages, "message is not
modified" on an identical edit, "message to edit not found", deleted messages, and injected errors (e.g. a
429 with retry_after).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64


@dataclass
class Call:
    """One Bot API method call as the bot made it; JSON-valued fields are decoded."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class SentMessage:
    """A message in a chat, as it looks now (after edits)."""

    chat_id: int
    message_id: int
    text: str = ""
    reply_markup: dict[str, Any] | None = None
    photo: bytes | None = None
    from_bot: bool = True
    deleted: bool = False
    edits: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def button(self, label: str) -> dict[str, Any]:
        for button in self.buttons:
            if button.get("text") == label or button.get("text", "").startswith(label):
                return button
        raise LookupError(f"no button {label!r} in {[b.get('text') for b in self.buttons]}")


_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span",
              "blockquote", "tg-emoji"}


class _Entities(HTMLParser):
    """Telegram's HTML parse mode: a few tags, balanced; the user sees the text without them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: Unsupported start tag \"{tag}\"")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            raise ApiError(400, f"Bad Request: can't parse entities: Unmatched end tag \"{tag}\"")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible_text(text: str, parse_mode: str | None) -> str:
    if (parse_mode or "").upper() != "HTML":
        return text
    parser = _Entities()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise ApiError(400, f"Bad Request: can't parse entities: Can't find end tag for \"{parser.open[-1]}\"")
    return "".join(parser.text)


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


_JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "caption_entities", "commands", "link_preview_options",
                "reply_parameters", "media"}


class TelegramEmulator:
    """Run with `await emu.start()` (binds 127.0.0.1 on a free port) and point aiogram at `emu.base_url`."""

    def __init__(self, token: str = "123456:TEST-TOKEN", *, bot_username: str = "ldp_test_bot"):
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.bot_username = bot_username
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._callback_ids = itertools.count(1)
        self._faults: dict[str, list[ApiError]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.base_url = ""

    # --- lifecycle --------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.base_url

    async def stop(self) -> None:
        self._closing = True  # release held getUpdates so shutdown does not wait for their timeout
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- the people's side ------------------------------------------------------------------------------

    def user(self, user_id: int, *, first_name: str = "Test", username: str = "", chat_id: int | None = None,
             chat_type: str = "private", chat_title: str = "") -> EmulatedUser:
        return EmulatedUser(self, user_id, first_name, username, chat_id if chat_id is not None else user_id,
                            chat_type, chat_title)

    def fail_next(self, method: str, code: int = 500, description: str = "Internal Server Error",
                  retry_after: int | None = None) -> None:
        """The next call of `method` answers with this error (e.g. 429 + retry_after)."""
        self._faults.setdefault(method, []).append(ApiError(code, description, retry_after))

    def _push_update(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- reading the chats ------------------------------------------------------------------------------

    def chat(self, chat_id: int) -> list[SentMessage]:
        return [m for (cid, _), m in sorted(self.messages.items()) if cid == chat_id and not m.deleted]

    def last_message(self, chat_id: int) -> SentMessage:
        sent = [m for m in self.chat(chat_id) if m.from_bot]
        if not sent:
            raise LookupError(f"the bot sent nothing to chat {chat_id}")
        return sent[-1]

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until `predicate()` is truthy (checked on every API call); return its value."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot did not do the expected thing in time")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_calls(self, count: int, method: str | None = None, timeout: float = 10.0) -> list[Call]:
        """Wait until there are at least `count` calls (of `method`) in total; return them."""
        return await self.wait_for(
            lambda: (calls if len(calls := [c for c in self.calls if method in (None, c.method)]) >= count else None),
            timeout,
        )

    # --- the Bot API side -------------------------------------------------------------------------------

    async def _parse(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if hasattr(value, "file"):
                    files[key] = value.file.read()
                else:
                    params[key] = value
        params.update({k: v for k, v in request.query.items() if k not in params})
        # aiogram sends files as `photo=attach://<name>` plus a part named <name>.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                files[key] = files.pop(value[9:])
        for key in _JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await self._parse(request)
        if method != "getUpdates":
            self.calls.append(Call(method, params, files))
        try:
            faults = self._faults.get(method)
            if faults:
                raise faults.pop(0)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params, files)
        except ApiError as error:
            body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            await self._notify()
            return web.json_response(body, status=error.code)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "L&D Platform", "username": self.bot_username}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": self._chat(message.chat_id),
            "from": self._bot_user(),
        }
        if message.photo is not None:
            data["photo"] = [{"file_id": f"photo-{message.message_id}", "file_unique_id": f"u{message.message_id}",
                              "width": 800, "height": 400, "file_size": len(message.photo)}]
            if message.text:
                data["caption"] = message.text
        elif message.text:
            data["text"] = message.text
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _check_markup(self, markup: Any) -> dict[str, Any] | None:
        if not markup:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _find(self, params: dict[str, Any]) -> SentMessage:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    async def _m_getMe(self, params: dict, files: dict) -> dict[str, Any]:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_getUpdates(self, params: dict, files: dict) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = min(float(params.get("timeout") or 0), 50.0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self._updates and not self._closing and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        return self._updates[: int(params.get("limit") or 100)]

    async def _m_deleteWebhook(self, params: dict, files: dict) -> bool:
        return True

    async def _m_setWebhook(self, params: dict, files: dict) -> bool:
        return True

    async def _m_setMyCommands(self, params: dict, files: dict) -> bool:
        return True

    async def _m_sendChatAction(self, params: dict, files: dict) -> bool:
        return True

    async def _m_sendMessage(self, params: dict, files: dict) -> dict[str, Any]:
        text = visible_text(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        markup = self._check_markup(params.get("reply_markup"))
        message = SentMessage(chat_id, self._next_message_id(chat_id), text, markup)
        self.messages[(chat_id, message.message_id)] = message
        return self._message_json(message)

    async def _m_sendPhoto(self, params: dict, files: dict) -> dict[str, Any]:
        photo = files.get("photo")
        if photo is None:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        caption = visible_text(str(params.get("caption") or ""), params.get("parse_mode"))
        if len(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        chat_id = int(params["chat_id"])
        message = SentMessage(chat_id, self._next_message_id(chat_id), caption,
                              self._check_markup(params.get("reply_markup")), photo=photo)
        self.messages[(chat_id, message.message_id)] = message
        return self._message_json(message)

    async def _m_editMessageText(self, params: dict, files: dict) -> dict[str, Any]:
        message = self._find(params)
        text = visible_text(str(params.get("text") or ""), params.get("parse_mode"))
        markup = self._check_markup(params.get("reply_markup"))
        if message.photo is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        message.text, message.reply_markup = text, markup
        message.edits += 1
        return self._message_json(message)

    async def _m_editMessageReplyMarkup(self, params: dict, files: dict) -> dict[str, Any]:
        message = self._find(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(message)

    async def _m_deleteMessage(self, params: dict, files: dict) -> bool:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    async def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id in self.callback_answers:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.callback_answers[query_id] = params
        return True


@dataclass
class EmulatedUser:
    """A person writing to the bot (in a private chat, or a group when chat_id < 0)."""

    emulator: TelegramEmulator
    user_id: int
    first_name: str
    username: str
    chat_id: int
    chat_type: str
    chat_title: str

    def _from(self) -> dict[str, Any]:
        data = {"id": self.user_id, "is_bot": False, "first_name": self.first_name, "language_code": "en"}
        if self.username:
            data["username"] = self.username
        return data

    def _chat(self) -> dict[str, Any]:
        if self.chat_type == "private":
            return {"id": self.chat_id, "type": "private", "first_name": self.first_name}
        return {"id": self.chat_id, "type": self.chat_type, "title": self.chat_title or "Group"}

    def send(self, text: str) -> int:
        """Type a message (commands included); returns its message id."""
        emulator = self.emulator
        message_id = emulator._next_message_id(self.chat_id)
        emulator.messages[(self.chat_id, message_id)] = SentMessage(self.chat_id, message_id, text, from_bot=False)
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(),
                                   "from": self._from(), "text": text}
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        emulator._push_update({"message": message})
        return message_id

    def press(self, message: SentMessage, label: str) -> str:
        """Press a button of a bot message by its label; returns the callback query id."""
        return self.press_data(message, message.button(label)["callback_data"])

    def press_data(self, message: SentMessage, data: str) -> str:
        """Send a callback query with any data (also forged data, for security tests)."""
        query_id = str(next(self.emulator._callback_ids))
        origin = self.emulator._message_json(message)
        origin["chat"] = self._chat()
        self.emulator._push_update({"callback_query": {"id": query_id, "from": self._from(),
                                                       "chat_instance": f"ci{self.chat_id}", "data": data,
                                                       "message": origin}})
        return query_id
