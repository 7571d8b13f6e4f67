"""Reads: a user's effective preferences, where their notifications can go, and their recent notifications."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet

from notifications import catalog
from notifications.models import Channel, Notification, NotificationPreference
from users.models import ChatIdentity, ChatSurface, User

PUSH_SURFACES = (ChatSurface.TELEGRAM, ChatSurface.SLACK)


def channel_configured(channel: str) -> bool:
    """Can this server deliver on `channel` at all (a bot token is set; e-mail always can)?"""
    if channel == Channel.TELEGRAM:
        return bool(settings.TELEGRAM_BOT_TOKEN)
    if channel == Channel.SLACK:
        return bool(settings.SLACK_BOT_TOKEN)
    return channel == Channel.EMAIL


def chat_address(identity: ChatIdentity) -> str:
    """Where a chat notification goes: the private chat (Telegram chat id / Slack DM channel). A Slack user
    id works too (Slack opens the app's DM), so a Slack identity without a stored channel is reachable."""
    if identity.surface == ChatSurface.SLACK:
        return identity.chat_id or identity.external_user_id
    return identity.chat_id


@dataclass(frozen=True)
class Destination:
    """A place a user's notifications can go."""

    channel: str
    label: str
    enabled: bool
    available: bool  # the server can deliver there now (surface configured, address known)
    identity_id: int | None = None
    off_reason: str = ""  # chats: "user" (muted), "operator", "unreachable" (comes back when the user writes)


@dataclass
class Preferences:
    """Effective choices: `matrix[event][channel]` (explicit rows over the defaults)."""

    matrix: dict[str, dict[str, bool]]
    destinations: list[Destination] = field(default_factory=list)

    def enabled(self, event: str, channel: str) -> bool:
        return self.matrix.get(event, {}).get(channel, False)


def preference_overrides_for_users(*, user_ids: Iterable[int]) -> dict[int, dict[tuple[str, str], bool]]:
    """Explicit choices of many users in one query: {user_id: {(event, channel): enabled}}."""
    overrides: dict[int, dict[tuple[str, str], bool]] = {}
    rows = NotificationPreference.objects.filter(user_id__in=list(user_ids)).values_list(
        "user_id", "event", "channel", "enabled"
    )
    for user_id, event, channel, enabled in rows:
        overrides.setdefault(user_id, {})[(event, channel)] = enabled
    return overrides


def preference_enabled(overrides: dict[tuple[str, str], bool], event: str, channel: str) -> bool:
    return overrides.get((event, channel), catalog.default_enabled(event, channel))


def notification_identities_for_users(*, user_ids: Iterable[int]) -> dict[int, list[ChatIdentity]]:
    """Chat identities that take notifications (push surfaces, not switched off), per user, in one query."""
    result: dict[int, list[ChatIdentity]] = {}
    rows = ChatIdentity.objects.filter(
        user_id__in=list(user_ids), surface__in=PUSH_SURFACES, notifications_enabled=True
    ).order_by("id")
    for identity in rows:
        if chat_address(identity):
            result.setdefault(identity.user_id, []).append(identity)
    return result


def _identity_label(identity: ChatIdentity) -> str:
    name = f"@{identity.username}" if identity.username else identity.external_user_id
    return f"{identity.get_surface_display()} {name}"


def notification_destinations_for_user(*, user: User) -> list[Destination]:
    destinations = [
        Destination(
            channel=identity.surface,
            label=_identity_label(identity),
            enabled=identity.notifications_enabled,
            available=channel_configured(identity.surface) and bool(chat_address(identity)),
            identity_id=identity.pk,
            off_reason="" if identity.notifications_enabled else identity.notifications_off_reason,
        )
        for identity in ChatIdentity.objects.filter(user=user, surface__in=PUSH_SURFACES).order_by("id")
    ]
    destinations.append(
        Destination(
            channel=Channel.EMAIL,
            label=f"E-mail {user.email}" if user.email else "E-mail (no address set)",
            enabled=bool(user.email),
            available=bool(user.email),
        )
    )
    return destinations


def notification_preferences_get(*, user: User) -> Preferences:
    """The user's effective preferences for every event and channel, and their destinations."""
    overrides = preference_overrides_for_users(user_ids=[user.pk]).get(user.pk, {})
    matrix = {
        info.event: {channel: preference_enabled(overrides, info.event, channel) for channel in Channel.values}
        for info in catalog.events()
    }
    return Preferences(matrix=matrix, destinations=notification_destinations_for_user(user=user))


def notification_list_for_user(*, user: User, limit: int = 20) -> QuerySet[Notification]:
    """The user's latest notifications, newest first (with their deliveries)."""
    limit = max(1, min(int(limit), 100))
    return Notification.objects.filter(user=user).prefetch_related("messages").order_by("-created_at", "-id")[:limit]
