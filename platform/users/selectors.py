"""Reads for accounts, chat identities and API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import NotFound
from users.models import ApiToken, ChatIdentity, User
from users.tokens import api_token_hash

# last_used_at is informational; writing it on every request would turn each API read into a write.
API_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200


def chat_identity_get(*, surface: str, external_user_id: str, team_id: str = "") -> ChatIdentity | None:
    """The identity of a person on one chat surface, with its user, or None if never seen."""
    return (
        ChatIdentity.objects.select_related("user")
        .filter(surface=surface, team_id=team_id or "", external_user_id=str(external_user_id))
        .first()
    )


def chat_identity_list_for_user(*, user: User) -> QuerySet[ChatIdentity]:
    return ChatIdentity.objects.filter(user=user).order_by("surface", "created_at")


def user_get_by_api_token(*, token: str) -> User | None:
    """The owner of a live (not revoked) API token, or None. Marks the token used (at most once a minute).

    Blocked and pending users are returned: the caller decides how to refuse them with a clear message.
    """
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=api_token_hash(token), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or row.last_used_at < now - API_TOKEN_TOUCH_INTERVAL:
        # One conditional UPDATE, no read-modify-write: concurrent requests cannot clobber each other.
        ApiToken.objects.filter(pk=row.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - API_TOKEN_TOUCH_INTERVAL)
        ).update(last_used_at=now)
    return row.user


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's live tokens, newest first (the hash is never exposed by callers)."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-id")


def api_token_get_for_user(*, user: User, token_id: int) -> ApiToken:
    """One of the user's live tokens. Another user's, a revoked or a missing id is NotFound."""
    try:
        pk = int(token_id)
    except (TypeError, ValueError, OverflowError):
        pk = 0
    token = ApiToken.objects.filter(user=user, pk=pk, revoked_at__isnull=True).first() if 0 < pk < 2**63 else None
    if token is None:
        raise NotFound("No such API token.")
    return token
