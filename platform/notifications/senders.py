"""The three ways out: Telegram (aiogram's Bot), Slack (slack_sdk's WebClient), e-mail (Django's mail API).

Each sender returns the external message id or raises one of four outcomes the outbox acts on:

- RateLimited(retry_after): not delivered; the service said when to come back.
- Temporary: not delivered (connection refused, 5xx, bad token config); retry with backoff.
- Ambiguous: the request may have arrived (timeout, connection dropped mid-request); see the README
  for what the outbox does with it (critical events: retry; others: give up as "unknown").
- Permanent: will never work; `unreachable` means the destination itself is gone (bot blocked, channel
  not found), so the user's notifications to it are switched off.

Rendering is the chat engineer's: chat.telegram.render / chat.slack.render turn the core Screen into a
message; e-mail is the screen's title and text.
"""

from __future__ import annotations

import http.client
import logging
import smtplib
import socket
from urllib.error import URLError

from django.conf import settings
from django.core.mail import EmailMessage

from chat.screens import Screen

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 15


class DeliveryError(Exception):
    """Why a send did not (certainly) succeed. The text is for operators (no secrets in it)."""


class RateLimited(DeliveryError):
    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = max(0.0, float(retry_after))


class Temporary(DeliveryError):
    pass


class Ambiguous(DeliveryError):
    pass


class Permanent(DeliveryError):
    def __init__(self, message: str, *, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


# --- Telegram -------------------------------------------------------------------------------------------

# 400 answers that mean the chat itself is gone, not that our message was malformed.
_TELEGRAM_GONE = ("chat not found", "user not found", "peer_id_invalid", "have no rights to send")


def telegram_send(*, chat_id: str, screen: Screen) -> str:
    """sendMessage to the private chat through aiogram's real Bot (session at TELEGRAM_API_BASE)."""
    from aiogram.exceptions import (
        TelegramBadRequest,
        TelegramForbiddenError,
        TelegramNetworkError,
        TelegramRetryAfter,
        TelegramServerError,
        TelegramUnauthorizedError,
    )
    from aiohttp import ClientConnectorError
    from asgiref.sync import async_to_sync

    from chat.telegram.app import build_bot
    from chat.telegram.render import screen_message_kwargs

    async def send() -> str:
        bot = build_bot()
        bot.session.timeout = SEND_TIMEOUT_SECONDS
        try:
            message = await bot.send_message(chat_id=chat_id, **screen_message_kwargs(screen))
        finally:
            await bot.session.close()
        return str(message.message_id)

    try:
        return async_to_sync(send)()
    except TelegramRetryAfter as error:
        raise RateLimited(f"Telegram 429: {error.message}", error.retry_after) from None
    except TelegramForbiddenError as error:
        raise Permanent(f"Telegram 403: {error.message}", unreachable=True) from None
    except TelegramBadRequest as error:
        gone = any(marker in error.message.lower() for marker in _TELEGRAM_GONE)
        raise Permanent(f"Telegram 400: {error.message}", unreachable=gone) from None
    except TelegramUnauthorizedError:
        raise Temporary("Telegram 401: the bot token was rejected (check TELEGRAM_BOT_TOKEN)") from None
    except TelegramServerError as error:
        raise Temporary(f"Telegram 5xx: {error.message}") from None
    except TelegramNetworkError as error:
        if isinstance(error.__cause__, ClientConnectorError):
            raise Temporary(f"Telegram unreachable: {error.message}") from None
        raise Ambiguous(f"Telegram network error: {error.message}") from None


# --- Slack ----------------------------------------------------------------------------------------------

_SLACK_GONE = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "user_not_found", "user_disabled", "cannot_dm_bot",
    "messages_tab_disabled", "restricted_action",
})
_SLACK_CONFIG = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                           "missing_scope", "no_permission", "team_access_not_granted"})
_SLACK_TEMPORARY = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "team_added_to_org"})


def _slack_retry_after(headers: object) -> float:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if isinstance(headers, dict) else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                break
    return 1.0


def slack_send(*, channel: str, screen: Screen) -> str:
    """chat.postMessage to the DM through slack_sdk's WebClient (base_url=SLACK_API_BASE). Its own retry
    handlers are off: the outbox decides about retries, with a record of each."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from chat.slack.render import screen_message_kwargs

    client = WebClient(
        token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_BASE, timeout=SEND_TIMEOUT_SECONDS,
        retry_handlers=[],
    )
    try:
        response = client.chat_postMessage(channel=channel, **screen_message_kwargs(screen))
    except SlackApiError as error:
        status = getattr(error.response, "status_code", 0)
        code = str((error.response.data or {}).get("error", "")) if isinstance(error.response.data, dict) else ""
        if status == 429 or code == "ratelimited":
            retry_after = _slack_retry_after(error.response.headers)
            raise RateLimited(f"Slack rate limited ({code or status})", retry_after) from None
        if code in _SLACK_GONE:
            raise Permanent(f"Slack: {code}", unreachable=True) from None
        if code in _SLACK_CONFIG:
            raise Temporary(f"Slack: {code} (check SLACK_BOT_TOKEN and the app's scopes)") from None
        if status >= 500 or code in _SLACK_TEMPORARY:
            raise Temporary(f"Slack: {code or status}") from None
        raise Permanent(f"Slack: {code or status}") from None
    except URLError as error:
        reason = error.reason
        if isinstance(reason, ConnectionRefusedError | socket.gaierror):
            raise Temporary(f"Slack unreachable: {reason}") from None
        raise Ambiguous(f"Slack network error: {reason}") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise Ambiguous(f"Slack network error: {type(error).__name__}") from None
    return str(response.get("ts") or "")


# --- e-mail ---------------------------------------------------------------------------------------------


def email_send(*, address: str, subject: str, body: str, message_id: str) -> str:
    """One plain-text e-mail. A stable Message-ID per outbox row lets mail systems drop a rare duplicate."""
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address],
        headers={"Message-ID": message_id},
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        raise Permanent(f"mail server refused the address ({len(error.recipients)} recipient)") from None
    except smtplib.SMTPServerDisconnected as error:
        raise Ambiguous(f"mail server disconnected: {error}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise Temporary(f"mail not sent: {type(error).__name__}: {error}") from None
    return message_id
