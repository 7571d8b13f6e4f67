"""Writes for accounts: chat sign-up, identity linking, settings, approval, API tokens."""

from __future__ import annotations

import logging
import re
import zoneinfo
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone as dj_timezone

from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from users.models import ApiToken, ChatIdentity, ChatSurface, LinkCode, User, UserStatus
from users.tokens import (
    API_TOKEN_DISPLAY_CHARS,
    api_token_generate,
    api_token_hash,
    link_code_generate,
    link_code_hash,
    link_code_normalize,
)

logger = logging.getLogger(__name__)

LINK_CODE_TTL = timedelta(minutes=10)
MAX_LIVE_API_TOKENS = 20
_ID_RE = re.compile(r"^\S{1,64}$")


def user_require_active(user: User) -> None:
    """Only active accounts may act (subscribe, trade, use the API); the message says why not."""
    if user.status == UserStatus.BLOCKED:
        raise PermissionDenied("This account is blocked. Contact support.")
    if user.status == UserStatus.PENDING:
        raise PermissionDenied("Your account is waiting for operator approval.")


def _clean_chat_field(value: object, *, field: str, required: bool) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise ValidationError(f"{field} is required", field=field)
        return ""
    if not _ID_RE.match(text):
        raise ValidationError(f"{field} must be 1–64 characters without spaces", field=field)
    return text


def _signup_status() -> str:
    return UserStatus.PENDING if settings.SIGNUP_REQUIRES_APPROVAL else UserStatus.ACTIVE


def _username_for(surface: str, team_id: str, external_user_id: str) -> str:
    base = f"{surface}-{team_id}-{external_user_id}" if team_id else f"{surface}-{external_user_id}"
    base = base[:140]
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def chat_user_get_or_create(
    *, surface: str, external_user_id: str, team_id: str = "", chat_id: str = "", username: str = ""
) -> tuple[User, ChatIdentity, bool]:
    """The account behind a chat person; creates user + identity on first contact (created=True).

    New users are `pending` when SIGNUP_REQUIRES_APPROVAL is on, else `active`. The identity's chat_id
    and username are refreshed when the surface reports new values. Safe under concurrent first messages.
    """
    if surface not in ChatSurface.values:
        raise ValidationError(f"unknown chat surface {surface!r}", field="surface")
    external_user_id = _clean_chat_field(external_user_id, field="external_user_id", required=True)
    team_id = _clean_chat_field(team_id, field="team_id", required=False)
    chat_id = _clean_chat_field(chat_id, field="chat_id", required=False)
    username = ("" if username is None else str(username).strip())[:150]

    identity = _identity_refresh(surface, team_id, external_user_id, chat_id=chat_id, username=username)
    if identity is not None:
        return identity.user, identity, False
    try:
        with transaction.atomic():
            user = User(username=_username_for(surface, team_id, external_user_id), status=_signup_status())
            user.set_unusable_password()
            user.save()
            identity = ChatIdentity.objects.create(
                user=user,
                surface=surface,
                team_id=team_id,
                external_user_id=external_user_id,
                chat_id=chat_id,
                username=username,
            )
    except IntegrityError:
        # Two first messages raced; the other one created the identity.
        identity = _identity_refresh(surface, team_id, external_user_id, chat_id=chat_id, username=username)
        if identity is None:
            raise
        return identity.user, identity, False
    logger.info("new %s user %s (status %s)", surface, user.pk, user.status)
    return user, identity, True


def _identity_refresh(
    surface: str, team_id: str, external_user_id: str, *, chat_id: str, username: str
) -> ChatIdentity | None:
    identity = (
        ChatIdentity.objects.select_related("user")
        .filter(surface=surface, team_id=team_id, external_user_id=external_user_id)
        .first()
    )
    if identity is None:
        return None
    changed = []
    if chat_id and identity.chat_id != chat_id:
        identity.chat_id = chat_id
        changed.append("chat_id")
    if username and identity.username != username:
        identity.username = username
        changed.append("username")
    if changed:
        identity.save(update_fields=[*changed, "updated_at"])
    return identity


@transaction.atomic
def link_code_create(*, user: User) -> str:
    """A one-time code (shown once, valid 10 minutes) that joins another chat identity to this account.

    Earlier unused codes of the user stop working: only the newest code is live.
    """
    if user.status == UserStatus.BLOCKED:
        raise PermissionDenied("This account is blocked; it cannot link new chats.")
    now = dj_timezone.now()
    LinkCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    code = link_code_generate()
    LinkCode.objects.create(user=user, code_hash=link_code_hash(code), expires_at=now + LINK_CODE_TTL)
    return code


_INVALID_CODE = "That link code is wrong, already used or expired. Create a new one in the chat you started in."


@transaction.atomic
def link_code_redeem(*, identity: ChatIdentity, code: str) -> User:
    """Move `identity` to the account that created `code`; returns that account.

    Refused (ValidationError, nothing changed) for a wrong, used or expired code, for a blocked account
    on either side, and when the identity's current account already has bots, keys or funds of its own
    (they would be orphaned). An empty placeholder account left behind is deleted.
    """
    normalized = link_code_normalize(code or "")
    if not normalized or len(normalized) > 32:
        raise ValidationError(_INVALID_CODE, field="code")
    row = (
        LinkCode.objects.select_for_update()
        .select_related("user")
        .filter(code_hash=link_code_hash(normalized))
        .first()
    )
    now = dj_timezone.now()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise ValidationError(_INVALID_CODE, field="code")
    identity = ChatIdentity.objects.select_for_update().select_related("user").get(pk=identity.pk)
    target, previous = row.user, identity.user
    if target.pk == previous.pk:
        raise ValidationError("This chat is already linked to that account.", field="code")
    if target.status == UserStatus.BLOCKED or previous.status == UserStatus.BLOCKED:
        raise ValidationError("A blocked account cannot be linked. Contact support.", field="code")
    if _user_has_own_data(previous):
        raise ValidationError(
            "This chat's account already has bots, exchange keys or funds of its own, so it cannot be "
            "merged automatically. Contact support to combine the accounts.",
            field="code",
        )
    identity.user = target
    identity.save(update_fields=["user", "updated_at"])
    row.used_at = now
    row.used_by = identity
    row.save(update_fields=["used_at", "used_by", "updated_at"])
    if _is_empty_placeholder(previous):
        previous.delete()
    logger.info("chat identity %s linked to user %s", identity.pk, target.pk)
    return target


def _user_has_own_data(user: User) -> bool:
    return (
        user.subscribed_bots.exists()
        or user.fund_subscriptions.exists()
        or user.exchange_settings.exists()
        or user.api_tokens.filter(revoked_at__isnull=True).exists()
    )


def _is_empty_placeholder(user: User) -> bool:
    """An account made only by a first chat message: no other identity, no password, not staff."""
    return (
        not user.is_staff
        and not user.is_superuser
        and not user.has_usable_password()
        and not user.chat_identities.exists()
        and not _user_has_own_data(user)
    )


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@transaction.atomic
def user_settings_update(*, user: User, email: str | None = None, timezone: str | None = None) -> User:
    """Change account settings. `None` leaves a field alone; an empty e-mail removes it."""
    fields: list[str] = []
    if email is not None:
        email = str(email).strip()
        if email:
            if len(email) > 254:
                raise ValidationError("email: at most 254 characters", field="email")
            try:
                validate_email(email)
            except DjangoValidationError:
                raise ValidationError(f"email: {email[:60]!r} is not a valid e-mail address", field="email") from None
        user.email = email
        fields.append("email")
    if timezone is not None:
        name = str(timezone).strip()
        if name not in _timezones():
            raise ValidationError(
                f"timezone: {name[:60]!r} is not a known IANA time zone (e.g. Europe/Berlin, Asia/Seoul, UTC)",
                field="timezone",
            )
        user.timezone = name
        fields.append("timezone")
    if fields:
        user.save(update_fields=fields)
    return user


@transaction.atomic
def user_live_trading_confirm(*, user: User) -> User:
    """Record that the user acknowledged the risks of live trading (needed before any live run)."""
    if user.status != UserStatus.ACTIVE:
        raise PermissionDenied("Only active accounts can enable live trading.")
    if user.live_trading_confirmed_at is None:
        user.live_trading_confirmed_at = dj_timezone.now()
        user.save(update_fields=["live_trading_confirmed_at"])
    return user


@transaction.atomic
def user_approve(*, user: User) -> User:
    """Operator: let a pending (or blocked) account use the platform."""
    if user.status != UserStatus.ACTIVE:
        user.status = UserStatus.ACTIVE
        user.save(update_fields=["status"])
        logger.info("user %s approved", user.pk)
        from notifications.hooks import account_approved_notify  # the user hears it in chat (outbox)

        account_approved_notify(user=user)
    return user


BLOCKED_STOP_REASON = "Your account was blocked by an operator."


@transaction.atomic
def user_block(*, user: User) -> User:
    """Operator: lock an account out of chat and the API, and stop its running bots. Its rows stay for audit.

    In the same transaction every bot of the account in `starting`/`running` is asked to stop
    (bots.runtime.services.bot_stop_request: closing or keeping its position as the bot's own
    close_position_on_stop setting says), and the user gets one notification naming them. Blocking a
    blocked account again only stops what might still run.
    """
    if user.is_superuser:
        raise Conflict("Superusers cannot be blocked; remove the superuser flag first.")
    newly_blocked = user.status != UserStatus.BLOCKED
    if newly_blocked:
        user.status = UserStatus.BLOCKED
        user.save(update_fields=["status"])
    stopped = _running_bots_stop(user, reason=BLOCKED_STOP_REASON)
    if newly_blocked or stopped:
        from notifications.hooks import account_blocked_notify  # the user hears it in chat (outbox)

        account_blocked_notify(user=user, stopped=stopped)
        logger.info("user %s blocked; %d running bot(s) stopping", user.pk, len(stopped))
    return user


def _running_bots_stop(user: User, *, reason: str) -> list[tuple[str, bool]]:
    """Ask every starting/running bot of `user` to stop (locked rows); returns (bot name, close position?)."""
    # Imported here: bots and the runtime import users.services.
    from bots.models import BotState, SubscribedBot
    from bots.runtime.services import bot_stop_request
    from bots.selectors import subscribed_bot_effective_settings

    rows = (
        SubscribedBot.objects.select_for_update(of=("self",))
        .select_related("bot")
        .filter(user=user, state__in=(BotState.STARTING, BotState.RUNNING))
        .order_by("pk")
    )
    stopped = []
    for subscribed_bot in rows:
        settings_now = subscribed_bot_effective_settings(subscribed_bot=subscribed_bot)
        close = bool(settings_now.get("close_position_on_stop", True))
        bot_stop_request(subscribed_bot, reason=reason, close_position=close)
        stopped.append((subscribed_bot.bot.name, close))
    return stopped


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token; returns the row and the plaintext, which is shown once and never stored."""
    if user.status != UserStatus.ACTIVE:
        raise PermissionDenied("Only active accounts can create API tokens.")
    name = ("" if name is None else str(name)).strip()
    if not name:
        raise ValidationError("name: give the token a name, e.g. 'laptop script'", field="name")
    if len(name) > 100:
        raise ValidationError("name: at most 100 characters", field="name")
    live = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
    if len(live) >= MAX_LIVE_API_TOKENS:
        raise Conflict(f"You already have {MAX_LIVE_API_TOKENS} API tokens; revoke one first.")
    plaintext = api_token_generate()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plaintext[:API_TOKEN_DISPLAY_CHARS], token_hash=api_token_hash(plaintext)
    )
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (idempotent). Another user's token id is NotFound."""
    try:
        pk = int(token_id)
    except (TypeError, ValueError, OverflowError):
        pk = 0
    token = ApiToken.objects.select_for_update().filter(user=user, pk=pk).first() if 0 < pk < 2**63 else None
    if token is None:
        raise NotFound("No such API token.")
    if token.revoked_at is None:
        token.revoked_at = dj_timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
    return token
