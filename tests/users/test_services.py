"""Accounts: chat sign-up, linking identities with one-time codes, settings, approval, API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import BotFactory, SubscribedBotFactory, UserFactory
from users import selectors, services
from users.models import ApiToken, ChatIdentity, ChatSurface, LinkCode, User, UserStatus

pytestmark = pytest.mark.django_db


def _telegram(external_user_id: str = "111", **kwargs):
    return services.chat_user_get_or_create(surface=ChatSurface.TELEGRAM, external_user_id=external_user_id, **kwargs)


def _slack(external_user_id: str = "U111", team_id: str = "T1", **kwargs):
    return services.chat_user_get_or_create(
        surface=ChatSurface.SLACK, external_user_id=external_user_id, team_id=team_id, **kwargs
    )


# --- chat sign-up -------------------------------------------------------------------------------------


def test_first_chat_message_creates_user_and_identity_then_reuses_them() -> None:
    user, identity, created = _telegram("42", chat_id="42", username="alice")
    assert created and identity.user == user and user.status == UserStatus.ACTIVE
    assert not user.has_usable_password()

    again, identity_again, created_again = _telegram("42", chat_id="42", username="alice")
    assert not created_again and again == user and identity_again == identity
    assert User.objects.count() == 1 and ChatIdentity.objects.count() == 1


def test_new_chat_user_is_pending_when_signup_requires_approval(settings) -> None:
    settings.SIGNUP_REQUIRES_APPROVAL = True
    user, _, created = _telegram("7")
    assert created and user.status == UserStatus.PENDING


def test_chat_identity_refreshes_chat_id_and_username() -> None:
    _, identity, _ = _telegram("5", chat_id="5", username="old")
    _telegram("5", chat_id="6", username="new")
    identity.refresh_from_db()
    assert (identity.chat_id, identity.username) == ("6", "new")


def test_same_external_id_on_different_slack_teams_are_different_people() -> None:
    a, _, _ = _slack("U1", team_id="T1")
    b, _, _ = _slack("U1", team_id="T2")
    assert a != b


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65, "has space"])
def test_chat_sign_up_rejects_bad_external_ids(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        _telegram(bad)
    assert info.value.field == "external_user_id"
    assert User.objects.count() == 0


def test_chat_sign_up_rejects_unknown_surface() -> None:
    with pytest.raises(ValidationError):
        services.chat_user_get_or_create(surface="irc", external_user_id="1")


def test_chat_identity_get_finds_identity_by_surface_and_team() -> None:
    _, identity, _ = _slack("U9", team_id="T9")
    assert selectors.chat_identity_get(surface="slack", external_user_id="U9", team_id="T9") == identity
    assert selectors.chat_identity_get(surface="slack", external_user_id="U9", team_id="T8") is None


# --- link codes -----------------------------------------------------------------------------------------


def test_link_code_joins_slack_identity_to_telegram_account() -> None:
    tg_user, tg_identity, _ = _telegram("1001")
    slack_placeholder, slack_identity, _ = _slack("U1001")
    code = services.link_code_create(user=tg_user)

    linked = services.link_code_redeem(identity=slack_identity, code=code)

    assert linked == tg_user
    slack_identity.refresh_from_db()
    assert slack_identity.user == tg_user
    assert set(tg_user.chat_identities.all()) == {tg_identity, slack_identity}
    # The empty account the first Slack message created is gone.
    assert not User.objects.filter(pk=slack_placeholder.pk).exists()


def test_link_code_is_accepted_as_people_type_it() -> None:
    user, _, _ = _telegram("1")
    _, slack_identity, _ = _slack("U1")
    code = services.link_code_create(user=user)
    assert services.link_code_redeem(identity=slack_identity, code=f"  {code.replace('-', '').lower()} ") == user


def test_replayed_link_code_is_refused_and_changes_nothing() -> None:
    user, _, _ = _telegram("1")
    _, first, _ = _slack("U1")
    other_user, second, _ = _slack("U2")
    code = services.link_code_create(user=user)
    services.link_code_redeem(identity=first, code=code)

    with pytest.raises(ValidationError):
        services.link_code_redeem(identity=second, code=code)
    second.refresh_from_db()
    assert second.user == other_user


def test_expired_link_code_is_refused_and_changes_nothing() -> None:
    user, _, _ = _telegram("1")
    other_user, identity, _ = _slack("U1")
    code = services.link_code_create(user=user)
    LinkCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ValidationError):
        services.link_code_redeem(identity=identity, code=code)
    identity.refresh_from_db()
    assert identity.user == other_user
    assert LinkCode.objects.get().used_at is None


@pytest.mark.parametrize("wrong", ["", "AAAA-AAAA", "x" * 500, "🙂🙂", "\udcff"])
def test_wrong_link_code_is_refused(wrong: str) -> None:
    user, _, _ = _telegram("1")
    services.link_code_create(user=user)
    other_user, identity, _ = _slack("U1")
    with pytest.raises(ValidationError) as info:
        services.link_code_redeem(identity=identity, code=wrong)
    assert info.value.field == "code"
    identity.refresh_from_db()
    assert identity.user == other_user


def test_new_link_code_replaces_the_previous_one() -> None:
    user, _, _ = _telegram("1")
    _, identity, _ = _slack("U1")
    old = services.link_code_create(user=user)
    new = services.link_code_create(user=user)
    with pytest.raises(ValidationError):
        services.link_code_redeem(identity=identity, code=old)
    assert services.link_code_redeem(identity=identity, code=new) == user


def test_link_code_expires_after_ten_minutes() -> None:
    user, _, _ = _telegram("1")
    before = timezone.now()
    services.link_code_create(user=user)
    row = LinkCode.objects.get()
    assert timedelta(minutes=9, seconds=59) < row.expires_at - before <= timedelta(minutes=10, seconds=1)


def test_link_refused_when_the_chat_account_has_its_own_bots() -> None:
    user, _, _ = _telegram("1")
    other_user, identity, _ = _slack("U1")
    SubscribedBotFactory(user=other_user, bot=BotFactory())
    code = services.link_code_create(user=user)
    with pytest.raises(ValidationError, match="bots"):
        services.link_code_redeem(identity=identity, code=code)
    identity.refresh_from_db()
    assert identity.user == other_user
    # The code was not consumed by the refused attempt.
    assert LinkCode.objects.get().used_at is None


def test_link_refused_for_a_blocked_account() -> None:
    user, _, _ = _telegram("1")
    _, identity, _ = _slack("U1")
    code = services.link_code_create(user=user)
    services.user_block(user=user)
    with pytest.raises(ValidationError, match="blocked"):
        services.link_code_redeem(identity=identity, code=code)


def test_redeeming_own_code_in_the_same_chat_is_refused() -> None:
    user, identity, _ = _telegram("1")
    code = services.link_code_create(user=user)
    with pytest.raises(ValidationError, match="already linked"):
        services.link_code_redeem(identity=identity, code=code)


def test_link_codes_are_not_stored_in_plaintext() -> None:
    user, _, _ = _telegram("1")
    code = services.link_code_create(user=user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM link_code")
        rows = cursor.fetchall()
    raw = repr(rows)
    assert code not in raw and code.replace("-", "") not in raw


# --- settings ---------------------------------------------------------------------------------------


def test_settings_update_changes_email_and_timezone() -> None:
    user = UserFactory(email="")
    services.user_settings_update(user=user, email=" me@example.org ", timezone="Asia/Seoul")
    user.refresh_from_db()
    assert (user.email, user.timezone) == ("me@example.org", "Asia/Seoul")


def test_settings_update_with_none_leaves_fields_alone_and_empty_email_clears_it() -> None:
    user = UserFactory(email="a@example.com", timezone="Europe/Berlin")
    services.user_settings_update(user=user)
    services.user_settings_update(user=user, email="")
    user.refresh_from_db()
    assert (user.email, user.timezone) == ("", "Europe/Berlin")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@" + "b" * 300 + ".com"}, "email"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": ""}, "timezone"),
    ],
)
def test_settings_update_rejects_invalid_values_and_saves_nothing(kwargs: dict, field: str) -> None:
    user = UserFactory(email="keep@example.com", timezone="UTC")
    with pytest.raises(ValidationError) as info:
        services.user_settings_update(user=user, **kwargs)
    assert info.value.field == field
    user.refresh_from_db()
    assert (user.email, user.timezone) == ("keep@example.com", "UTC")


# --- operator actions --------------------------------------------------------------------------------


def test_operator_approves_pending_user_and_blocks_user() -> None:
    user = UserFactory(status=UserStatus.PENDING)
    services.user_approve(user=user)
    assert User.objects.get(pk=user.pk).status == UserStatus.ACTIVE
    services.user_block(user=user)
    assert User.objects.get(pk=user.pk).status == UserStatus.BLOCKED


def test_superuser_cannot_be_blocked() -> None:
    with pytest.raises(Conflict):
        services.user_block(user=UserFactory(is_superuser=True))


def test_live_trading_confirmation_is_recorded_once() -> None:
    user = UserFactory()
    services.user_live_trading_confirm(user=user)
    first = user.live_trading_confirmed_at
    services.user_live_trading_confirm(user=user)
    assert first is not None and User.objects.get(pk=user.pk).live_trading_confirmed_at == first


# --- API tokens --------------------------------------------------------------------------------------


def test_api_token_authenticates_its_owner_until_revoked() -> None:
    user = UserFactory()
    token, plaintext = services.api_token_create(user=user, name="laptop")
    assert plaintext.startswith(token.prefix) and len(plaintext) > 40
    assert selectors.user_get_by_api_token(token=plaintext) == user
    token.refresh_from_db()
    assert token.last_used_at is not None

    services.api_token_revoke(user=user, token_id=token.pk)
    assert selectors.user_get_by_api_token(token=plaintext) is None


def test_api_tokens_are_stored_as_sha256_only() -> None:
    user = UserFactory()
    _, plaintext = services.api_token_create(user=user, name="ci")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_token")
        raw = repr(cursor.fetchall())
    assert plaintext not in raw and plaintext[12:] not in raw


def test_unknown_or_junk_api_tokens_match_nobody() -> None:
    UserFactory()
    for junk in ["", "ldp_nope", "x" * 10_000, "\udcff"]:
        assert selectors.user_get_by_api_token(token=junk) is None


def test_revoking_another_users_token_is_not_found() -> None:
    owner, stranger = UserFactory(), UserFactory()
    token, plaintext = services.api_token_create(user=owner, name="mine")
    with pytest.raises(NotFound):
        services.api_token_revoke(user=stranger, token_id=token.pk)
    assert selectors.user_get_by_api_token(token=plaintext) == owner


def test_api_token_needs_a_name_and_an_active_account() -> None:
    with pytest.raises(ValidationError):
        services.api_token_create(user=UserFactory(), name="  ")
    with pytest.raises(PermissionDenied):
        services.api_token_create(user=UserFactory(status=UserStatus.PENDING), name="x")
    assert ApiToken.objects.count() == 0


def test_number_of_live_api_tokens_is_capped() -> None:
    user = UserFactory()
    for n in range(services.MAX_LIVE_API_TOKENS):
        services.api_token_create(user=user, name=f"t{n}")
    with pytest.raises(Conflict):
        services.api_token_create(user=user, name="one too many")
